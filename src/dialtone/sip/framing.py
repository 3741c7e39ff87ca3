"""Framing SIP messages out of a byte stream (TCP, TLS): RFC 3261 §18.3.

A stream carries messages back to back; the header block ends at the first empty line and
Content-Length (mandatory on streams) says how many body octets follow. CRLF keep-alives
between messages (RFC 5626 §3.5.1: a double CRLF "ping" is answered by a single CRLF
"pong") are reported so the transport can answer them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialtone.sip.errors import SipParseError

MAX_MESSAGE = 65_536
_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\S*)[ \t]*\r?$", re.I | re.M)


class FramingError(SipParseError):
    """The stream cannot be framed any more (no or bad Content-Length, oversized message):
    the connection must be closed, since message boundaries are lost."""


@dataclass(frozen=True, slots=True)
class KeepAlivePing:
    """A double CRLF between messages: answer with a single CRLF (RFC 5626 §4.4.1)."""


class StreamFramer:
    """Feeds stream bytes in, takes whole messages out."""

    def __init__(self, *, max_message: int = MAX_MESSAGE) -> None:
        self._buffer = bytearray()
        self.max_message = max_message

    def feed(self, data: bytes) -> list[bytes | KeepAlivePing]:
        """Append ``data``; return every message (and keep-alive ping) now complete."""
        self._buffer += data
        out: list[bytes | KeepAlivePing] = []
        while True:
            item = self._next()
            if item is None:
                return out
            out.append(item)

    def _next(self) -> bytes | KeepAlivePing | None:
        buffer = self._buffer
        if buffer.startswith(b"\r\n\r\n"):
            del buffer[:4]
            return KeepAlivePing()
        # Lone CRLFs between messages are padding (RFC 3261 §7.5): skip them.
        skipped = 0
        while buffer.startswith(b"\r\n", skipped) and len(buffer) >= skipped + 4:
            if buffer.startswith(b"\r\n\r\n", skipped):
                break
            skipped += 2
        if skipped:
            del buffer[:skipped]
            if buffer.startswith(b"\r\n\r\n"):
                del buffer[:4]
                return KeepAlivePing()
        if bytes(buffer) in (b"\r\n", b"\r\n\r"):
            return None
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > self.max_message:
                raise FramingError(f"header block over {self.max_message} octets")
            return None
        head = bytes(buffer[:end])
        length = _content_length(head)
        total = end + 4 + length
        if total > self.max_message:
            raise FramingError(f"message of {total} octets is over {self.max_message}")
        if len(buffer) < total:
            return None
        message = bytes(buffer[:total])
        del buffer[:total]
        return message

    @property
    def pending(self) -> int:
        """Octets received but not yet part of a whole message."""
        return len(self._buffer)


def _content_length(head: bytes) -> int:
    found = _CONTENT_LENGTH.findall(head)
    if not found:
        raise FramingError("no Content-Length on a stream transport (RFC 3261 §18.3)")
    values = {v for v in found}
    if len(values) > 1:
        raise FramingError("conflicting Content-Length values")
    value = found[0]
    if not value.isdigit() or len(value) > 9:
        raise FramingError(f"bad Content-Length {value!r}")
    return int(value)
