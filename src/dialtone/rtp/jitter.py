"""A small reorder buffer for recording received audio in order, with gaps as silence."""

from __future__ import annotations

from dialtone.rtp.packet import RtpPacket

Item = RtpPacket | int  # a packet to play, or that many samples of missing audio


def _seq_after(a: int, b: int) -> int:
    """Signed distance from sequence ``b`` to ``a`` modulo 2**16 (RFC 3550 A.1)."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def _ts_after(a: int, b: int) -> int:
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


class PlayoutBuffer:
    """Holds up to ``depth`` packets to put them back in order.

    ``push`` returns what is ready: packets in sequence order and, where audio is missing,
    an int number of samples to fill (from timestamps, capped at ``max_gap_frames``).
    Duplicates and packets later than their slot are dropped. A new SSRC or a jump beyond
    the cap starts a new stream without a huge gap.
    """

    def __init__(
        self, *, samples_per_frame: int = 160, depth: int = 5, max_gap_frames: int = 50
    ) -> None:
        self.samples_per_frame = samples_per_frame
        self.depth = depth
        self.max_gap = max_gap_frames * samples_per_frame
        self._held: dict[int, RtpPacket] = {}
        self._ssrc: int | None = None
        self._next_seq: int | None = None
        self._last_end_ts: int | None = None  # timestamp just after the last played packet
        self.dropped = 0

    def push(self, packet: RtpPacket) -> list[Item]:
        """Add a received packet; return the items now ready, in order."""
        out: list[Item] = []
        if self._ssrc is not None and packet.ssrc != self._ssrc:
            out.extend(self.flush())
            self._reset()
        if self._ssrc is None:
            self._ssrc = packet.ssrc
            self._next_seq = packet.sequence_number
        assert self._next_seq is not None
        distance = _seq_after(packet.sequence_number, self._next_seq)
        if distance < 0 or packet.sequence_number in self._held:
            self.dropped += 1
            return out
        if distance > self.max_gap // self.samples_per_frame:
            # Far ahead: the sender restarted; play what we hold and start over.
            out.extend(self.flush())
            self._next_seq = packet.sequence_number
            self._last_end_ts = None
        self._held[packet.sequence_number] = packet
        out.extend(self._drain(force=False))
        return out

    def flush(self) -> list[Item]:
        """Everything still held, in order (end of call)."""
        return self._drain(force=True)

    def _reset(self) -> None:
        self._held.clear()
        self._ssrc = None
        self._next_seq = None
        self._last_end_ts = None

    def _drain(self, *, force: bool) -> list[Item]:
        out: list[Item] = []
        while self._held and self._next_seq is not None:
            packet = self._held.pop(self._next_seq, None)
            if packet is None:
                if not force and len(self._held) < self.depth:
                    break
                # Give up waiting for the missing packet: skip to the oldest one held.
                self._next_seq = min(self._held, key=lambda s: _seq_after(s, self._next_seq or 0))
                continue
            out.extend(self._play(packet))
            self._next_seq = (packet.sequence_number + 1) & 0xFFFF
        return out

    def _play(self, packet: RtpPacket) -> list[Item]:
        items: list[Item] = []
        if self._last_end_ts is not None:
            gap = _ts_after(packet.timestamp, self._last_end_ts)
            if 0 < gap <= self.max_gap:
                items.append(gap)
        items.append(packet)
        samples = len(packet.payload) if packet.payload else self.samples_per_frame
        self._last_end_ts = (packet.timestamp + samples) & 0xFFFFFFFF
        return items
