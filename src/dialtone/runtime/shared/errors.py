"""The error a start meets when the shared state it was asked for cannot be reached."""

from __future__ import annotations

from dialtone.runtime.startup import StartupError


class SharedStateError(StartupError):
    """Redis is configured and cannot be reached at start: one line for the operator
    (the URL without its password, what failed); ``serve`` exits with status 2."""
