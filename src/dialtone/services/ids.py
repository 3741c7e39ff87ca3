"""Identifiers: a two-letter kind prefix and 32 hex digits, like Twilio SIDs."""

from __future__ import annotations

import os


def new_id(prefix: str) -> str:
    """A new random identifier such as ``AC3f…`` (34 characters: 128 random bits)."""
    # os.urandom, not uuid4: the same randomness without building a UUID object (about
    # 0.8 µs against 2.8 µs; every SMS, part and webhook takes one).
    return prefix + os.urandom(16).hex()
