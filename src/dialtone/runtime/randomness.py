"""Identifiers from the operating system's randomness, read in blocks.

Tags, branches and Call-IDs must be unique and unguessable (RFC 3261 §19.3: at least 32
random bits; a guessed tag lets a stranger end someone's call). ``secrets.token_hex`` is
that, but it costs a system call per identifier, several per call set-up; one read of
4 KiB serves a few hundred identifiers with the same randomness.
"""

from __future__ import annotations

import os


class RandomHex:
    """Hex strings of random bytes, served from a block read from ``os.urandom``."""

    __slots__ = ("_block", "_offset", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._block = b""
        self._offset = 0

    def token(self, nbytes: int) -> str:
        """``nbytes`` random bytes as ``2 * nbytes`` hex digits (like ``secrets.token_hex``)."""
        start = self._offset
        end = start + nbytes
        if end > len(self._block):
            self._block = os.urandom(max(self._size, nbytes))
            start, end = 0, nbytes
        self._offset = end
        return self._block[start:end].hex()


# One per process; the event loop's thread is its only user.
RANDOM = RandomHex()
