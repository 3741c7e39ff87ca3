"""RTP at the edge: one UDP socket per call, greeting playback and caller recording.

The packet format, G.711 and the reorder buffer are pure code in ``dialtone.rtp`` and
``dialtone.codecs``; this module only owns sockets, pacing and the WAV file. It also
holds what every sender of audio to a leg shares (the relay too): ``RtpSender`` (one
outgoing stream's numbering, kept across prompts and speakers), ``pace`` (the 20 ms
clock), ``Speaker`` (audio pushed as it comes, with marks and clear) and ``Taps`` (the
audio received from a leg, decoded, for whoever listens: a media stream, speech
recognition).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import cast

from dialtone.codecs.g711 import ALAW_SILENCE, ULAW_SILENCE, decoder_for, encoder_for
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


# RFC 3550 A.1's bounds: a jump forward of more than MAX_DROPOUT, or back by more than
# MAX_MISORDER, is another stream (a transfer's new party, a restarted sender), not loss.
MAX_DROPOUT = 3000
MAX_MISORDER = 100


class SequenceCount:
    """Lost and late packets of one received RTP stream, from its sequence numbers alone
    (the relay passes packets on untouched; this is the one look it takes): ``lost``
    counts sequence numbers skipped when a later one came, ``late`` packets that came
    after a later one (a skipped one arriving after all). Both only grow (Prometheus
    counters); what never came at all is ``lost - late``. A few integer operations a
    packet; the totals are read at scrape time."""

    __slots__ = ("last", "late", "lost")

    def __init__(self) -> None:
        # The highest sequence number seen in order (-1: none yet). The relay's fast path
        # moves it on by one itself; anything else goes through :meth:`see`.
        self.last = -1
        self.lost = 0
        self.late = 0

    def see(self, seq: int) -> None:
        """One packet with sequence number ``seq`` arrived."""
        last = self.last
        step = (seq - last) & 0xFFFF
        if step == 1:
            self.last = seq
        elif last < 0:
            self.last = seq  # the stream's first packet
        elif step == 0:
            return  # a duplicate
        elif step < MAX_DROPOUT:
            self.lost += step - 1
            self.last = seq
        elif step > 0x10000 - MAX_MISORDER:
            self.late += 1
        else:
            self.last = seq  # another stream: counting starts again from here

    def restart(self) -> None:
        """Someone else sends from now on (a transfer): their first packet starts over."""
        self.last = -1


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


def silence_of(codec: str) -> bytes:
    """One sample of silence in ``codec`` (PCMU or PCMA), one byte."""
    return bytes([ALAW_SILENCE if codec == "PCMA" else ULAW_SILENCE])


class RtpSender:
    """The numbering of one outgoing RTP stream of ours to one leg (RFC 3550 §5.1).

    Everything we send to a leg (prompts, a speaker's audio) goes out under one SSRC with
    the sequence number running on, so the phone sees one source whatever plays. Between
    two runs of audio the timestamp advances by the time that passed and the next packet
    carries the marker (a new talkspurt, RFC 3551 §4.1), as after silence suppression:
    a phone's playout buffer then neither stretches nor drops the new audio."""

    def __init__(self, payload_type: int, send: Callable[[bytes], None]) -> None:
        self.payload_type = payload_type
        self._send = send
        self._packetizer = Packetizer(
            payload_type=payload_type,
            ssrc=secrets.randbits(32),
            first_sequence=secrets.randbits(16),
            first_timestamp=secrets.randbits(32),
            samples_per_frame=FRAME_SAMPLES,
        )
        self._ended_at: float | None = None
        self._marker = True

    @property
    def ssrc(self) -> int:
        """The SSRC every packet of this stream carries."""
        return self._packetizer.ssrc

    def begin(self, now: float) -> None:
        """A run of audio starts at ``now`` (the event loop's clock)."""
        if self._ended_at is not None and now > self._ended_at:
            gap = round((now - self._ended_at) * SAMPLE_RATE)
            self._advance(gap)
        self._marker = True

    def send(self, frame: bytes) -> None:
        """Send one frame (20 ms in the call's codec)."""
        packet = self._packetizer.packetize(frame, marker=self._marker)
        self._marker = False
        self._send(bytes(packet))

    def skip(self) -> None:
        """Let one frame's time pass with nothing sent (the audio is late)."""
        self._advance(FRAME_SAMPLES)
        self._marker = True

    def end(self, at: float) -> None:
        """The run's audio ends at ``at`` (when its last frame has played)."""
        self._ended_at = at

    def _advance(self, samples: int) -> None:
        packetizer = self._packetizer
        packetizer.timestamp = (packetizer.timestamp + samples) & 0xFFFFFFFF


def _never() -> bool:
    return False


async def pace(
    frames: Iterator[bytes | None],
    senders: Sequence[RtpSender],
    *,
    stopped: Callable[[], bool] = _never,
) -> None:
    """Send ``frames`` through every one of ``senders``, one frame each 20 ms (None: a
    frame's time passes with nothing sent), until they run out or ``stopped()``. The pace
    is counted from the start, so scheduling jitter does not add up; a frame is pulled
    from ``frames`` only when it is due, so whoever yields them learns when the previous
    one has played."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for sender in senders:
        sender.begin(start)
    index = 0
    try:
        for frame in frames:
            if stopped():
                return
            for sender in senders:
                if frame is None:
                    sender.skip()
                else:
                    sender.send(frame)
            index += 1
            delay = start + index * FRAME_SECONDS - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
    finally:
        for sender in senders:
            sender.end(start + index * FRAME_SECONDS)


class Speaker:
    """Audio for one leg as it comes (a media stream's client, speech synthesis): pushed
    as 16-bit 8 kHz PCM, queued, sent at the 20 ms pace through the leg's ``RtpSender``.

    ``mark(name)`` calls ``on_mark(name)`` once the audio pushed before it has played (at
    once when nothing is queued); ``clear()`` drops what is queued and calls ``on_mark``
    for the marks it dropped, in order (as Twilio answers a ``clear``). A push that is
    not a whole frame waits one frame's time for the rest before it goes out padded
    with silence. ``on_busy(True)`` when sending starts, ``on_busy(False)`` when it stops:
    the relay mutes the other leg meanwhile. Callbacks may run inside ``push``, ``mark``
    and ``clear``. One speaker per leg: a prompt played to the same leg at the same
    time would interleave with it."""

    def __init__(
        self,
        sender: RtpSender,
        codec: str,
        *,
        on_busy: Callable[[bool], None] | None = None,
    ) -> None:
        self._sender = sender
        self._encode = encoder_for(codec)
        self._silence = silence_of(codec)
        # Frames (bytes) and the marks (str) between them, in order.
        self._queue: deque[bytes | str] = deque()
        self._frames = 0
        self._partial = bytearray()
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self._on_busy = on_busy
        self._busy = False
        self.on_mark: Callable[[str], None] | None = None
        self.closed = False

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing playing."""
        return not self._running and not self._queue and not self._partial

    @property
    def queued_seconds(self) -> float:
        """Audio waiting to be sent."""
        return (self._frames * FRAME_SAMPLES + len(self._partial)) / SAMPLE_RATE

    def push(self, pcm: bytes) -> None:
        """Queue ``pcm`` (16-bit signed little-endian, 8 kHz mono) to be sent after what
        is queued. Raises ValueError on an odd number of bytes."""
        if self.closed or not pcm:
            return
        partial = self._partial
        partial += self._encode(pcm)
        whole = len(partial) - len(partial) % FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            self._queue.append(bytes(partial[start : start + FRAME_SAMPLES]))
        del partial[:whole]
        self._frames += whole // FRAME_SAMPLES
        self._start()

    def mark(self, name: str) -> None:
        """Call ``on_mark(name)`` when the audio queued so far has played."""
        if self.closed:
            return
        self._flush_partial()
        if self.idle:
            self._fire(name)
            return
        self._queue.append(name)
        self._start()

    def clear(self) -> None:
        """Drop the queued audio; the marks among it fire now, in order."""
        marks = [item for item in self._queue if isinstance(item, str)]
        self._queue.clear()
        self._partial.clear()
        self._frames = 0
        for name in marks:
            self._fire(name)

    def close(self) -> None:
        """Stop: drop what is queued (its marks do not fire), send nothing more."""
        self.closed = True
        self._queue.clear()
        self._partial.clear()
        self._frames = 0
        if self._task is not None:
            self._task.cancel()

    def _fire(self, name: str) -> None:
        if self.on_mark is not None:
            self.on_mark(name)

    def _flush_partial(self) -> None:
        partial = self._partial
        if partial:
            partial += self._silence * (FRAME_SAMPLES - len(partial))
            self._queue.append(bytes(partial))
            self._frames += 1
            partial.clear()

    def _start(self) -> None:
        if self._running or self.closed:
            return
        self._running = True
        self._set_busy(True)
        task = asyncio.get_running_loop().create_task(
            pace(self._pull(), (self._sender,), stopped=self._is_closed)
        )
        self._task = task
        task.add_done_callback(self._stopped)

    def _is_closed(self) -> bool:
        return self.closed

    def _stopped(self, task: asyncio.Task[None]) -> None:
        # A done callback, not a finally: it runs even when the task was cancelled
        # before its first step. It runs a step after the task ended: a push meanwhile
        # may have started the next run, which then keeps the speaker busy.
        if not task.cancelled() and task.exception() is not None:
            log.error("speaker stopped", exc_info=task.exception())
        if self._task is not task:
            return
        self._task = None
        self._running = False
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            if self._on_busy is not None:
                self._on_busy(busy)

    def _pull(self) -> Iterator[bytes | None]:
        waited = False
        queue = self._queue
        while not self.closed:
            while queue and isinstance(queue[0], str):
                self._fire(cast(str, queue.popleft()))
            if queue:
                waited = False
                self._frames -= 1
                yield cast(bytes, queue.popleft())
            elif self._partial and not waited:
                waited = True
                yield None
            elif self._partial:
                self._flush_partial()
            else:
                # Said in the same step as the generator ends, so a push from now on
                # starts a new run.
                self._running = False
                return


class Tap:
    """A listener on the audio received from one leg: ``fn(pcm)`` for each audio packet,
    decoded to 16-bit 8 kHz PCM, in arrival order (no reordering: a listener hears what
    came as it came). ``close()`` removes it."""

    def __init__(self, taps: list[Tap], fn: Callable[[bytes], None]) -> None:
        self.fn = fn
        self._taps = taps
        taps.append(self)

    def close(self) -> None:
        """Hear nothing more (closing twice is harmless)."""
        with contextlib.suppress(ValueError):
            self._taps.remove(self)


def feed_taps(taps: Sequence[Tap], pcm: bytes) -> None:
    """Give ``pcm`` to every tap; one that fails is logged and the others still hear."""
    for tap in tuple(taps):  # a listener may close its tap while it hears
        try:
            tap.fn(pcm)
        except Exception:
            log.exception("audio tap failed")


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
        self.sequence = SequenceCount()
        # RFC 4733 digits, for a call application (None: nobody listens).
        self.digits: DigitDetector | None = None
        self.on_digit: Callable[[str], None] | None = None
        self._taps: list[Tap] = []
        self._decode = decoder_for(audio.codec)
        # Made on first use: a call that only records sends nothing.
        self._sender: RtpSender | None = None
        self._speaker: Speaker | None = None

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
        self.sequence.see(packet.sequence_number)
        source = (str(addr[0]), int(addr[1]))
        if not self._latched:
            self._latched = True
            if source != self.remote:
                log.debug("RTP latched to %s:%d (SDP said %s:%d)", *source, *self.remote)
                self.remote = source
        if self.recorder is not None:
            self.recorder.push(packet)
        if self._taps and packet.payload_type == self.audio.payload_type:
            feed_taps(self._taps, self._decode(packet.payload))
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

    def tap(self, side: int, fn: Callable[[bytes], None]) -> Tap:
        """Hear the caller: ``fn(pcm)`` for each audio packet received (telephone events
        and other payload types excluded), decoded to 16-bit 8 kHz PCM, in arrival
        order. ``side`` is 0: a one-sided call has only the caller."""
        _one_side(side)
        return Tap(self._taps, fn)

    def speaker(self, side: int) -> Speaker:
        """The caller's speaker (``side`` 0): audio pushed as it comes, sent under the
        same RTP stream as prompts."""
        _one_side(side)
        if self._speaker is None:
            self._speaker = Speaker(self._rtp_sender(), self.audio.codec)
        return self._speaker

    def _rtp_sender(self) -> RtpSender:
        if self._sender is None:
            self._sender = RtpSender(self.audio.payload_type, self._send_rtp)
        return self._sender

    def _send_rtp(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            # self.remote is read per packet: latching may move it mid-prompt.
            transport.sendto(data, self.remote)
            self.sent += 1

    def _closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def play(self, encoded: bytes) -> None:
        """Start sending ``encoded`` audio (already in the call's codec, one byte a sample)
        in 20 ms packets, paced by the clock. Encoding happens once per greeting and codec,
        not once per call. While a prompt plays, another is ignored; once it has
        finished (or was cancelled), the next one plays."""
        if self._player is None or self._player.done():
            self._player = asyncio.get_running_loop().create_task(self._play(encoded))

    async def _play(self, encoded: bytes) -> None:
        silence = silence_of(self.audio.codec)
        await pace(
            frames(encoded, frame_bytes=FRAME_SAMPLES, pad=silence),
            (self._rtp_sender(),),
            stopped=self._closing,
        )

    def close(self) -> None:
        """Stop playback, close the socket and the recording."""
        if self._player is not None:
            self._player.cancel()
        if self._speaker is not None:
            self._speaker.close()
        self._taps.clear()
        if self.transport is not None:
            self.transport.close()
        if self.recorder is not None:
            self.recorder.close()


def _one_side(side: int) -> None:
    if side != 0:
        raise ValueError(f"a one-sided call has side 0 only, not {side}")


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
