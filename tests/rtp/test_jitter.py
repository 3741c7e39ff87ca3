"""The playout buffer: order, gaps as silence, duplicates, lateness, wraparound, SSRC change."""

from __future__ import annotations

from dialtone.rtp.jitter import PlayoutBuffer
from dialtone.rtp.packet import RtpPacket


def pkt(seq: int, ts: int | None = None, ssrc: int = 1) -> RtpPacket:
    seq &= 0xFFFF
    timestamp = (seq * 160 if ts is None else ts) & 0xFFFFFFFF
    return RtpPacket(8, seq, timestamp, ssrc, bytes([seq & 0xFF]) * 160)


def run(buffer: PlayoutBuffer, packets: list[RtpPacket]) -> list[int | str]:
    """Seq numbers played, 'gapN' for silence, in order."""
    out: list[int | str] = []
    for p in packets:
        out.extend(f"gap{i}" if isinstance(i, int) else i.sequence_number for i in buffer.push(p))
    out.extend(f"gap{i}" if isinstance(i, int) else i.sequence_number for i in buffer.flush())
    return out


def test_in_order() -> None:
    assert run(PlayoutBuffer(), [pkt(i) for i in range(5)]) == [0, 1, 2, 3, 4]


def test_reordered_within_depth() -> None:
    assert run(PlayoutBuffer(depth=3), [pkt(0), pkt(2), pkt(1), pkt(3)]) == [0, 1, 2, 3]


def test_duplicates_and_late_packets_are_dropped() -> None:
    buffer = PlayoutBuffer(depth=2)
    assert run(buffer, [pkt(0), pkt(1), pkt(1), pkt(2), pkt(0)]) == [0, 1, 2]
    assert buffer.dropped == 2


def test_lost_packet_becomes_silence() -> None:
    # 2 never comes: after `depth` packets wait, it is skipped and 160 samples are filled.
    assert run(PlayoutBuffer(depth=2), [pkt(0), pkt(1), pkt(3), pkt(4), pkt(5)]) == [
        0,
        1,
        "gap160",
        3,
        4,
        5,
    ]


def test_sequence_and_timestamp_wraparound() -> None:
    packets = [pkt(65534, 2**32 - 320), pkt(65535, 2**32 - 160), pkt(0, 0), pkt(1, 160)]
    assert run(PlayoutBuffer(), packets) == [65534, 65535, 0, 1]


def test_silence_suppression_gap_is_filled_but_capped() -> None:
    buffer = PlayoutBuffer(max_gap_frames=10)
    # The sender stopped for 5 frames (timestamps jump) but sequence numbers continue.
    assert run(buffer, [pkt(0, 0), pkt(1, 160 * 6)]) == [0, "gap800", 1]
    # A jump beyond the cap is not filled.
    assert run(PlayoutBuffer(max_gap_frames=10), [pkt(0, 0), pkt(1, 160 * 100)]) == [0, 1]


def test_new_ssrc_starts_a_new_stream() -> None:
    assert run(PlayoutBuffer(), [pkt(10), pkt(11), pkt(500, ssrc=2), pkt(501, ssrc=2)]) == [
        10,
        11,
        500,
        501,
    ]


def test_restart_far_ahead_does_not_fill_a_huge_gap() -> None:
    assert run(PlayoutBuffer(max_gap_frames=10), [pkt(0), pkt(1), pkt(5000), pkt(5001)]) == [
        0,
        1,
        5000,
        5001,
    ]
