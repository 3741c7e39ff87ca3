"""A small reorder buffer that turns received RTP into an ordered recording.

Nothing here waits for a clock: packets leave the buffer when the next one in sequence is
there, or when ``depth`` later packets have arrived and the missing one is given up for
lost. Missing audio comes out as an int, the number of samples of silence to write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from dialtone.rtp.packet import RtpPacket

PlayoutItem: TypeAlias = RtpPacket | int
"""A packet to play, or that many samples of missing audio (write silence)."""


def seq_distance(a: int, b: int) -> int:
    """Signed distance from sequence number ``b`` to ``a`` modulo 2**16 (-32768..32767)."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def ts_distance(a: int, b: int) -> int:
    """Signed distance from timestamp ``b`` to ``a`` modulo 2**32."""
    return ((a - b + 0x8000_0000) & 0xFFFF_FFFF) - 0x8000_0000


def g711_samples(packet: RtpPacket) -> int:
    """The audio a G.711 packet carries: one sample per payload byte."""
    return len(packet.payload)


class PlayoutBuffer:
    """Puts one received RTP stream back in order for recording.

    ``push`` returns what is ready to play: packets in sequence order and, where audio is
    missing (a lost packet, or a pause in which the sender sent nothing), an int number of
    samples to fill with silence. Gaps are measured on timestamps, so they come out right
    across sequence and timestamp wraparound and with silence suppression.

    - The first packet of a stream is played at once and sets where playout starts; an
      earlier one arriving after it is late.
    - Up to ``depth`` packets are held waiting for a missing one; one more, and the missing
      packet is taken as lost.
    - Duplicates, and packets that arrive after their slot was played out, are dropped.
    - A gap longer than ``max_gap_frames * samples_per_frame`` samples is not filled: the
      sender's timeline has restarted, so playout carries on without a gap.
    - A packet with another SSRC, or a sequence jump beyond ``max_gap_frames``, starts a
      new stream only when the next packet confirms it (same SSRC, sequence number within
      ``depth``), as in RFC 3550 A.1; otherwise it is a stray and is dropped. The old
      stream's held packets are played out first, and the new stream starts without a gap.

    ``duration`` tells how many samples a packet's payload holds (default: G.711, one a
    byte). ``dropped`` and ``resyncs`` count what was discarded and how often a new stream
    started.
    """

    def __init__(
        self,
        *,
        samples_per_frame: int = 160,
        depth: int = 5,
        max_gap_frames: int = 50,
        duration: Callable[[RtpPacket], int] = g711_samples,
    ) -> None:
        if samples_per_frame <= 0:
            raise ValueError(f"samples_per_frame must be positive, got {samples_per_frame}")
        if depth < 0 or max_gap_frames < 0:
            raise ValueError("depth and max_gap_frames must not be negative")
        self.samples_per_frame = samples_per_frame
        self.depth = depth
        self.max_gap_frames = max_gap_frames
        self.max_gap_samples = max_gap_frames * samples_per_frame
        self._duration = duration
        self._held: dict[int, RtpPacket] = {}
        self._ssrc: int | None = None
        self._next_seq = 0
        # Timestamp just after the audio of the last packet played; None at a stream start.
        self._end_ts: int | None = None
        self._probe: RtpPacket | None = None
        self.dropped = 0
        self.resyncs = 0

    def push(self, packet: RtpPacket) -> list[PlayoutItem]:
        """Take one received packet; return the items now ready to play, in order."""
        if self._ssrc is None:
            self._start(packet.ssrc, packet.sequence_number)
        elif packet.ssrc != self._ssrc or (
            abs(seq_distance(packet.sequence_number, self._next_seq)) > self.max_gap_frames
        ):
            return self._new_stream_candidate(packet)
        distance = seq_distance(packet.sequence_number, self._next_seq)
        if distance < 0 or packet.sequence_number in self._held:
            self.dropped += 1
            return []
        if self._probe is not None:
            # The current stream goes on, so the candidate was a stray.
            self._probe = None
            self.dropped += 1
        self._held[packet.sequence_number] = packet
        return self._drain(force=False)

    def flush(self) -> list[PlayoutItem]:
        """Everything still held, in order, with its gaps (at the end of the stream).

        An unconfirmed new-stream candidate is dropped. Packets pushed afterwards continue
        the same stream.
        """
        if self._probe is not None:
            self._probe = None
            self.dropped += 1
        return self._drain(force=True)

    def _start(self, ssrc: int, first_seq: int) -> None:
        self._ssrc = ssrc
        self._next_seq = first_seq
        self._end_ts = None

    def _new_stream_candidate(self, packet: RtpPacket) -> list[PlayoutItem]:
        probe = self._probe
        if probe is not None and probe.ssrc == packet.ssrc:
            step = seq_distance(packet.sequence_number, probe.sequence_number)
            if 0 < abs(step) <= max(self.depth, 1):
                self._probe = None
                out = self._drain(force=True)
                self.resyncs += 1
                first = packet if step < 0 else probe
                self._start(first.ssrc, first.sequence_number)
                self._held[probe.sequence_number] = probe
                self._held[packet.sequence_number] = packet
                out.extend(self._drain(force=False))
                return out
        if probe is not None:
            self.dropped += 1
        self._probe = packet
        return []

    def _drain(self, *, force: bool) -> list[PlayoutItem]:
        out: list[PlayoutItem] = []
        while self._held:
            packet = self._held.pop(self._next_seq, None)
            if packet is None:
                if not force and len(self._held) <= self.depth:
                    break
                # Give up on the missing packet: go on from the earliest one held. Its
                # timestamp tells how much silence stands in for what was lost.
                start = self._next_seq
                self._next_seq = min(self._held, key=lambda seq: seq_distance(seq, start))
                continue
            out.extend(self._play(packet))
            self._next_seq = (packet.sequence_number + 1) & 0xFFFF
        return out

    def _play(self, packet: RtpPacket) -> list[PlayoutItem]:
        items: list[PlayoutItem] = []
        if self._end_ts is not None:
            gap = ts_distance(packet.timestamp, self._end_ts)
            # A negative gap is overlapping audio, nothing to fill; one beyond the cap is a
            # new timeline, not a pause worth recording as silence.
            if 0 < gap <= self.max_gap_samples:
                items.append(gap)
        items.append(packet)
        self._end_ts = (packet.timestamp + self._duration(packet)) & 0xFFFF_FFFF
        return items
