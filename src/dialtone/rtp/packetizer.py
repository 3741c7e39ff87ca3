"""Cutting audio into fixed frames and numbering the RTP packets that carry them."""

from __future__ import annotations

from collections.abc import Iterator

from dialtone.rtp.packet import RtpPacket

FRAME_MS = 20


def samples_per_frame(clock_rate: int = 8000, ptime_ms: int = FRAME_MS) -> int:
    """Samples (timestamp units) in one packet: 160 for 20 ms at 8 kHz.

    Raises ValueError unless the frame is a positive whole number of samples.
    """
    samples, remainder = divmod(clock_rate * ptime_ms, 1000)
    if samples <= 0 or remainder:
        raise ValueError(f"{ptime_ms} ms at {clock_rate} Hz is not a whole number of samples")
    return samples


def frames(pcm: bytes, *, frame_bytes: int, pad: bytes = b"\x00\x00") -> Iterator[bytes]:
    """Split ``pcm`` into frames of ``frame_bytes``, padding the last one with ``pad``.

    ``pad`` is one sample of silence in the buffer's format: two zero bytes for 16-bit PCM
    (the default), ``ULAW_SILENCE``/``ALAW_SILENCE`` for G.711. Empty input yields nothing.
    Raises ValueError unless ``frame_bytes`` is a positive multiple of ``len(pad)``.
    """
    if not pad:
        raise ValueError("pad must not be empty")
    if frame_bytes <= 0 or frame_bytes % len(pad):
        raise ValueError(
            f"frame_bytes must be a positive multiple of the pad length {len(pad)}, "
            f"got {frame_bytes}"
        )
    for start in range(0, len(pcm), frame_bytes):
        chunk = pcm[start : start + frame_bytes]
        if len(chunk) < frame_bytes:
            whole, part = divmod(frame_bytes - len(chunk), len(pad))
            # A partial sample at the end of the input is completed from the pad's tail so
            # that the following pad samples stay aligned.
            chunk += pad[len(pad) - part :] + pad * whole if part else pad * whole
        yield chunk


class Packetizer:
    """Numbers outgoing packets of one stream (one SSRC).

    Each packet takes the next sequence number (mod 2**16) and a timestamp one frame later
    (mod 2**32). RFC 3550 wants the initial values random; they are passed in because this
    package draws no random numbers. ``sequence`` and ``timestamp`` are the values the next
    packet will carry.
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
        if not 0 <= payload_type <= 127:
            raise ValueError(f"payload_type must be 0..127, got {payload_type}")
        if not 0 <= ssrc <= 0xFFFFFFFF:
            raise ValueError(f"ssrc must fit in 32 bits, got {ssrc}")
        if not 0 <= first_sequence <= 0xFFFF:
            raise ValueError(f"first_sequence must fit in 16 bits, got {first_sequence}")
        if not 0 <= first_timestamp <= 0xFFFFFFFF:
            raise ValueError(f"first_timestamp must fit in 32 bits, got {first_timestamp}")
        if samples_per_frame <= 0:
            raise ValueError(f"samples_per_frame must be positive, got {samples_per_frame}")
        self.payload_type = payload_type
        self.ssrc = ssrc
        self.sequence = first_sequence
        self.timestamp = first_timestamp
        self.samples_per_frame = samples_per_frame

    def packetize(self, payload: bytes, *, marker: bool = False) -> RtpPacket:
        """The next packet, carrying ``payload`` (one frame).

        Set ``marker`` on the first packet of a talkspurt (RFC 3551 §4.1).
        """
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
