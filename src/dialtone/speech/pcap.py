"""Audio as a pcap of RTP packets, what sipp's ``play_pcap_audio`` plays into a call.

sipp reads a libpcap file of Ethernet/IPv4/UDP frames, sends each UDP payload (our RTP
packet, its header as written) to the call's media address, paced by the capture
timestamps. So the file holds one G.711 packet per 20 ms: payload type 8 (PCMA) or 0
(PCMU), sequence numbers and timestamps advancing by one packet, the marker on the
first. The addresses in it are placeholders sipp replaces.
"""

from __future__ import annotations

import struct

from dialtone.codecs.g711 import encoder_for
from dialtone.rtp.packet import RtpPacket

PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz
LINKTYPE_ETHERNET = 1
_SOURCE = bytes([10, 0, 0, 1])
_DESTINATION = bytes([10, 0, 0, 2])
_PORTS = (6000, 6002)
_SSRC = 0x5EEC4001


def rtp_packets(pcm8k: bytes, codec: str = "PCMA") -> list[bytes]:
    """8 kHz 16-bit mono PCM as RTP packets of 20 ms (the last one padded with
    silence)."""
    payload_type = PAYLOAD_TYPES[codec.upper()]
    encode = encoder_for(codec)
    size = SAMPLES_PER_PACKET * 2
    if len(pcm8k) % size:
        pcm8k += bytes(size - len(pcm8k) % size)
    packets = []
    for index in range(len(pcm8k) // size):
        chunk = pcm8k[index * size : (index + 1) * size]
        packet = RtpPacket(
            payload_type=payload_type,
            sequence_number=(1 + index) % 65536,
            timestamp=(index * SAMPLES_PER_PACKET) % (1 << 32),
            ssrc=_SSRC,
            payload=encode(chunk),
            marker=index == 0,
        )
        packets.append(bytes(packet))
    return packets


def pcap_of(pcm8k: bytes, codec: str = "PCMA") -> bytes:
    """A libpcap capture (Ethernet) of ``rtp_packets``, one every 20 ms."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET)]
    for index, rtp in enumerate(rtp_packets(pcm8k, codec)):
        frame = _ethernet(_ipv4(_udp(rtp), ident=index))
        micros = index * 20_000
        out.append(
            struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
        )
        out.append(frame)
    return b"".join(out)


def _udp(payload: bytes) -> bytes:
    # Checksum 0: none, which IPv4 allows.
    return struct.pack("!HHHH", _PORTS[0], _PORTS[1], 8 + len(payload), 0) + payload


def _ipv4(payload: bytes, ident: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        ident % 65536,
        0x4000,
        64,
        17,
        0,
        _SOURCE,
        _DESTINATION,
    )
    checksum = _checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def _ethernet(payload: bytes) -> bytes:
    return bytes.fromhex("020000000002") + bytes.fromhex("020000000001") + b"\x08\x00" + payload


def _checksum(header: bytes) -> int:
    words: tuple[int, ...] = struct.unpack(f"!{len(header) // 2}H", header)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
