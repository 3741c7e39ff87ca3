"""RTP packets: a known packet, round trips, and only RtpParseError on bad input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.rtp.packet import RtpPacket, RtpParseError, is_rtcp

# V=2, M=1, PT=8, seq=0x1234, ts=0x00010000, ssrc=0xDEADBEEF, payload "abc"
KNOWN = bytes.fromhex("8088123400010000deadbeef") + b"abc"


def test_known_packet() -> None:
    packet = RtpPacket.parse(KNOWN)
    assert packet == RtpPacket(
        payload_type=8,
        sequence_number=0x1234,
        timestamp=0x10000,
        ssrc=0xDEADBEEF,
        payload=b"abc",
        marker=True,
    )
    assert bytes(packet) == KNOWN


def test_csrc_extension_padding_round_trip() -> None:
    packet = RtpPacket(
        payload_type=0,
        sequence_number=65535,
        timestamp=2**32 - 1,
        ssrc=1,
        payload=b"\xff" * 160,
        csrc=(7, 8),
        extension_profile=0xBEDE,
        extension=b"\x10\x01\x00\x00",
        padding=4,
    )
    data = bytes(packet)
    assert data[0] == 0x80 | 0x20 | 0x10 | 2
    assert RtpPacket.parse(data) == packet


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "shorter"),
        (bytes.fromhex("80080001000000000000"), "shorter"),
        (bytes.fromhex("40080001000000000000000a"), "version"),
        (bytes.fromhex("8fc80001000000000000000a"), "RTCP"),
        (bytes.fromhex("82080001000000000000000a00000001"), "CSRC"),
        (bytes.fromhex("90080001000000000000000a"), "extension"),
        (bytes.fromhex("90080001000000000000000abede0002"), "extension"),
        (bytes.fromhex("a0080001000000000000000a00"), "padding"),
        (bytes.fromhex("a0080001000000000000000a0102ff"), "padding"),
    ],
)
def test_malformed(data: bytes, why: str) -> None:
    with pytest.raises(RtpParseError, match=why):
        RtpPacket.parse(data)


def test_rtcp_is_recognised() -> None:
    assert is_rtcp(bytes.fromhex("80c8000600000001"))  # sender report
    assert not is_rtcp(KNOWN)
    assert not is_rtcp(b"\x80")


@given(st.binary(max_size=300))
def test_parse_raises_only_its_own_error(data: bytes) -> None:
    with contextlib.suppress(RtpParseError):
        RtpPacket.parse(data)


@given(
    pt=st.integers(0, 127).filter(lambda p: not 72 <= p <= 95),
    seq=st.integers(0, 65535),
    ts=st.integers(0, 2**32 - 1),
    ssrc=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=200),
    marker=st.booleans(),
    csrc=st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple),
    padding=st.integers(0, 255),
)
def test_round_trip(  # noqa: PLR0917 - hypothesis passes each field
    pt: int,
    seq: int,
    ts: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrc: tuple[int, ...],
    padding: int,
) -> None:
    # PTs 72–95 with the marker bit set collide with RTCP types (RFC 5761 §4).
    packet = RtpPacket(pt, seq, ts, ssrc, payload, marker=marker, csrc=csrc, padding=padding)
    if marker and 64 <= pt <= 95:
        return
    assert RtpPacket.parse(bytes(packet)) == packet
