"""Cutting audio into 20 ms frames and numbering the packets that carry them."""

from __future__ import annotations

from collections.abc import Iterator

from dialtone.rtp.packet import RtpPacket

FRAME_MS = 20


def samples_per_frame(clock_rate: int = 8000, ptime_ms: int = FRAME_MS) -> int:
    """Samples in one packet: 160 for 20 ms at 8 kHz."""
    return clock_rate * ptime_ms // 1000


def frames(pcm: bytes, *, frame_bytes: int, pad: bytes = b"\x00\x00") -> Iterator[bytes]:
    """Fixed-size frames of ``pcm``; the last one is padded with silence."""
    if frame_bytes <= 0 or frame_bytes % len(pad):
        raise ValueError("frame_bytes must be a positive multiple of the pad unit")
    for start in range(0, len(pcm), frame_bytes):
        chunk = pcm[start : start + frame_bytes]
        if len(chunk) < frame_bytes:
            missing = frame_bytes - len(chunk)
            chunk += pad * (missing // len(pad)) + pad[: missing % len(pad)]
        yield chunk


class Packetizer:
    """Numbers outgoing packets: sequence +1 and timestamp +frame per packet, wrapping.

    Initial values are passed in (RFC 3550 wants them random; this core draws none).
    """

    def __init__(
        self,
        *,
        payload_type: int,
        ssrc: int,
        first_sequence: int,
        first_timestamp: int,
        samples_per_frame: int = 160,
    ) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc & 0xFFFFFFFF
        self.sequence = first_sequence & 0xFFFF
        self.timestamp = first_timestamp & 0xFFFFFFFF
        self.samples_per_frame = samples_per_frame

    def packetize(self, payload: bytes, *, marker: bool = False) -> RtpPacket:
        """The next packet carrying ``payload``."""
        packet = RtpPacket(
            payload_type=self.payload_type,
            sequence_number=self.sequence,
            timestamp=self.timestamp,
            ssrc=self.ssrc,
            payload=payload,
            marker=marker,
        )
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + self.samples_per_frame) & 0xFFFFFFFF
        return packet
