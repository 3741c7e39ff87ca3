"""RFC 4733 telephone-events (DTMF in RTP): the payload, and digits from a stream.

::

     0                   1                   2                   3
    |     event     |E|R| volume    |          duration             |

A digit is sent as a run of packets with one RTP timestamp (the event's start); the last
ones carry the E (end) bit and are sent three times (RFC 4733 §2.5.1.4). A digit counts
once, on its first end-of-event packet.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dialtone.rtp.packet import RtpPacket

_EVENT = struct.Struct("!BBH")
# Events 0-15 (RFC 4733 §3.2): the digits, star, pound and A-D.
DIGITS = "0123456789*#ABCD"


class TelephoneEventError(ValueError):
    """A payload that is not a telephone-event."""


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int
    duration: int

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        """The first event of a payload (RFC 4733 §2.3; redundant blocks are ignored)."""
        if len(payload) < _EVENT.size:
            raise TelephoneEventError("a telephone-event payload has at least 4 octets")
        event, flags, duration = _EVENT.unpack_from(payload)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def __bytes__(self) -> bytes:
        return _EVENT.pack(
            self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration
        )

    @property
    def digit(self) -> str | None:
        """The DTMF character, or None for other events (flash, tones)."""
        return DIGITS[self.event] if self.event < len(DIGITS) else None


class DigitDetector:
    """Digits from one RTP stream's telephone-events: each once, on its end."""

    __slots__ = ("_last", "payload_type")

    def __init__(self, payload_type: int) -> None:
        self.payload_type = payload_type
        self._last: tuple[int, int] | None = None  # (SSRC, timestamp) of the last digit

    def push(self, packet: RtpPacket) -> str | None:
        """The digit that ``packet`` ends, if it is the first end-of-event of one."""
        if packet.payload_type != self.payload_type:
            return None
        try:
            event = TelephoneEvent.parse(packet.payload)
        except TelephoneEventError:
            return None
        if not event.end:
            return None
        key = (packet.ssrc, packet.timestamp)
        if key == self._last:
            return None  # a retransmitted end (sent three times)
        self._last = key
        return event.digit
