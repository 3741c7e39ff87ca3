"""RTP at the edge: one UDP socket per call, greeting playback and caller recording.

The packet format, G.711 and the reorder buffer are pure code in ``dialtone.rtp`` and
``dialtone.codecs``; this module only owns sockets, pacing and the WAV file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

from dialtone.codecs.g711 import ALAW_SILENCE, ULAW_SILENCE, decoder_for
from dialtone.rtp.jitter import PlayoutBuffer
from dialtone.rtp.packet import RtpPacket, RtpParseError, is_rtcp
from dialtone.rtp.packetizer import Packetizer, frames
from dialtone.rtp.telephone_event import DigitDetector
from dialtone.sip.sdp import NegotiatedAudio

from .sealing import AudioFile, CallFacts

log = logging.getLogger("dialtone.media")

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE


class PortsExhausted(Exception):
    """Every RTP port of the configured range is in use."""


class RtpPortPool:
    """Hands out even RTP ports from the configured range (TERMS V1: 20000–22000/udp).

    Even ports keep the odd neighbour free for RTCP (RFC 3550 §11).
    """

    def __init__(self, low: int, high: int) -> None:
        first = low + (low % 2)
        self._ports = list(range(first, high + 1, 2))
        self._index = {port: i for i, port in enumerate(self._ports)}
        self._in_use: set[int] = set()
        self._next = 0

    @property
    def in_use(self) -> int:
        """How many ports are taken."""
        return len(self._in_use)

    def candidates(self) -> Iterator[int]:
        """Free ports to try, starting after the last one handed out (spreads reuse).

        Lazy: the caller usually binds the first one, and building the whole list for
        every call cost more than the rest of the allocation."""
        ports, n, start = self._ports, len(self._ports), self._next
        for i in range(n):
            port = ports[(start + i) % n]
            if port not in self._in_use:
                yield port

    def take(self, port: int) -> None:
        """Mark ``port`` used."""
        self._in_use.add(port)
        self._next = (self._index[port] + 1) % len(self._ports)

    def release(self, port: int) -> None:
        """Give ``port`` back."""
        self._in_use.discard(port)


class CallRecorder:
    """Writes the caller's audio to a 16-bit mono 8 kHz WAV file as it arrives.

    Frames are written as they leave the reorder buffer, sealed chunk by chunk when
    ``key`` is given (TERMS D5), so a crash mid-call loses at most the chunk in memory (a
    second) and leaves no plain audio; ``facts`` let the next start give the call its CDR.
    """

    def __init__(
        self,
        path: Path,
        decode: Callable[[bytes], bytes],
        payload_type: int,
        *,
        key: bytes | None = None,
        facts: CallFacts | None = None,
    ) -> None:
        self.path = path
        self._decode = decode
        self._payload_type = payload_type
        self._buffer = PlayoutBuffer(samples_per_frame=FRAME_SAMPLES)
        self._wav = AudioFile(path, channels=1, key=key, facts=facts)
        self.samples = 0
        self.packets = 0

    def push(self, packet: RtpPacket) -> None:
        """Take one received packet (other payload types, e.g. DTMF events, are skipped)."""
        if packet.payload_type != self._payload_type:
            return
        self.packets += 1
        self._write(self._buffer.push(packet))

    def _write(self, items: list[RtpPacket | int]) -> None:
        for item in items:
            pcm = b"\x00\x00" * item if isinstance(item, int) else self._decode(item.payload)
            self._wav.write(pcm)
            self.samples += len(pcm) // 2

    def close(self) -> None:
        """Write what the reorder buffer holds and finish the file."""
        with contextlib.suppress(Exception):
            self._write(self._buffer.flush())
        self._wav.close()

    def discard(self) -> None:
        """Close and delete the file (a call that never got going)."""
        self._wav.discard()

    @property
    def seconds(self) -> float:
        """Recorded audio length."""
        return self.samples / SAMPLE_RATE


class RtpSession(asyncio.DatagramProtocol):
    """The media of one call: plays PCM to the caller and records what the caller sends.

    The remote address comes from the SDP; when packets arrive from elsewhere (a caller
    behind NAT) the session latches onto the address they come from (symmetric RTP).
    """

    def __init__(self, audio: NegotiatedAudio, recorder: CallRecorder | None) -> None:
        self.audio = audio
        self.remote: tuple[str, int] = (audio.remote_address, audio.remote_port)
        self.recorder = recorder
        self.transport: asyncio.DatagramTransport | None = None
        self.local_port = 0
        self._latched = False
        self._player: asyncio.Task[None] | None = None
        self.received = 0
        self.sent = 0
        self.malformed = 0
        # RFC 4733 digits, for a call application (None: nobody listens).
        self.digits: DigitDetector | None = None
        self.on_digit: Callable[[str], None] | None = None

    # asyncio.DatagramProtocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector datagram transport is not a DatagramTransport subclass.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if is_rtcp(data):
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            self.malformed += 1
            return
        self.received += 1
        source = (str(addr[0]), int(addr[1]))
        if not self._latched:
            self._latched = True
            if source != self.remote:
                log.debug("RTP latched to %s:%d (SDP said %s:%d)", *source, *self.remote)
                self.remote = source
        if self.recorder is not None:
            self.recorder.push(packet)
        detector = self.digits
        if detector is not None and packet.payload_type == detector.payload_type:
            digit = detector.push(packet)
            if digit is not None and self.on_digit is not None:
                self.on_digit(digit)

    def listen_for_digits(self, on_digit: Callable[[str], None]) -> None:
        """Report the caller's RFC 4733 digits (each once) to ``on_digit``."""
        pt = self.audio.telephone_event_payload_type
        if pt is not None:
            self.digits = DigitDetector(pt)
            self.on_digit = on_digit

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while the caller is not listening yet: not fatal.
        log.debug("RTP socket error: %s", exc)

    def play(self, encoded: bytes) -> None:
        """Start sending ``encoded`` audio (already in the call's codec, one byte a sample)
        in 20 ms packets, paced by the clock. Encoding happens once per greeting and codec,
        not once per call."""
        if self._player is None:
            self._player = asyncio.get_running_loop().create_task(self._play(encoded))

    async def _play(self, encoded: bytes) -> None:
        loop = asyncio.get_running_loop()
        packetizer = Packetizer(
            payload_type=self.audio.payload_type,
            ssrc=secrets.randbits(32),
            first_sequence=secrets.randbits(16),
            first_timestamp=secrets.randbits(32),
            samples_per_frame=FRAME_SAMPLES,
        )
        silence = bytes([ALAW_SILENCE if self.audio.codec == "PCMA" else ULAW_SILENCE])
        start = loop.time()
        for index, frame in enumerate(frames(encoded, frame_bytes=FRAME_SAMPLES, pad=silence)):
            if self.transport is None or self.transport.is_closing():
                return
            packet = packetizer.packetize(frame, marker=index == 0)
            self.transport.sendto(bytes(packet), self.remote)
            self.sent += 1
            # Pace from the start time so that scheduling jitter does not add up.
            delay = start + (index + 1) * FRAME_SECONDS - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

    def close(self) -> None:
        """Stop playback, close the socket and the recording."""
        if self._player is not None:
            self._player.cancel()
        if self.transport is not None:
            self.transport.close()
        if self.recorder is not None:
            self.recorder.close()


async def open_rtp_session(
    pool: RtpPortPool,
    host: str,
    audio: NegotiatedAudio,
    recording: Path | None,
    *,
    key: bytes | None = None,
    facts: CallFacts | None = None,
) -> RtpSession:
    """Bind a socket on a free port of the pool and start an RtpSession on it; the
    caller's audio goes to ``recording`` (sealed as written with ``key``)."""
    loop = asyncio.get_running_loop()
    recorder = (
        CallRecorder(recording, decoder_for(audio.codec), audio.payload_type, key=key, facts=facts)
        if recording is not None
        else None
    )
    try:
        sock, port = bind_rtp_socket(pool, host)
    except PortsExhausted:
        if recorder is not None:
            recorder.discard()
        raise
    _, protocol = await loop.create_datagram_endpoint(
        lambda: RtpSession(audio, recorder), sock=sock
    )
    assert isinstance(protocol, RtpSession)
    protocol.local_port = port
    return protocol


def bind_rtp_socket(pool: RtpPortPool, host: str) -> tuple[socket.socket, int]:
    """A UDP socket bound on a free even port of the pool (marked taken)."""
    for port in pool.candidates():
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            continue
        pool.take(port)
        return sock, port
    raise PortsExhausted("no free RTP port in the configured range")
