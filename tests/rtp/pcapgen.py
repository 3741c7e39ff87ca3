"""Pcap files made in tests, as rtpengine writes them (issue 19): a global header, then
one record per packet, raw IPv4/UDP (link type 101) or Ethernet."""

from __future__ import annotations

import struct

from dialtone.rtp.packet import RtpPacket


def header(linktype: int = 101, *, big_endian: bool = False, nanoseconds: bool = False) -> bytes:
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    return struct.pack((">" if big_endian else "<") + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)


def ipv4_udp(
    source: tuple[str, int],
    destination: tuple[str, int],
    payload: bytes,
    *,
    flags_offset: int = 0,
    protocol: int = 17,
) -> bytes:
    udp = struct.pack("!HHHH", source[1], destination[1], 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        0,
        flags_offset,
        64,
        protocol,
        0,
        bytes(int(x) for x in source[0].split(".")),
        bytes(int(x) for x in destination[0].split(".")),
    )
    return ip + udp


def ipv6_udp(source_port: int, destination_port: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", source_port, destination_port, 8 + len(payload), 0) + payload
    return (
        struct.pack(
            "!IHBB16s16s", 6 << 28, len(udp), 17, 64, b"\0" * 15 + b"\1", b"\0" * 15 + b"\2"
        )
        + udp
    )


def ethernet(packet: bytes, kind: int = 0x0800) -> bytes:
    return b"\xaa" * 6 + b"\xbb" * 6 + struct.pack("!H", kind) + packet


def record(
    when: float, packet: bytes, *, big_endian: bool = False, nanoseconds: bool = False
) -> bytes:
    seconds = int(when)
    fraction = round((when - seconds) * (1e9 if nanoseconds else 1e6))
    return (
        struct.pack(
            (">" if big_endian else "<") + "IIII", seconds, fraction, len(packet), len(packet)
        )
        + packet
    )


def rtp(seq: int, timestamp: int, ssrc: int, payload: bytes, payload_type: int = 0) -> bytes:
    return bytes(
        RtpPacket(
            payload_type=payload_type,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=payload,
        )
    )
