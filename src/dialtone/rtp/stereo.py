"""Two directions of a call's RTP placed on one stereo timeline (issue 19, TERMS V8).

rtpengine records what it receives from each party into one pcap (``rtp.pcap``); the
call's recording is the same stereo WAV the Python relay writes (``runtime.relay``: left
is the caller, right the callee, 16-bit 8 kHz). :class:`StereoPlacer` turns the
datagrams into those frames: a datagram is the caller's when it was sent to the port
rtpengine gave the caller, the callee's for the callee's port (RTCP, on the ports above,
and other payload types such as telephone events are left out); each packet's samples go
where its RTP timestamp puts them, anchored per stream (SSRC) at the capture time of the
stream's first packet, so a gap (silence suppression, hold, lost packets) is silence and
both channels stay in step. A stream whose timestamps stray more than a second from the
capture clock is anchored again (a party that restarts its timestamps).

Frames come out as soon as no packet can still change them (``guard`` seconds of capture
time behind the newest packet; a packet later than that is dropped and counted), so a
long call is converted with a bounded buffer. ``decode`` turns a payload into 16-bit PCM
(``codecs.g711``, passed in: this package does not import the codecs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dialtone.rtp.packet import RtpPacket, RtpParseError, is_rtcp
from dialtone.rtp.pcap import UdpDatagram

SAMPLE_RATE = 8000
# How far from the capture clock a stream's timestamps may stray before it is anchored
# again: one second.
MAX_DRIFT_SAMPLES = SAMPLE_RATE


@dataclass(slots=True)
class _Anchor:
    timestamp: int
    position: int


@dataclass(slots=True)
class StereoPlacer:
    """Places the datagrams of a two-party pcap into stereo 16-bit frames.

    ``ports``: rtpengine's port facing the caller (left) and the callee (right);
    ``payload_type``: the audio's; ``guard``: seconds a packet may arrive late."""

    decode: Callable[[bytes], bytes]
    payload_type: int
    ports: tuple[int, int]
    guard: float = 2.0
    packets: list[int] = field(default_factory=lambda: [0, 0])  # placed, per side
    late: int = 0  # packets dropped because their place was already written out
    frames: int = 0  # stereo frames given out
    _start: float | None = None
    _base: int = 0  # the first sample not given out yet
    _channels: tuple[bytearray, bytearray] = field(
        default_factory=lambda: (bytearray(), bytearray())
    )
    _anchors: dict[tuple[int, int], _Anchor] = field(default_factory=dict)

    def push(self, datagram: UdpDatagram) -> bytes:
        """Place one datagram; the stereo frames now final (often none)."""
        port = datagram.destination[1]
        if port == self.ports[0]:
            side = 0
        elif port == self.ports[1]:
            side = 1
        else:
            return b""
        data = datagram.payload
        if is_rtcp(data):
            return b""
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            return b""
        if packet.payload_type != self.payload_type:
            return b""
        if self._start is None:
            self._start = datagram.time
        now = round((datagram.time - self._start) * SAMPLE_RATE)
        self._place(side, packet, now)
        return self._flush(now - round(self.guard * SAMPLE_RATE))

    def finish(self) -> bytes:
        """Everything left, the shorter channel padded with silence."""
        end = self._base + max(len(c) for c in self._channels) // 2
        return self._flush(end)

    def _place(self, side: int, packet: RtpPacket, now: int) -> None:
        key = (side, packet.ssrc)
        anchor = self._anchors.get(key)
        if anchor is None:
            anchor = self._anchors[key] = _Anchor(packet.timestamp, now)
        offset = (packet.timestamp - anchor.timestamp) & 0xFFFFFFFF
        if offset >= 0x80000000:
            offset -= 0x100000000  # earlier than the anchor (reordered)
        position = anchor.position + offset
        if abs(position - now) > MAX_DRIFT_SAMPLES:
            anchor.timestamp, anchor.position = packet.timestamp, now
            position = now
        pcm = self.decode(packet.payload)
        if position < self._base or position < 0:
            self.late += 1
            return
        channel = self._channels[side]
        start = (position - self._base) * 2
        end = start + len(pcm)
        if len(channel) < end:
            channel.extend(bytes(end - len(channel)))
        channel[start:end] = pcm
        self.packets[side] += 1

    def _flush(self, upto: int) -> bytes:
        count = upto - self._base
        if count <= 0:
            return b""
        left, right = self._channels
        size = count * 2
        for channel in (left, right):
            if len(channel) < size:
                channel.extend(bytes(size - len(channel)))
        out = bytearray(count * 4)
        out[0::4] = left[0:size:2]
        out[1::4] = left[1:size:2]
        out[2::4] = right[0:size:2]
        out[3::4] = right[1:size:2]
        del left[:size]
        del right[:size]
        self._base = upto
        self.frames += count
        return bytes(out)
