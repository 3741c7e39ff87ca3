"""The UDP datagrams of a pcap file, sans-I/O (issue 19: rtpengine's recordings).

rtpengine (``--recording-method=pcap``) writes the packets it receives from each party
of a recorded call to a classic pcap file: link type 101 (raw IP) by default, 1
(Ethernet) with ``--recording-format=eth``. :class:`PcapReader` is fed the file's bytes
in chunks of any size and gives back the UDP datagrams over IPv4 or IPv6 with their
capture time; anything else (other protocols, IP fragments after the first, IPv6
extension headers) is skipped and counted. A file cut short ends with ``truncated``
set, never an exception: what was whole is kept.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
_LINKTYPES = (LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6)
GLOBAL_HEADER = 24
RECORD_HEADER = 16
# A record longer than this is not a packet but a corrupt length (64 KiB + headers).
MAX_RECORD = 262144
_UDP = 17
_ETHER_IPV4 = 0x0800
_ETHER_IPV6 = 0x86DD
_ETHER_VLAN = (0x8100, 0x88A8)


class PcapError(ValueError):
    """Bytes that do not start like a pcap file of a link type we read."""


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    """One UDP datagram as captured: when (seconds since the epoch), from, to, what."""

    time: float
    source: tuple[str, int]
    destination: tuple[str, int]
    payload: bytes


@dataclass(slots=True)
class PcapReader:
    """Reads a pcap file fed in chunks (:meth:`feed`), then :meth:`close`."""

    _buffer: bytearray = field(default_factory=bytearray)
    _endian: str = ""
    _nanoseconds: bool = False
    linktype: int = -1
    skipped: int = 0  # records that were not a whole UDP datagram
    truncated: bool = False  # the file ended inside a record (or its header)

    def feed(self, chunk: bytes) -> list[UdpDatagram]:
        """The datagrams ``chunk`` completes. Raises PcapError when the file's header
        is not a pcap header of a link type read here."""
        self._buffer += chunk
        out: list[UdpDatagram] = []
        at = 0
        if not self._endian:
            if len(self._buffer) < GLOBAL_HEADER:
                return out
            self._header(bytes(self._buffer[:GLOBAL_HEADER]))
            at = GLOBAL_HEADER
        record = struct.Struct(self._endian + "IIII")
        buffer = self._buffer
        while len(buffer) - at >= RECORD_HEADER:
            seconds, fraction, captured, _ = record.unpack_from(buffer, at)
            if captured > MAX_RECORD:
                # A corrupt length: nothing after it can be trusted.
                self.truncated = True
                at = len(buffer)
                break
            if len(buffer) - at - RECORD_HEADER < captured:
                break
            start = at + RECORD_HEADER
            packet = bytes(buffer[start : start + captured])
            at = start + captured
            when = seconds + fraction / (1e9 if self._nanoseconds else 1e6)
            datagram = self._datagram(when, packet)
            if datagram is None:
                self.skipped += 1
            else:
                out.append(datagram)
        del buffer[:at]
        return out

    def close(self) -> None:
        """The file ended: whatever is left is a record cut short."""
        if self._buffer:
            self.truncated = True
            self._buffer.clear()

    def _header(self, header: bytes) -> None:
        magic = header[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            self._endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            self._endian = ">"
        else:
            raise PcapError("not a pcap file (bad magic number)")
        self._nanoseconds = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        (linktype,) = struct.unpack_from(self._endian + "I", header, 20)
        linktype &= 0x0FFFFFFF  # the upper bits carry FCS information
        if linktype not in _LINKTYPES:
            raise PcapError(f"link type {linktype} is not read here (1, 101, 228, 229 are)")
        self.linktype = linktype

    def _datagram(self, when: float, packet: bytes) -> UdpDatagram | None:
        if self.linktype == LINKTYPE_ETHERNET:
            return _ethernet(when, packet)
        return _ip(when, packet)


def _ethernet(when: float, frame: bytes) -> UdpDatagram | None:
    at = 12
    if len(frame) < at + 2:
        return None
    (kind,) = struct.unpack_from("!H", frame, at)
    while kind in _ETHER_VLAN and len(frame) >= at + 6:
        at += 4
        (kind,) = struct.unpack_from("!H", frame, at)
    if kind not in (_ETHER_IPV4, _ETHER_IPV6):
        return None
    return _ip(when, frame[at + 2 :])


def _ip(when: float, packet: bytes) -> UdpDatagram | None:
    if not packet:
        return None
    version = packet[0] >> 4
    if version == 4:
        return _ipv4(when, packet)
    if version == 6:
        return _ipv6(when, packet)
    return None


def _ipv4(when: float, packet: bytes) -> UdpDatagram | None:
    header = (packet[0] & 0x0F) * 4
    if header < 20 or len(packet) < header + 8:
        return None
    (total,) = struct.unpack_from("!H", packet, 2)
    (flags_offset,) = struct.unpack_from("!H", packet, 6)
    if packet[9] != _UDP or flags_offset & 0x3FFF:
        return None  # not UDP, or a fragment (more fragments, or not the first)
    source = ".".join(str(b) for b in packet[12:16])
    destination = ".".join(str(b) for b in packet[16:20])
    end = min(total, len(packet)) if total >= header + 8 else len(packet)
    return _udp(when, source, destination, packet[header:end])


def _ipv6(when: float, packet: bytes) -> UdpDatagram | None:
    if len(packet) < 48 or packet[6] != _UDP:
        return None  # not UDP straight after the fixed header (extension headers)
    source = _ipv6_text(packet[8:24])
    destination = _ipv6_text(packet[24:40])
    (length,) = struct.unpack_from("!H", packet, 4)
    return _udp(when, source, destination, packet[40 : 40 + length] if length else packet[40:])


def _ipv6_text(raw: bytes) -> str:
    # The full form: compared, not shown; compression rules are not needed for that.
    return ":".join(f"{a:x}" for a in struct.unpack("!8H", raw))


def _udp(when: float, source: str, destination: str, segment: bytes) -> UdpDatagram | None:
    if len(segment) < 8:
        return None
    source_port, destination_port, length = struct.unpack_from("!HHH", segment, 0)
    if length < 8 or length > len(segment):
        return None  # cut short by the capture's snap length
    return UdpDatagram(
        when, (source, source_port), (destination, destination_port), segment[8:length]
    )
