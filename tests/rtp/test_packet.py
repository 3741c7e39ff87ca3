"""RTP packets: hand-written packets, round trips, and only RtpParseError on bad input."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.rtp.packet import RtpPacket, RtpParseError, is_rtcp

# V=2 P=0 X=0 CC=0 | M=1 PT=8 | seq 0x1234 | ts 0x00010000 | SSRC 0xDEADBEEF | "abc"
SIMPLE = bytes.fromhex("80 88 1234 00010000 deadbeef") + b"abc"
# V=2 P=1 X=1 CC=2 | M=0 PT=0 | seq 65535 | ts 2**32-1 | SSRC 1 | CSRC 7, 8
# | extension profile 0xBEDE, 1 word | payload ff ff ff ff | 4 bytes padding
FULL = bytes.fromhex(
    "b2 00 ffff ffffffff 0000000100000007 00000008bede 0001 10010000ffffffff00000004"
)


def test_simple_known_packet() -> None:
    packet = RtpPacket.parse(SIMPLE)
    assert packet == RtpPacket(
        payload_type=8,
        sequence_number=0x1234,
        timestamp=0x10000,
        ssrc=0xDEADBEEF,
        payload=b"abc",
        marker=True,
    )
    assert bytes(packet) == SIMPLE


def test_full_known_packet() -> None:
    packet = RtpPacket.parse(FULL)
    assert packet == RtpPacket(
        payload_type=0,
        sequence_number=65535,
        timestamp=2**32 - 1,
        ssrc=1,
        payload=b"\xff" * 4,
        csrc=(7, 8),
        extension_profile=0xBEDE,
        extension=b"\x10\x01\x00\x00",
        padding=4,
    )
    assert bytes(packet) == FULL


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        pytest.param(
            bytes.fromhex("80 00 0000 00000000 00000000"), {"payload": b""}, id="empty-payload"
        ),
        pytest.param(
            bytes.fromhex("90 7f 0001 00000002 00000003 abcd 0000"),
            {"payload_type": 127, "extension_profile": 0xABCD, "extension": b""},
            id="empty-extension-pt127",
        ),
        pytest.param(
            bytes.fromhex("a0 60 0001 00000002 00000003 aa bb 02"),
            {"payload_type": 96, "payload": b"\xaa", "padding": 2},
            id="padding-content-not-kept",
        ),
        pytest.param(
            bytes.fromhex("a0 60 0001 00000002 00000003 01"),
            {"payload": b"", "padding": 1},
            id="only-padding",
        ),
        pytest.param(
            bytes.fromhex("80 bf 0001 00000002 00000003"),
            {"payload_type": 63, "marker": True},
            id="second-byte-191-is-rtp",
        ),
        pytest.param(
            bytes.fromhex("80 e0 0001 00000002 00000003"),
            {"payload_type": 96, "marker": True},
            id="second-byte-224-is-rtp",
        ),
    ],
)
def test_parse_edge_cases(data: bytes, fields: dict[str, Any]) -> None:
    packet = RtpPacket.parse(data)
    for name, value in fields.items():
        assert getattr(packet, name) == value
    assert RtpPacket.parse(bytes(packet)) == packet


@pytest.mark.parametrize(
    ("data", "why"),
    [
        pytest.param(b"", "shorter", id="empty"),
        pytest.param(bytes.fromhex("80 08 0001 00000000 000000"), "shorter", id="11-bytes"),
        pytest.param(bytes.fromhex("00 08 0001 00000000 0000000a"), "version is 0", id="v0"),
        pytest.param(bytes.fromhex("40 08 0001 00000000 0000000a"), "version is 1", id="v1"),
        pytest.param(bytes.fromhex("c0 08 0001 00000000 0000000a"), "version is 3", id="v3"),
        pytest.param(bytes.fromhex("80 c0 0001 00000000 0000000a"), "RTCP", id="type-192"),
        pytest.param(bytes.fromhex("80 c8 0006 00000000 0000000a"), "RTCP", id="rtcp-sr"),
        pytest.param(bytes.fromhex("81 c9 0007 00000000 0000000a"), "RTCP", id="rtcp-rr"),
        pytest.param(bytes.fromhex("81 ca 0007 00000000 0000000a"), "RTCP", id="rtcp-sdes"),
        pytest.param(bytes.fromhex("81 cb 0001 00000000 0000000a"), "RTCP", id="rtcp-bye"),
        pytest.param(bytes.fromhex("80 cc 0001 00000000 0000000a"), "RTCP", id="rtcp-app"),
        pytest.param(bytes.fromhex("80 df 0001 00000000 0000000a"), "RTCP", id="type-223"),
        pytest.param(bytes.fromhex("81 08 0001 00000000 0000000a"), "CSRC", id="csrc-missing"),
        pytest.param(
            bytes.fromhex("8f 08 0001 00000000 0000000a 00000001 00000002"),
            "CSRC",
            id="csrc-short",
        ),
        pytest.param(
            bytes.fromhex("82 08 0001 00000000 0000000a 00000001 000000"),
            "CSRC",
            id="csrc-cut-mid-word",
        ),
        pytest.param(
            bytes.fromhex("90 08 0001 00000000 0000000a"), "extension", id="extension-missing"
        ),
        pytest.param(
            bytes.fromhex("90 08 0001 00000000 0000000a bede"),
            "extension",
            id="extension-header-cut",
        ),
        pytest.param(
            bytes.fromhex("90 08 0001 00000000 0000000a bede 0002 00000000"),
            "extension",
            id="extension-length-overruns",
        ),
        pytest.param(
            bytes.fromhex("a0 08 0001 00000000 0000000a 00"), "padding", id="padding-count-0"
        ),
        pytest.param(
            bytes.fromhex("a0 08 0001 00000000 0000000a 0102 ff"),
            "padding",
            id="padding-longer-than-payload",
        ),
        pytest.param(
            bytes.fromhex("a0 08 0001 00000000 00000001"), "padding", id="padding-into-header"
        ),
        pytest.param(
            bytes.fromhex("b0 08 0001 00000000 0000000a bede 0001 00000000 aa 06"),
            "padding",
            id="padding-into-extension",
        ),
    ],
)
def test_malformed(data: bytes, why: str) -> None:
    with pytest.raises(RtpParseError, match=why):
        RtpPacket.parse(data)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(RtpParseError, ValueError)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(bytes.fromhex("80 c8 0006 00000001"), True, id="sender-report"),
        pytest.param(bytes.fromhex("81 c9 0007"), True, id="receiver-report"),
        pytest.param(bytes.fromhex("81 cc"), True, id="app"),
        pytest.param(SIMPLE, False, id="rtp"),
        pytest.param(bytes.fromhex("80 bf"), False, id="rtp-marker-pt63"),
        pytest.param(bytes.fromhex("80 e0"), False, id="rtp-marker-pt96"),
        pytest.param(b"\x80", False, id="one-byte"),
        pytest.param(b"", False, id="empty"),
        pytest.param(bytes.fromhex("00 c8 0006"), False, id="not-version-2"),
    ],
)
def test_is_rtcp(data: bytes, expected: bool) -> None:
    assert is_rtcp(data) is expected


_VALID: dict[str, Any] = {
    "payload_type": 0,
    "sequence_number": 0,
    "timestamp": 0,
    "ssrc": 0,
    "payload": b"",
}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"payload_type": 128}, "payload_type"),
        ({"payload_type": -1}, "payload_type"),
        ({"sequence_number": 65536}, "sequence_number"),
        ({"timestamp": 2**32}, "timestamp"),
        ({"ssrc": -1}, "ssrc"),
        ({"padding": 256}, "padding"),
        ({"csrc": tuple(range(16))}, "CSRC"),
        ({"csrc": (2**32,)}, "csrc"),
        ({"extension": b"\x00" * 4}, "extension_profile"),
        ({"extension_profile": 1, "extension": b"\x00" * 3}, "32-bit words"),
        ({"extension_profile": 65536}, "extension_profile"),
    ],
)
def test_out_of_range_fields_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RtpPacket(**(_VALID | fields))


@st.composite
def rtp_packets(draw: st.DrawFn) -> RtpPacket:
    """Any packet that can go on the wire (marker + PT 64..95 would read as RTCP)."""
    marker = draw(st.booleans())
    payload_type = draw(st.integers(0, 127).filter(lambda pt: not (marker and 64 <= pt <= 95)))
    profile = draw(st.none() | st.integers(0, 0xFFFF))
    extension = (
        b"" if profile is None else draw(st.binary(max_size=40).map(lambda b: b[: len(b) // 4 * 4]))
    )
    return RtpPacket(
        payload_type=payload_type,
        sequence_number=draw(st.integers(0, 0xFFFF)),
        timestamp=draw(st.integers(0, 2**32 - 1)),
        ssrc=draw(st.integers(0, 2**32 - 1)),
        payload=draw(st.binary(max_size=200)),
        marker=marker,
        csrc=tuple(draw(st.lists(st.integers(0, 2**32 - 1), max_size=15))),
        extension_profile=profile,
        extension=extension,
        padding=draw(st.integers(0, 255)),
    )


@given(rtp_packets())
def test_round_trip(packet: RtpPacket) -> None:
    data = bytes(packet)
    assert RtpPacket.parse(data) == packet
    assert not is_rtcp(data)


@given(st.binary(max_size=300))
def test_parse_of_random_bytes_raises_only_its_own_error(data: bytes) -> None:
    with contextlib.suppress(RtpParseError):
        packet = RtpPacket.parse(data)
        assert RtpPacket.parse(bytes(packet)) == packet


@given(
    packet=rtp_packets(),
    cut=st.integers(0, 400),
    flips=st.lists(st.tuples(st.integers(0, 399), st.integers(0, 255)), max_size=4),
)
def test_parse_of_damaged_packets_raises_only_its_own_error(
    packet: RtpPacket, cut: int, flips: list[tuple[int, int]]
) -> None:
    # Random bytes rarely start with version 2; damaging real packets reaches the CSRC,
    # extension and padding checks.
    data = bytearray(bytes(packet)[:cut])
    for index, value in flips:
        if index < len(data):
            data[index] = value
    with contextlib.suppress(RtpParseError):
        parsed = RtpPacket.parse(bytes(data))
        assert RtpPacket.parse(bytes(parsed)) == parsed
