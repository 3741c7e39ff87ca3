"""The playout buffer: order, gaps as silence, duplicates, lateness, wraparound, new streams."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.rtp.jitter import PlayoutBuffer, PlayoutItem, seq_distance, ts_distance
from dialtone.rtp.packet import RtpPacket

Push = tuple[int, int | None, int]  # (sequence number, timestamp or None for seq*160, ssrc)
Label = int | str  # a played packet's sequence number, or "gapN"


def pkt(seq: int, ts: int | None = None, *, ssrc: int = 1, size: int = 160) -> RtpPacket:
    seq &= 0xFFFF
    timestamp = (seq * size if ts is None else ts) & 0xFFFF_FFFF
    return RtpPacket(8, seq, timestamp, ssrc, bytes([seq & 0xFF]) * size)


def labels(items: list[PlayoutItem]) -> list[Label]:
    return [f"gap{item}" if isinstance(item, int) else item.sequence_number for item in items]


def run(buffer: PlayoutBuffer, packets: list[RtpPacket]) -> list[Label]:
    """Everything played, pushes then flush."""
    out: list[Label] = []
    for packet in packets:
        out.extend(labels(buffer.push(packet)))
    out.extend(labels(buffer.flush()))
    return out


def _packets(pushes: list[Push]) -> list[RtpPacket]:
    return [pkt(seq, ts, ssrc=ssrc) for seq, ts, ssrc in pushes]


def seqs(*numbers: int, ssrc: int = 1) -> list[Push]:
    return [(n, None, ssrc) for n in numbers]


WRAP_TS = 2**32 - 320
SCENARIOS: list[Any] = [
    pytest.param({}, seqs(0, 1, 2, 3, 4), [0, 1, 2, 3, 4], 0, id="in-order"),
    pytest.param({"depth": 3}, seqs(0, 2, 1, 3), [0, 1, 2, 3], 0, id="swap"),
    pytest.param({"depth": 3}, seqs(0, 3, 2, 1, 4), [0, 1, 2, 3, 4], 0, id="reversed-run"),
    pytest.param({}, seqs(5, 4, 6), [5, 6], 1, id="first-packet-sets-the-start"),
    pytest.param({}, seqs(0, 1, 1, 2), [0, 1, 2], 1, id="duplicate-played"),
    pytest.param({}, seqs(0, 2, 2, 1), [0, 1, 2], 1, id="duplicate-held"),
    pytest.param(
        {"depth": 2}, seqs(0, 2, 3, 4, 1), [0, "gap160", 2, 3, 4], 1, id="late-after-its-slot"
    ),
    pytest.param({}, seqs(0, 1, 0), [0, 1], 1, id="late-old"),
    pytest.param({"depth": 2}, seqs(0, 1, 3, 4, 5), [0, 1, "gap160", 3, 4, 5], 0, id="one-lost"),
    pytest.param({}, seqs(0, 4), [0, "gap480", 4], 0, id="three-lost-at-flush"),
    pytest.param({"depth": 0}, seqs(0, 2, 1, 3), [0, "gap160", 2, 3], 1, id="depth-0-never-waits"),
    pytest.param({}, [(0, 0, 1), (1, 160 * 6, 1)], [0, "gap800", 1], 0, id="silence-suppression"),
    pytest.param(
        {"max_gap_frames": 10},
        [(0, 0, 1), (1, 1600 + 160, 1)],
        [0, "gap1600", 1],
        0,
        id="gap-at-the-cap-is-filled",
    ),
    pytest.param(
        {"max_gap_frames": 10},
        [(0, 0, 1), (1, 1600 + 161, 1)],
        [0, 1],
        0,
        id="gap-beyond-the-cap-is-a-new-timeline",
    ),
    pytest.param({}, [(0, 0, 1), (1, 80, 1)], [0, 1], 0, id="overlap-is-not-a-gap"),
    pytest.param(
        {},
        [(65534, WRAP_TS, 1), (65535, WRAP_TS + 160, 1), (0, 0, 1), (1, 160, 1)],
        [65534, 65535, 0, 1],
        0,
        id="sequence-and-timestamp-wrap",
    ),
    pytest.param(
        {},
        [(65534, WRAP_TS, 1), (0, 0, 1), (65535, WRAP_TS + 160, 1), (1, 160, 1)],
        [65534, 65535, 0, 1],
        0,
        id="reordered-across-the-wrap",
    ),
    pytest.param(
        {},
        [(65535, 2**32 - 160, 1), (1, 160, 1)],
        [65535, "gap160", 1],
        0,
        id="gap-across-the-wrap",
    ),
    pytest.param(
        {},
        [(65535, 2**32 - 160, 1), (65535, 2**32 - 160, 1), (0, 0, 1), (65535, 0, 1)],
        [65535, 0],
        2,
        id="late-across-the-wrap",
    ),
    pytest.param(
        {},
        seqs(10, 11) + seqs(500, 501, ssrc=2),
        [10, 11, 500, 501],
        0,
        id="ssrc-change",
    ),
    pytest.param(
        {},
        seqs(0, 2) + seqs(100, 101, ssrc=2),
        [0, "gap160", 2, 100, 101],
        0,
        id="ssrc-change-plays-the-old-stream-out-first",
    ),
    pytest.param(
        {},
        seqs(0) + seqs(7, ssrc=2) + seqs(1, 2),
        [0, 1, 2],
        1,
        id="stray-ssrc-dropped",
    ),
    pytest.param(
        {},
        seqs(0, 1) + seqs(0, 1, ssrc=2) + seqs(2) + seqs(2, ssrc=2),
        [0, 1, 0, 1, 2],
        1,
        id="late-packet-of-the-old-ssrc-dropped",
    ),
    pytest.param(
        {},
        seqs(0, 1) + seqs(501, 500, ssrc=2),
        [0, 1, 500, 501],
        0,
        id="new-ssrc-reordered-at-its-start",
    ),
    pytest.param(
        {"max_gap_frames": 10},
        seqs(0, 1, 5000, 5001),
        [0, 1, 5000, 5001],
        0,
        id="sequence-restart-ahead",
    ),
    pytest.param(
        {"max_gap_frames": 10},
        [(0, 0, 1), (1, 160, 1), (5000, 320, 1), (5001, 480, 1)],
        [0, 1, 5000, 5001],
        0,
        id="restart-starts-without-a-gap",
    ),
    pytest.param(
        {"max_gap_frames": 10}, seqs(1000, 1001, 5, 6), [1000, 1001, 5, 6], 0, id="restart-back"
    ),
    pytest.param(
        {"max_gap_frames": 10}, seqs(0, 1, 30000, 2), [0, 1, 2], 1, id="stray-sequence-dropped"
    ),
    pytest.param(
        {"max_gap_frames": 10},
        seqs(0, 12),
        [0],
        1,
        id="lone-jump-beyond-the-cap-is-a-stray",
    ),
    pytest.param({"max_gap_frames": 10}, seqs(0, 10), [0, "gap1440", 10], 0, id="jump-at-the-cap"),
]


@pytest.mark.parametrize(("options", "pushes", "expected", "dropped"), SCENARIOS)
def test_scenarios(
    options: dict[str, Any], pushes: list[Push], expected: list[Label], dropped: int
) -> None:
    buffer = PlayoutBuffer(**options)
    assert run(buffer, _packets(pushes)) == expected
    assert buffer.dropped == dropped


def test_in_order_packets_leave_at_once() -> None:
    buffer = PlayoutBuffer()
    for seq in range(5):
        assert labels(buffer.push(pkt(seq))) == [seq]
    assert buffer.flush() == []


def test_push_by_push_reordering_and_loss() -> None:
    buffer = PlayoutBuffer(depth=2)
    assert labels(buffer.push(pkt(0))) == [0]
    assert labels(buffer.push(pkt(2))) == []
    assert labels(buffer.push(pkt(3))) == []
    assert labels(buffer.push(pkt(1))) == [1, 2, 3]
    assert labels(buffer.push(pkt(5))) == []
    assert labels(buffer.push(pkt(6))) == []
    # A third packet waiting: 4 is given up for lost.
    assert labels(buffer.push(pkt(7))) == ["gap160", 5, 6, 7]
    assert labels(buffer.push(pkt(4))) == []
    assert buffer.dropped == 1


def test_ssrc_change_counts_a_resync() -> None:
    buffer = PlayoutBuffer()
    run(buffer, _packets(seqs(0, 1) + seqs(9, 10, ssrc=2) + seqs(4, 5, ssrc=3)))
    assert buffer.resyncs == 2


def test_unconfirmed_candidate_is_dropped_at_flush() -> None:
    buffer = PlayoutBuffer()
    assert run(buffer, _packets(seqs(0, 1) + seqs(9, ssrc=2))) == [0, 1]
    assert (buffer.dropped, buffer.resyncs) == (1, 0)


def test_packet_duration_comes_from_the_payload() -> None:
    # 30 ms packets into a buffer configured for 20 ms: no spurious gaps.
    buffer = PlayoutBuffer(samples_per_frame=160)
    assert run(buffer, [pkt(i, i * 240, size=240) for i in range(4)]) == [0, 1, 2, 3]
    custom = PlayoutBuffer(duration=lambda packet: len(packet.payload) // 2)
    assert run(custom, [pkt(0, 0, size=320), pkt(1, 320, size=320)]) == [0, "gap160", 1]


@pytest.mark.parametrize(
    "options", [{"samples_per_frame": 0}, {"depth": -1}, {"max_gap_frames": -1}]
)
def test_bad_arguments(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the argument
        PlayoutBuffer(**options)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(1, 0, 1), (0, 1, -1), (0, 65535, 1), (65535, 0, -1), (32767, 0, 32767), (32768, 0, -32768)],
)
def test_seq_distance(a: int, b: int, expected: int) -> None:
    assert seq_distance(a, b) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"), [(160, 0, 160), (0, 2**32 - 160, 160), (2**32 - 160, 0, -160)]
)
def test_ts_distance(a: int, b: int, expected: int) -> None:
    assert ts_distance(a, b) == expected


@given(
    start=st.integers(0, 0xFFFF),
    ts_start=st.integers(0, 2**32 - 1),
    depth=st.integers(0, 6),
    data=st.data(),
)
def test_reordering_within_depth_loses_nothing(
    start: int, ts_start: int, depth: int, data: st.DataObject
) -> None:
    count = data.draw(st.integers(1, 80))
    # Sorting by index + delay with delays up to depth + 1 puts at most `depth` later
    # packets ahead of any packet, which the buffer is meant to absorb. The first packet
    # comes first: it is where playout starts.
    delays = data.draw(st.lists(st.integers(0, depth + 1), min_size=count, max_size=count))
    delays[0] = 0
    order = sorted(range(count), key=lambda i: i + delays[i])
    packets = [pkt(start + i, ts_start + 160 * i) for i in range(count)]
    buffer = PlayoutBuffer(depth=depth)
    out = run(buffer, [packets[i] for i in order])
    assert out == [(start + i) & 0xFFFF for i in range(count)]
    assert buffer.dropped == 0


@given(
    start=st.integers(0, 0xFFFF),
    ts_start=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_silence_fills_exactly_what_was_lost(
    start: int, ts_start: int, data: st.DataObject
) -> None:
    count = data.draw(st.integers(2, 80))
    sizes = data.draw(st.lists(st.sampled_from([80, 160, 240]), min_size=count, max_size=count))
    # The first and last packets arrive, any of those between may be lost; the cap is set
    # above the longest possible loss so that every gap is filled.
    kept = sorted({0, *data.draw(st.sets(st.integers(1, count - 1))), count - 1})
    buffer = PlayoutBuffer(depth=3, max_gap_frames=300)
    timestamps = [ts_start + sum(sizes[:i]) for i in range(count)]
    packets = [pkt(start + i, timestamps[i], size=sizes[i]) for i in kept]
    items = [*(i for p in packets for i in buffer.push(p)), *buffer.flush()]
    played = [i for i in items if isinstance(i, RtpPacket)]
    assert played == packets
    total = sum(i if isinstance(i, int) else len(i.payload) for i in items)
    assert total == sum(sizes)


@given(
    st.lists(
        st.tuples(st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1), st.integers(1, 3)),
        max_size=60,
    ),
    st.integers(0, 5),
)
def test_any_input_keeps_the_invariants(pushes: list[Push], depth: int) -> None:
    buffer = PlayoutBuffer(depth=depth, max_gap_frames=20)
    packets = _packets(pushes)
    items: list[PlayoutItem] = []
    for packet in packets:
        items.extend(buffer.push(packet))
    items.extend(buffer.flush())
    played = [i for i in items if isinstance(i, RtpPacket)]
    gaps = [i for i in items if isinstance(i, int)]
    assert all(0 < gap <= 20 * 160 for gap in gaps)
    # Nothing is invented, nothing is played twice, everything is accounted for.
    assert len({id(p) for p in played}) == len(played)
    assert all(any(p is q for q in packets) for p in played)
    assert len(played) + buffer.dropped == len(packets)
