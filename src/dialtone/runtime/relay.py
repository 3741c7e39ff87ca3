"""The media relay of a bridged call: two RTP sockets, packets passed from one to the other.

Each leg talks to its own socket of ours, so neither leg learns the other's address and
both work behind NAT: each side latches onto the address its peer's packets come from
(symmetric RTP, RFC 4961), and the SDP address is used only until a packet arrives. The
payload is not touched (both legs were offered the same codec and the same
telephone-event payload type, so RFC 4733 DTMF passes through as is). When the account's
policy asks for it, both directions are decoded into one stereo WAV (TERMS V8), sealed as
it is written (D5), after a notice prompt played to both legs where the law or the policy
wants one; recording can be stopped mid-call (a party objected).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import cast

from dialtone.codecs.g711 import decoder_for
from dialtone.rtp.packet import HEADER_SIZE, RtpPacket, RtpParseError, is_rtcp
from dialtone.rtp.packetizer import frames
from dialtone.rtp.telephone_event import DigitDetector
from dialtone.sip.sdp import NegotiatedAudio

from .media import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    RtpPortPool,
    RtpSender,
    SequenceCount,
    Speaker,
    Tap,
    bind_rtp_socket,
    feed_taps,
    pace,
    silence_of,
)
from .sealing import AudioFile, CallFacts

log = logging.getLogger("dialtone.relay")

Address = tuple[str, int]
# One second of one-sided audio before the silent side is padded (a leg on hold sends
# nothing, and the recording must stay in step).
MAX_SKEW_SAMPLES = SAMPLE_RATE


class StereoRecorder:
    """Both directions of a call in one 16-bit stereo 8 kHz WAV: left is leg A (the
    caller), right is leg B. Frames are written as they pair up, sealed chunk by chunk
    when ``key`` is given (TERMS D5), so a crash loses at most the chunk in memory (half
    a second) and leaves no plain audio; ``facts`` let the next start give the call its
    CDR."""

    def __init__(
        self,
        path: Path,
        codec: str,
        payload_type: int,
        *,
        key: bytes | None = None,
        facts: CallFacts | None = None,
    ) -> None:
        self.path = path
        self._decode = decoder_for(codec)
        self._payload_type = payload_type
        self._pending: list[bytearray] = [bytearray(), bytearray()]
        self._wav = AudioFile(path, channels=2, key=key, facts=facts)
        self.frames = 0

    def push(self, side: int, data: bytes) -> None:
        """Take one RTP packet received from leg ``side`` (0 = A, 1 = B)."""
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            return
        if packet.payload_type != self._payload_type:
            return  # DTMF events and comfort noise are not audio samples
        self._pending[side] += self._decode(packet.payload)
        self._drain()

    def _drain(self) -> None:
        left, right = self._pending
        ready = min(len(left), len(right)) // 2
        skew = abs(len(left) - len(right)) // 2
        if skew > MAX_SKEW_SAMPLES:
            short = left if len(left) < len(right) else right
            short += b"\x00\x00" * (skew - MAX_SKEW_SAMPLES // 2)
            ready = min(len(left), len(right)) // 2
        if ready == 0:
            return
        out = bytearray(ready * 4)
        out[0::4] = left[0 : ready * 2 : 2]
        out[1::4] = left[1 : ready * 2 : 2]
        out[2::4] = right[0 : ready * 2 : 2]
        out[3::4] = right[1 : ready * 2 : 2]
        del left[: ready * 2]
        del right[: ready * 2]
        self._wav.write(bytes(out))
        self.frames += ready

    def note(self, facts: CallFacts) -> None:
        """Rewrite the note kept beside the recording (see :meth:`AudioFile.note`)."""
        self._wav.note(facts)

    def close(self) -> None:
        """Write what is left (the other side padded with silence) and finish the file."""
        left, right = self._pending
        longest = max(len(left), len(right))
        left += b"\x00" * (longest - len(left))
        right += b"\x00" * (longest - len(right))
        with contextlib.suppress(Exception):
            self._drain()
        self._wav.close()

    def discard(self) -> None:
        """Close the file without writing what is pending, and delete it."""
        self._pending = [bytearray(), bytearray()]
        self._wav.discard()

    @property
    def seconds(self) -> float:
        """Recorded length."""
        return self.frames / SAMPLE_RATE


class RelaySide(asyncio.DatagramProtocol):
    """Our socket facing one leg."""

    def __init__(self, relay: MediaRelay, side: int) -> None:
        self.relay = relay
        self.side = side
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.remote: Address | None = None
        self.latched = False
        # The party a transfer took off this side: its late packets are dropped.
        self.departed: Address | None = None
        self.received = 0
        self.sent = 0
        # Lost and late packets of what this leg sends us (read at scrape time).
        self.sequence = SequenceCount()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector datagram transport is not a DatagramTransport subclass.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.received += 1
        source = (str(addr[0]), int(addr[1]))
        if source == self.departed:
            return
        if not self.latched:
            self.latched = True
            self.remote = source
        self.relay.forward(self.side, data)

    def error_received(self, exc: Exception) -> None:
        log.debug("relay socket error: %s", exc)

    def set_remote(self, address: Address | None, *, new_party: bool = False) -> None:
        """The address the SDP gives (a new offer or answer resets latching).

        ``new_party``: someone else now faces this side (a transfer's target answered).
        The party that left keeps sending until our BYE reaches it; its packets are
        dropped from then on, or latching would go back to it and the new party would
        hear nothing (found with linphone's blind transfer, issue 13)."""
        if new_party:
            departed = self.remote
            self.departed = departed if departed != address else None
            self.sequence.restart()
        self.remote = address
        self.latched = False

    def send(self, data: bytes) -> None:
        """Send to the latched (or SDP) address of this side's leg."""
        transport = self.transport
        if self.remote is not None and transport is not None:
            transport.sendto(data, self.remote)
            self.sent += 1


class MediaRelay:
    """Two sockets of the RTP range relaying one call's media.

    ``audio`` (the codec both legs agreed) is needed by ``tap`` and ``speaker`` only: the
    relay itself passes payloads untouched."""

    def __init__(self, audio: NegotiatedAudio | None = None) -> None:
        self.sides = (RelaySide(self, 0), RelaySide(self, 1))
        # Each side's sequence count, one index away from a packet (lost and late).
        self._sequences = (self.sides[0].sequence, self.sides[1].sequence)
        self.recorder: StereoRecorder | None = None
        # Indexed by the side a packet comes from: how many voices of ours (a prompt, a
        # speaker) speak to the other leg now; its packets are not passed on meanwhile.
        self._hushed = [0, 0]
        # Whether anyone looks into the packets (digits, taps): one check per packet.
        self._inspect = False
        self._player: asyncio.Task[None] | None = None
        self.on_close: Callable[[], None] | None = None
        self.closed = False
        self.on_digit: Callable[[int, str], None] | None = None
        self._digits: tuple[DigitDetector, ...] = ()
        self._taps: tuple[list[Tap], list[Tap]] = ([], [])
        self._senders: list[RtpSender | None] = [None, None]
        self._speakers: list[Speaker | None] = [None, None]
        self._audio: NegotiatedAudio | None = None
        self._decode: Callable[[bytes], bytes] | None = None
        self.audio = audio

    @property
    def a(self) -> RelaySide:
        """The side facing leg A (the caller)."""
        return self.sides[0]

    @property
    def b(self) -> RelaySide:
        """The side facing leg B (the callee)."""
        return self.sides[1]

    @property
    def audio(self) -> NegotiatedAudio | None:
        """The codec both legs agreed (None until told: nothing can tap or speak)."""
        return self._audio

    @audio.setter
    def audio(self, audio: NegotiatedAudio | None) -> None:
        self._audio = audio
        self._decode = decoder_for(audio.codec) if audio is not None else None

    @property
    def muted(self) -> bool:
        """Whether nothing passes either way (a prompt plays to both legs)."""
        return bool(self._hushed[0] and self._hushed[1])

    def forward(self, side: int, data: bytes) -> None:
        """A packet arrived from leg ``side``: pass RTP to the other leg."""
        if self._inspect:
            # Before the mute: a caller may answer a menu while its prompt plays, and a
            # listener hears the caller over a prompt (barge-in).
            self._look_into(side, data)
        if is_rtcp(data):
            # Without rtcp-mux RTCP travels on port+1, which we do not bind; a muxed RTCP
            # packet carries our peer's view of its own leg only, so it is not passed on.
            return
        if len(data) >= HEADER_SIZE and data[0] & 0xC0 == 0x80:
            # The sequence number read in place (lost and late): no parse, no allocation;
            # the next one in order (nearly every packet) costs no call.
            seq = data[2] << 8 | data[3]
            count = self._sequences[side]
            if (seq - count.last) & 0xFFFF == 1:
                count.last = seq
            else:
                count.see(seq)
        if self._hushed[side]:
            return
        self.sides[1 - side].send(data)
        if self.recorder is not None:
            self.recorder.push(side, data)

    def tap(self, side: int, fn: Callable[[bytes], None]) -> Tap:
        """Hear leg ``side`` (0 = the caller, 1 = the callee): ``fn(pcm)`` for each audio
        packet received from it (telephone events, comfort noise and RTCP excluded),
        decoded to 16-bit 8 kHz PCM, in arrival order. ``close()`` the handle to stop.
        With no tap a packet costs one check more."""
        self._need_audio()
        self._inspect = True
        return Tap(self._taps[side], fn)

    def _look_into(self, side: int, data: bytes) -> None:
        if self.on_digit is not None:
            self._detect(side, data)
        taps = self._taps[side]
        if taps:
            self._tap(taps, data)

    def _tap(self, taps: list[Tap], data: bytes) -> None:
        audio, decode = self._audio, self._decode
        if audio is None or decode is None:
            return
        if len(data) < HEADER_SIZE or data[1] & 0x7F != audio.payload_type:
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            return
        feed_taps(taps, decode(packet.payload))

    def speaker(self, side: int) -> Speaker:
        """The speaker of leg ``side``: audio pushed as it comes, sent at the 20 ms pace
        under the same RTP stream as the prompts played to that leg. While it sends, the
        other leg's audio is not passed to this one."""
        self._need_audio()
        speaker = self._speakers[side]
        if speaker is None:
            assert self.audio is not None

            def busy(on: bool) -> None:
                self._hushed[1 - side] += 1 if on else -1

            speaker = Speaker(
                self._sender(side, self.audio.payload_type), self.audio.codec, on_busy=busy
            )
            self._speakers[side] = speaker
        return speaker

    def _need_audio(self) -> None:
        if self._audio is None:
            raise RuntimeError("the relay's codec is not known: open_relay(..., audio=)")

    def _sender(self, side: int, payload_type: int) -> RtpSender:
        sender = self._senders[side]
        if sender is None or sender.payload_type != payload_type:
            sender = RtpSender(payload_type, self.sides[side].send)
            self._senders[side] = sender
        return sender

    def listen_for_digits(self, payload_type: int, on_digit: Callable[[int, str], None]) -> None:
        """Report RFC 4733 digits from either side (each once) to ``on_digit(side, d)``:
        only for calls an application runs, the plain relay stays one send per packet."""
        self._digits = (DigitDetector(payload_type), DigitDetector(payload_type))
        self.on_digit = on_digit
        self._inspect = True

    def _detect(self, side: int, data: bytes) -> None:
        detector = self._digits[side]
        if len(data) < 2 or data[1] & 0x7F != detector.payload_type:
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            return
        digit = detector.push(packet)
        if digit is not None and self.on_digit is not None:
            self.on_digit(side, digit)

    def start_recording(
        self,
        path: Path,
        codec: str,
        payload_type: int,
        *,
        key: bytes | None = None,
        facts: CallFacts | None = None,
    ) -> None:
        """Record both directions to ``path`` from now on (TERMS V8: after the notice),
        sealed as written with ``key`` (D5)."""
        self.recorder = StereoRecorder(path, codec, payload_type, key=key, facts=facts)

    def note_facts(self, facts: CallFacts) -> bool:
        """Keep ``facts`` beside the running recording in place of the ones it started
        with (TERMS D5: a crash then leaves the call as it stood); False when nothing is
        being recorded."""
        if self.recorder is None:
            return False
        self.recorder.note(facts)
        return True

    def stop_recording(self, *, discard: bool) -> Path | None:
        """Record nothing more from now on; the recording's path, or None when there was
        none. ``discard`` deletes what was recorded (TERMS V8: a party objected, which
        withdraws consent); otherwise the file is closed as it stands."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        if discard:
            recorder.discard()
        else:
            recorder.close()
        return recorder.path

    def play_to_both(self, encoded: bytes, codec: str, payload_type: int) -> asyncio.Task[None]:
        """Play an already-encoded prompt to both legs, relaying nothing meanwhile."""
        for side in range(2):
            self._hushed[side] += 1
        senders = [self._sender(side, payload_type) for side in range(2)]
        task = asyncio.get_running_loop().create_task(
            pace(
                frames(encoded, frame_bytes=FRAME_SAMPLES, pad=silence_of(codec)),
                senders,
                stopped=self._is_closed,
            )
        )

        def done(_: asyncio.Task[None]) -> None:
            # A done callback: it runs even for a task cancelled before it started.
            for side in range(2):
                self._hushed[side] -= 1

        task.add_done_callback(done)
        self._player = task
        return task

    def _is_closed(self) -> bool:
        return self.closed

    def close(self) -> None:
        """Close both sockets and the recording."""
        if self.closed:
            return
        self.closed = True
        if self._player is not None:
            self._player.cancel()
        for speaker in self._speakers:
            if speaker is not None:
                speaker.close()
        for taps in self._taps:
            taps.clear()
        for side in self.sides:
            if side.transport is not None:
                side.transport.close()
        if self.recorder is not None:
            self.recorder.close()
        if self.on_close is not None:
            self.on_close()


async def open_relay(
    pool: RtpPortPool, host: str, audio: NegotiatedAudio | None = None
) -> MediaRelay:
    """Bind two free ports of the RTP range for a bridged call; ``audio`` (what the legs
    agreed) lets the relay's audio be tapped and spoken to."""
    loop = asyncio.get_running_loop()
    relay = MediaRelay(audio)
    taken: list[int] = []
    try:
        for side in relay.sides:
            sock, port = bind_rtp_socket(pool, host)
            taken.append(port)
            await loop.create_datagram_endpoint(lambda side=side: side, sock=sock)  # type: ignore[misc]
            side.port = port
    except BaseException:
        relay.close()
        for port in taken:
            pool.release(port)
        raise

    def release() -> None:
        for port in taken:
            pool.release(port)

    relay.on_close = release
    return relay
