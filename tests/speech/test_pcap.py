"""The pcap sipp plays (speech.pcap): frames it can read, RTP a call can take."""

from __future__ import annotations

import struct

import pytest

from dialtone.codecs.g711 import decoder_for, encoder_for
from dialtone.rtp.packet import RtpPacket
from dialtone.speech.pcap import pcap_of, rtp_packets


def read_pcap(data: bytes) -> list[tuple[float, bytes]]:
    """(time, UDP payload) of each frame of an Ethernet/IPv4 pcap, checking the
    IPv4 header checksum, as sipp's reader would take them."""
    magic, major, minor, _, _, _, link = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1)
    out, offset = [], 24
    while offset < len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[offset : offset + 16])
        assert incl == orig
        frame = data[offset + 16 : offset + 16 + incl]
        offset += 16 + incl
        assert frame[12:14] == b"\x08\x00"
        ip = frame[14:]
        header_len = (ip[0] & 0x0F) * 4
        total = sum(struct.unpack(f"!{header_len // 2}H", ip[:header_len]))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        assert total == 0xFFFF  # a valid header checksums to all ones
        assert ip[9] == 17
        (length,) = struct.unpack("!H", ip[2:4])
        udp = ip[header_len:length]
        assert struct.unpack("!H", udp[4:6])[0] == len(udp)
        out.append((sec + usec / 1e6, udp[8:]))
    return out


@pytest.mark.parametrize(("codec", "payload_type"), [("PCMA", 8), ("PCMU", 0)])
def test_one_packet_per_20_ms(codec: str, payload_type: int) -> None:
    pcm = bytes(range(256)) * 10 + b"\x10\x00" * 50  # 2660 bytes: 8 full packets, 1 partial
    frames = read_pcap(pcap_of(pcm, codec))
    assert len(frames) == 9
    packets = [RtpPacket.parse(payload) for _, payload in frames]
    assert [round(t, 3) for t, _ in frames] == [round(0.02 * i, 3) for i in range(9)]
    assert [p.sequence_number for p in packets] == list(range(1, 10))
    assert [p.timestamp for p in packets] == [160 * i for i in range(9)]
    assert [p.marker for p in packets] == [True] + [False] * 8
    assert {p.payload_type for p in packets} == {payload_type}
    assert len({p.ssrc for p in packets}) == 1
    decoded = b"".join(decoder_for(codec)(p.payload) for p in packets)
    assert len(decoded) == 9 * 320
    # The last packet is padded with silence (G.711's nearest to zero).
    pad = 320 - 2660 % 320
    assert decoded[-pad:] == decoder_for(codec)(encoder_for(codec)(bytes(pad)))
    assert decoded[: 2660 - 320] == decoder_for(codec)(encoder_for(codec)(pcm[: 2660 - 320]))


def test_no_audio_no_packets() -> None:
    assert rtp_packets(b"") == []
    assert len(pcap_of(b"")) == 24
