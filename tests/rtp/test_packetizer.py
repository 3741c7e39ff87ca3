"""Framing and packet numbering, with wraparound of sequence numbers and timestamps."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.rtp.packet import RtpPacket
from dialtone.rtp.packetizer import FRAME_MS, Packetizer, frames, samples_per_frame


@pytest.mark.parametrize(
    ("clock_rate", "ptime_ms", "expected"),
    [(8000, 20, 160), (8000, 30, 240), (8000, 10, 80), (16000, 20, 320), (48000, 20, 960)],
)
def test_samples_per_frame(clock_rate: int, ptime_ms: int, expected: int) -> None:
    assert samples_per_frame(clock_rate, ptime_ms) == expected


def test_samples_per_frame_defaults() -> None:
    assert FRAME_MS == 20
    assert samples_per_frame() == 160


@pytest.mark.parametrize(("clock_rate", "ptime_ms"), [(8000, 0), (0, 20), (11025, 10)])
def test_samples_per_frame_must_be_whole_and_positive(clock_rate: int, ptime_ms: int) -> None:
    with pytest.raises(ValueError, match="whole number"):
        samples_per_frame(clock_rate, ptime_ms)


@pytest.mark.parametrize(
    ("data", "frame_bytes", "pad", "expected"),
    [
        pytest.param(b"", 4, b"\x00\x00", [], id="empty"),
        pytest.param(b"abcd", 4, b"\x00\x00", [b"abcd"], id="exact"),
        pytest.param(b"abcdefgh", 4, b"\x00\x00", [b"abcd", b"efgh"], id="two-exact"),
        pytest.param(b"abcdef", 4, b"\x00\x00", [b"abcd", b"ef\x00\x00"], id="padded"),
        pytest.param(b"ab", 6, b"\x00\x00", [b"ab\x00\x00\x00\x00"], id="short"),
        pytest.param(b"abc", 3, b"\xd5", [b"abc"], id="g711-exact"),
        pytest.param(b"abcd", 3, b"\xd5", [b"abc", b"d\xd5\xd5"], id="g711-silence"),
        pytest.param(b"abc", 4, b"\x01\x02", [b"abc\x02"], id="half-sample-completed"),
        pytest.param(b"a", 6, b"\x01\x02", [b"a\x02\x01\x02\x01\x02"], id="pad-stays-aligned"),
    ],
)
def test_frames(data: bytes, frame_bytes: int, pad: bytes, expected: list[bytes]) -> None:
    assert list(frames(data, frame_bytes=frame_bytes, pad=pad)) == expected


def test_frames_of_20_ms_pcm() -> None:
    pcm = b"\x01\x00" * 200  # 200 samples: one full frame and 40 samples left
    out = list(frames(pcm, frame_bytes=320))
    assert out == [b"\x01\x00" * 160, b"\x01\x00" * 40 + b"\x00\x00" * 120]


@pytest.mark.parametrize(
    ("frame_bytes", "pad"), [(0, b"\x00\x00"), (-2, b"\x00\x00"), (3, b"\x00\x00"), (4, b"")]
)
def test_frames_bad_arguments(frame_bytes: int, pad: bytes) -> None:
    with pytest.raises(ValueError, match="pad"):
        list(frames(b"abcdef", frame_bytes=frame_bytes, pad=pad))


@given(data=st.binary(max_size=1000), frame_bytes=st.integers(1, 400))
def test_frames_property(data: bytes, frame_bytes: int) -> None:
    out = list(frames(data, frame_bytes=frame_bytes, pad=b"\xff"))
    assert all(len(frame) == frame_bytes for frame in out)
    assert len(out) == -(-len(data) // frame_bytes)
    assert b"".join(out) == data + b"\xff" * (len(out) * frame_bytes - len(data))


def test_numbering_wraps() -> None:
    p = Packetizer(payload_type=8, ssrc=5, first_sequence=65534, first_timestamp=2**32 - 160)
    packets = [p.packetize(b"\xd5" * 160, marker=i == 0) for i in range(3)]
    assert [x.sequence_number for x in packets] == [65534, 65535, 0]
    assert [x.timestamp for x in packets] == [2**32 - 160, 0, 160]
    assert [x.marker for x in packets] == [True, False, False]
    assert {(x.ssrc, x.payload_type) for x in packets} == {(5, 8)}
    assert (p.sequence, p.timestamp) == (1, 320)


def test_packets_go_on_the_wire() -> None:
    p = Packetizer(payload_type=0, ssrc=0xDEADBEEF, first_sequence=0x1234, first_timestamp=0x10000)
    packet = p.packetize(b"abc", marker=True)
    assert bytes(packet) == bytes.fromhex("80 80 1234 00010000 deadbeef") + b"abc"
    assert RtpPacket.parse(bytes(packet)) == packet


@given(
    first_sequence=st.integers(0, 0xFFFF),
    first_timestamp=st.integers(0, 2**32 - 1),
    frame=st.sampled_from([80, 160, 240, 320]),
    count=st.integers(1, 300),
)
def test_numbering_property(
    first_sequence: int, first_timestamp: int, frame: int, count: int
) -> None:
    p = Packetizer(
        payload_type=0,
        ssrc=1,
        first_sequence=first_sequence,
        first_timestamp=first_timestamp,
        samples_per_frame=frame,
    )
    for i in range(count):
        packet = p.packetize(b"")
        assert packet.sequence_number == (first_sequence + i) % 2**16
        assert packet.timestamp == (first_timestamp + i * frame) % 2**32


_VALID: dict[str, int] = {
    "payload_type": 0,
    "ssrc": 0,
    "first_sequence": 0,
    "first_timestamp": 0,
}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"payload_type": 128}, "payload_type"),
        ({"ssrc": 2**32}, "ssrc"),
        ({"first_sequence": 65536}, "first_sequence"),
        ({"first_sequence": -1}, "first_sequence"),
        ({"first_timestamp": 2**32}, "first_timestamp"),
        ({"samples_per_frame": 0}, "samples_per_frame"),
    ],
)
def test_packetizer_refuses_out_of_range_values(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Packetizer(**(_VALID | fields))
