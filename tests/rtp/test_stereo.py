"""Placing both directions of a recorded call on one stereo timeline: sides by port,
samples by RTP timestamp, silence for gaps, streams re-anchored, late packets dropped,
other payload types and RTCP left out."""

from __future__ import annotations

import struct

from dialtone.codecs.g711 import decoder_for
from dialtone.rtp.pcap import UdpDatagram
from dialtone.rtp.stereo import StereoPlacer
from tests.rtp import pcapgen

CALLER = ("127.0.0.1", 40000)
CALLEE = ("127.0.0.1", 40002)
TO_CALLER_PORT = ("127.0.0.1", 31020)  # rtpengine's port facing the caller
TO_CALLEE_PORT = ("127.0.0.1", 31000)
PORTS = (31020, 31000)
# A-law codes and the 16-bit samples they decode to.
LOUD = 0x80  # +32256 in A-law
QUIET = 0xD5  # A-law silence, decodes to +8


def _placer(guard: float = 2.0) -> StereoPlacer:
    return StereoPlacer(decoder_for("PCMA"), 8, PORTS, guard=guard)


def _packet(
    when: float,
    side: int,
    seq: int,
    ts: int,
    *,
    ssrc: int = 0,
    code: int = LOUD,
    pt: int = 8,
    n: int = 160,
) -> UdpDatagram:
    source, destination = (CALLER, TO_CALLER_PORT) if side == 0 else (CALLEE, TO_CALLEE_PORT)
    return UdpDatagram(
        when, source, destination, pcapgen.rtp(seq, ts, ssrc or 100 + side, bytes([code]) * n, pt)
    )


def _frames(pcm: bytes) -> list[tuple[int, int]]:
    return list(struct.iter_unpack("<hh", pcm))


def _run(placer: StereoPlacer, datagrams: list[UdpDatagram]) -> list[tuple[int, int]]:
    out = b"".join(placer.push(d) for d in datagrams) + placer.finish()
    return _frames(out)


def test_two_sides_by_port_in_step() -> None:
    loud = decoder_for("PCMA")(bytes([LOUD]))
    (value,) = struct.unpack("<h", loud)
    placer = _placer()
    datagrams = []
    for i in range(3):
        datagrams.append(_packet(10 + i * 0.02, 0, i, 1000 + i * 160))
        datagrams.append(_packet(10 + i * 0.02, 1, i, 77 + i * 160, code=QUIET))
    frames = _run(placer, datagrams)
    assert len(frames) == 480
    assert all(left == value and right == 8 for left, right in frames)
    assert placer.packets == [3, 3]
    assert placer.late == 0


def test_a_gap_in_timestamps_is_silence() -> None:
    frames = _run(_placer(), [_packet(0, 0, 0, 0), _packet(0.06, 0, 1, 480)])
    assert len(frames) == 640
    assert all(f[0] != 0 for f in frames[:160])
    assert all(f == (0, 0) for f in frames[160:480])
    assert all(f[0] != 0 for f in frames[480:])


def test_a_side_that_starts_late_is_placed_by_capture_time() -> None:
    # The callee's first packet comes half a second after the caller's.
    frames = _run(_placer(), [_packet(0, 0, 0, 0), _packet(0.5, 1, 0, 9999)])
    assert len(frames) == 4000 + 160
    assert frames[4000][1] != 0
    assert all(f[1] == 0 for f in frames[:4000])


def test_reordered_packets_land_in_place() -> None:
    frames = _run(
        _placer(),
        [_packet(0, 0, 0, 0), _packet(0.04, 0, 2, 320, code=QUIET), _packet(0.041, 0, 1, 160)],
    )
    assert [f[0] != 8 for f in (frames[0], frames[200], frames[400])] == [True, True, False]


def test_a_new_ssrc_and_a_jump_are_anchored_at_capture_time() -> None:
    frames = _run(
        _placer(),
        [
            _packet(0, 0, 0, 0),
            _packet(0.02, 0, 0, 5_000_000, ssrc=999),  # a new party (transfer)
            _packet(0.04, 0, 1, 4_000_000_000, ssrc=999),  # its clock jumps
        ],
    )
    assert len(frames) == 480
    assert all(f[0] != 0 for f in frames)


def test_timestamp_wrap() -> None:
    frames = _run(_placer(), [_packet(0, 0, 0, 0xFFFFFF60), _packet(0.02, 0, 1, 0)])
    assert len(frames) == 320
    assert all(f[0] != 0 for f in frames)


def test_other_payload_types_rtcp_and_ports_are_left_out() -> None:
    placer = _placer()
    rtcp = UdpDatagram(0, CALLER, TO_CALLER_PORT, bytes([0x80, 200]) + b"\0" * 26)
    elsewhere = UdpDatagram(0, CALLER, ("127.0.0.1", 31021), pcapgen.rtp(0, 0, 1, b"\x80" * 160, 8))
    garbage = UdpDatagram(0, CALLER, TO_CALLER_PORT, b"\x00")
    event = _packet(0, 0, 0, 0, pt=101, n=4)
    assert _run(placer, [rtcp, elsewhere, garbage, event]) == []
    assert placer.packets == [0, 0]


def test_frames_come_out_behind_the_guard_and_late_packets_are_dropped() -> None:
    placer = _placer(guard=0.1)
    out = b""
    for i in range(20):  # 0.4 s
        out += placer.push(_packet(i * 0.02, 0, i, i * 160))
    assert 0 < len(out) // 4 <= 20 * 160 - 800
    # A packet for the first 20 ms, long after it was written out.
    out += placer.push(_packet(0.5, 0, 0, 0, code=QUIET))
    assert placer.late == 1
    out += placer.finish()
    assert len(out) // 4 == placer.frames
