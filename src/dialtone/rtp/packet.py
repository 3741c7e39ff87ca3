"""RTP packets (RFC 3550 §5.1): ``RtpPacket.parse(bytes)`` and ``bytes(packet)``.

::

     0                   1                   2                   3
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    |                           timestamp                           |
    |           synchronization source (SSRC) identifier            |
    |            contributing source (CSRC) identifiers             |  CC times
    |      defined by profile       |            length             |  if X
    |                        header extension                       |  length words
    |                            payload                  | padding | count |  if P
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER_SIZE = 12
MAX_CSRC = 15

_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
# RFC 5761 §4: on a port shared with RTCP, a second byte of 192..223 (RTCP packet types
# 192..223, e.g. SR 200 to APP 204) is RTCP; RTP must not use those marker/PT combinations.
_RTCP_SECOND_BYTE = range(192, 224)


class RtpParseError(ValueError):
    """Bytes that are not a valid RTP packet."""


def is_rtcp(data: bytes) -> bool:
    """Whether a datagram received on an RTP port is RTCP (RFC 5761 §4).

    Only looks at the version and the packet type byte; it does not validate the RTCP.
    """
    return len(data) >= 2 and data[0] >> 6 == RTP_VERSION and data[1] in _RTCP_SECOND_BYTE


def _check_range(name: str, value: int, bits: int) -> None:
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} must fit in {bits} bits, got {value}")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet.

    ``padding`` counts the padding bytes including the final count byte (0 means no P bit);
    their content is not kept. ``extension_profile`` is None when there is no header
    extension (no X bit); ``extension`` is its body, a whole number of 32-bit words.
    Out-of-range fields raise ValueError at construction, so every packet serializes.
    """

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

    def __post_init__(self) -> None:
        _check_range("payload_type", self.payload_type, 7)
        _check_range("sequence_number", self.sequence_number, 16)
        _check_range("timestamp", self.timestamp, 32)
        _check_range("ssrc", self.ssrc, 32)
        _check_range("padding", self.padding, 8)
        if len(self.csrc) > MAX_CSRC:
            raise ValueError(f"at most {MAX_CSRC} CSRCs, got {len(self.csrc)}")
        for csrc in self.csrc:
            _check_range("csrc", csrc, 32)
        if self.extension_profile is None:
            if self.extension:
                raise ValueError("a header extension needs an extension_profile")
        else:
            _check_range("extension_profile", self.extension_profile, 16)
            if len(self.extension) % 4:
                raise ValueError("a header extension must be a whole number of 32-bit words")
            _check_range("extension length in words", len(self.extension) // 4, 16)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP packet.

        Raises RtpParseError, and nothing else, on any malformed input: short data, a
        version other than 2, RTCP (RFC 5761), a CSRC list, header extension or padding
        count that does not fit in the data.
        """
        if len(data) < HEADER_SIZE:
            raise RtpParseError(f"shorter than an RTP header ({len(data)} < {HEADER_SIZE})")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise RtpParseError(f"RTP version is {first >> 6}, not 2")
        if second in _RTCP_SECOND_BYTE:
            raise RtpParseError(f"RTCP (packet type {second}), not RTP")
        end = len(data)
        csrc_count = first & 0x0F
        offset = HEADER_SIZE + 4 * csrc_count
        if offset > end:
            raise RtpParseError(f"truncated CSRC list ({csrc_count} announced)")
        csrc = struct.unpack_from(f"!{csrc_count}I", data, HEADER_SIZE)
        profile: int | None = None
        extension = b""
        if first & 0x10:
            if offset + _EXTENSION_HEADER.size > end:
                raise RtpParseError("truncated header extension")
            profile, words = _EXTENSION_HEADER.unpack_from(data, offset)
            offset += _EXTENSION_HEADER.size
            if offset + 4 * words > end:
                raise RtpParseError(f"header extension of {words} words overruns the packet")
            extension = bytes(data[offset : offset + 4 * words])
            offset += 4 * words
        padding = 0
        if first & 0x20:
            padding = data[-1]
            # The count includes itself, so 0 is invalid, and it may not eat into headers.
            if padding == 0 or offset + padding > end:
                raise RtpParseError(f"bad padding count {padding}")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=sequence,
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
        """The packet on the wire; padding bytes are zeros followed by the count."""
        first = (RTP_VERSION << 6) | len(self.csrc)
        if self.padding:
            first |= 0x20
        if self.extension_profile is not None:
            first |= 0x10
        second = self.payload_type | (0x80 if self.marker else 0)
        parts = [_HEADER.pack(first, second, self.sequence_number, self.timestamp, self.ssrc)]
        if self.csrc:
            parts.append(struct.pack(f"!{len(self.csrc)}I", *self.csrc))
        if self.extension_profile is not None:
            parts.append(_EXTENSION_HEADER.pack(self.extension_profile, len(self.extension) // 4))
            parts.append(self.extension)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)
