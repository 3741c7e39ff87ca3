"""Identifiers: a two-letter kind prefix and 32 hex digits, like Twilio SIDs."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    """A new random identifier such as ``AC3f…`` (34 characters)."""
    return prefix + uuid.uuid4().hex
