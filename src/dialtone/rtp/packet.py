"""RTP packets (RFC 3550 §5.1): ``RtpPacket.parse(bytes)`` and ``bytes(packet)``."""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct("!BBHII")
_RTCP_TYPES = range(192, 224)  # RFC 5761 §4: second byte 192–223 is RTCP, not RTP


class RtpParseError(ValueError):
    """Bytes that are not a valid RTP packet."""


def is_rtcp(data: bytes) -> bool:
    """Whether a datagram on a muxed RTP port is RTCP (RFC 5761 §4)."""
    return len(data) >= 2 and data[1] in _RTCP_TYPES


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. ``padding`` counts padding bytes (0 means no P bit)."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension: bytes = b""
    padding: int = 0

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one packet; raises RtpParseError (only) on anything malformed."""
        if len(data) < _HEADER.size:
            raise RtpParseError("shorter than an RTP header")
        first, second, seq, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise RtpParseError("RTP version is not 2")
        if second in _RTCP_TYPES:
            raise RtpParseError("RTCP")
        csrc_count = first & 0x0F
        offset = _HEADER.size + 4 * csrc_count
        if len(data) < offset:
            raise RtpParseError("truncated CSRC list")
        csrc = struct.unpack_from(f"!{csrc_count}I", data, _HEADER.size) if csrc_count else ()
        profile: int | None = None
        extension = b""
        if first & 0x10:
            if len(data) < offset + 4:
                raise RtpParseError("truncated header extension")
            profile, words = struct.unpack_from("!HH", data, offset)
            offset += 4
            if len(data) < offset + 4 * words:
                raise RtpParseError("header extension longer than the packet")
            extension = bytes(data[offset : offset + 4 * words])
            offset += 4 * words
        end = len(data)
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > end:
                raise RtpParseError("bad padding length")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension_profile=profile,
            extension=extension,
            padding=padding,
        )

    def __bytes__(self) -> bytes:
        if not 0 <= self.payload_type <= 127:
            raise ValueError("payload type must be 0..127")
        if len(self.csrc) > 15:
            raise ValueError("at most 15 CSRCs")
        if len(self.extension) % 4:
            raise ValueError("header extension must be a whole number of 32-bit words")
        first = 0x80 | len(self.csrc)
        if self.padding:
            first |= 0x20
        if self.extension_profile is not None:
            first |= 0x10
        second = self.payload_type | (0x80 if self.marker else 0)
        parts = [
            _HEADER.pack(
                first,
                second,
                self.sequence_number & 0xFFFF,
                self.timestamp & 0xFFFFFFFF,
                self.ssrc & 0xFFFFFFFF,
            )
        ]
        if self.csrc:
            parts.append(struct.pack(f"!{len(self.csrc)}I", *self.csrc))
        if self.extension_profile is not None:
            parts.append(struct.pack("!HH", self.extension_profile, len(self.extension) // 4))
            parts.append(self.extension)
        parts.append(self.payload)
        if self.padding:
            parts.append(b"\x00" * (self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)
