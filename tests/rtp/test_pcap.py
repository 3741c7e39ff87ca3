"""Pcap reading: the datagrams of generated files (raw IP, Ethernet, both byte orders,
nanoseconds, IPv6), fed in any chunks; what is skipped, cut short or refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.rtp.pcap import PcapError, PcapReader, UdpDatagram
from tests.rtp import pcapgen

A = ("127.0.0.1", 40000)
R = ("127.0.0.1", 31020)


def _read(data: bytes, chunk: int = 1 << 20) -> tuple[list[UdpDatagram], PcapReader]:
    reader = PcapReader()
    out: list[UdpDatagram] = []
    for at in range(0, len(data), chunk):
        out += reader.feed(data[at : at + chunk])
    reader.close()
    return out, reader


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nanoseconds", [False, True])
def test_raw_ipv4_records(big_endian: bool, nanoseconds: bool) -> None:
    data = pcapgen.header(101, big_endian=big_endian, nanoseconds=nanoseconds)
    data += pcapgen.record(
        1000.25, pcapgen.ipv4_udp(A, R, b"one"), big_endian=big_endian, nanoseconds=nanoseconds
    )
    data += pcapgen.record(
        1000.5, pcapgen.ipv4_udp(R, A, b"two"), big_endian=big_endian, nanoseconds=nanoseconds
    )
    datagrams, reader = _read(data)
    assert datagrams == [UdpDatagram(1000.25, A, R, b"one"), UdpDatagram(1000.5, R, A, b"two")]
    assert (reader.linktype, reader.skipped, reader.truncated) == (101, 0, False)


def test_ethernet_and_vlan_frames() -> None:
    packet = pcapgen.ipv4_udp(A, R, b"x")
    vlan = b"\xaa" * 12 + b"\x81\x00\x00\x05\x08\x00" + packet
    data = (
        pcapgen.header(1)
        + pcapgen.record(1.0, pcapgen.ethernet(packet))
        + pcapgen.record(2.0, vlan)
    )
    data += pcapgen.record(3.0, pcapgen.ethernet(b"arp", kind=0x0806))
    datagrams, reader = _read(data)
    assert [d.payload for d in datagrams] == [b"x", b"x"]
    assert reader.skipped == 1


def test_ipv6_udp() -> None:
    data = pcapgen.header(101) + pcapgen.record(1.0, pcapgen.ipv6_udp(5000, 6000, b"v6"))
    datagrams, _ = _read(data)
    assert datagrams == [
        UdpDatagram(1.0, ("0:0:0:0:0:0:0:1", 5000), ("0:0:0:0:0:0:0:2", 6000), b"v6")
    ]


def test_other_protocols_and_later_fragments_are_skipped() -> None:
    data = pcapgen.header(101)
    data += pcapgen.record(1.0, pcapgen.ipv4_udp(A, R, b"tcp", protocol=6))
    data += pcapgen.record(1.0, pcapgen.ipv4_udp(A, R, b"frag", flags_offset=0x2000))
    data += pcapgen.record(1.0, pcapgen.ipv4_udp(A, R, b"later", flags_offset=0x0010))
    data += pcapgen.record(1.0, b"\x45\x00")  # cut by the snap length
    data += pcapgen.record(1.0, pcapgen.ipv4_udp(A, R, b"ok", flags_offset=0x4000))  # DF
    datagrams, reader = _read(data)
    assert [d.payload for d in datagrams] == [b"ok"]
    assert reader.skipped == 4


def test_a_file_cut_short_keeps_what_was_whole() -> None:
    data = pcapgen.header(101) + pcapgen.record(1.0, pcapgen.ipv4_udp(A, R, b"whole"))
    data += pcapgen.record(2.0, pcapgen.ipv4_udp(A, R, b"cut"))[:-2]
    datagrams, reader = _read(data)
    assert [d.payload for d in datagrams] == [b"whole"]
    assert reader.truncated


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"\0" * 24, "magic"),
        (pcapgen.header(113), "link type 113"),
    ],
)
def test_files_not_read_here_are_refused(head: bytes, why: str) -> None:
    with pytest.raises(PcapError, match=why):
        PcapReader().feed(head)


@given(st.integers(min_value=1, max_value=64))
def test_any_chunking_gives_the_same_datagrams(chunk: int) -> None:
    data = pcapgen.header(101)
    for i in range(5):
        data += pcapgen.record(float(i), pcapgen.ipv4_udp(A, R, bytes([i]) * i))
    assert _read(data, chunk)[0] == _read(data)[0]


@given(st.binary(max_size=200))
def test_garbage_after_a_good_header_never_raises(tail: bytes) -> None:
    reader = PcapReader()
    reader.feed(pcapgen.header(101) + tail)
    reader.close()
