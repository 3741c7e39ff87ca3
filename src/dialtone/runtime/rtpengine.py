"""rtpengine as the media engine of bridged calls (issue 19; ``media_engine = "rtpengine"``).

The call core writes its own SDPs from the two ports a relay gives it (``MediaOpened``)
and tells the relay where each party is (``SetRemote``); rtpengine's model is offer
(the caller's SDP in, the callee's port out) and answer (the callee's SDP in, the
caller's port out). One maps onto the other like this (docs/scale-out/rtpengine.md):

- open: ``offer`` for the caller (tag ``caller``) and ``answer`` for the callee (tag
  ``callee``), each with the party's address when known, else ``0.0.0.0`` port 9: the
  two ports of the replies are the relay's ports, facing the caller and the callee;
- ``set_remote`` on the caller's side repeats the ``offer`` with its SDP (then the last
  ``answer``, so the call stays answered); on the callee's side it repeats the
  ``answer``. The ``port-latching`` flag keeps rtpengine's ports when a party's address
  changes (verified: without it every changed address gets new ports); rtpengine latches
  onto where a party's packets come from (symmetric RTP), as the Python relay does;
- close: ``delete`` (its totals are the call's media counts, :class:`MediaStats`).

Recording (TERMS V8, D5): ``start recording`` makes rtpengine write what each party
sends to a pcap in its recording directory; dialtone reads it as it grows and writes the
same sealed stereo WAV the Python relay writes (``runtime.rtpengine_recording``), at the
path the core chose, its crash note beside it from the start; when the call ends
(``stop recording`` writes the file out) the rest is converted, the WAV closed before
the record is written, and the pcap deleted.

Prompts (the V8 notice, the recording beep): ``play media`` to both parties, the WAV
sent in the request (``blob``) when it fits one datagram, else written under the
recording directory and named by path (rtpengine must see that path: same machine or
the same mount). Taps, speakers and digits are not offered: calls whose application
hears the audio keep the Python relay (``CallDriver``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialtone.codecs.g711 import PAYLOAD_TYPES
from dialtone.rtp import ng
from dialtone.rtp.bencode import Encodable
from dialtone.sip.sdp import NegotiatedAudio

from .ng_client import Address, NgClient, NgRefused, NgUnavailable
from .rtpengine_recording import PcapRecording
from .sealing import CallFacts

log = logging.getLogger("dialtone.rtpengine")

CALLER = "caller"
CALLEE = "callee"
# What a party is before its SDP is known: rtpengine sends nothing there.
UNKNOWN: Address = ("0.0.0.0", 9)
# A blob above this goes by file: the NG request must fit one datagram.
MAX_BLOB = 60000
# How often a recording's pcap is read while the call lasts (its end converts the rest).
DRAIN_SECONDS = 2.0
# The WAV format tags of G.711 (RFC 2361): µ-law 7, A-law 6.
_WAV_FORMAT = {"PCMU": 7, "PCMA": 6}


@dataclass(slots=True)
class MediaStats:
    """What rtpengine carried, for the metrics part (issue 19 item 6): calls opened,
    refused at set-up (rtpengine down or refusing), live now, and the packet counts of
    the calls deleted (``delete``'s totals: packets, bytes and errors both ways)."""

    opened: int = 0
    failed: int = 0
    live: int = 0
    totals: ng.MediaTotals = field(default_factory=ng.MediaTotals)


@dataclass(frozen=True, slots=True)
class RtpengineConfig:
    """Where rtpengine listens for NG, how long to wait for it, and its recording
    directory as dialtone sees it (its ``--recording-dir``; shared or local)."""

    ng_address: Address
    recording_dir: Path
    schedule: tuple[float, ...] = ng.DEFAULT_SCHEDULE


class RtpengineMedia:
    """The media engine: one NG client, the relays it opens, their stats."""

    def __init__(self, client: NgClient, config: RtpengineConfig) -> None:
        self.client = client
        self.config = config
        self.stats = MediaStats()
        self._closing: set[asyncio.Task[None]] = set()
        self._opened = 0

    @classmethod
    async def connect(cls, config: RtpengineConfig) -> RtpengineMedia:
        """A client to rtpengine, proven by a ``ping``. Raises NgUnavailable."""
        client = await NgClient.open(config.ng_address, config.schedule)
        try:
            await client.call(*ng.ping())
        except (NgUnavailable, NgRefused) as exc:
            client.close()
            raise NgUnavailable(str(exc)) from None
        return cls(client, config)

    async def open_relay(self, record_id: str, audio: NegotiatedAudio) -> RtpengineRelay:
        """rtpengine's two ports for a bridged call. Raises NgUnavailable or NgRefused
        (the call is refused: ``media.engine_unavailable``)."""
        self._opened += 1
        # Unique per open (a call's media may be opened again) and safe in a file name.
        call_id = f"{record_id}-{self._opened}"
        relay = RtpengineRelay(self, call_id, audio)
        try:
            await relay.open()
        except BaseException:
            self.stats.failed += 1
            relay.abandon()
            raise
        self.stats.opened += 1
        self.stats.live += 1
        return relay

    def finishing(self, task: asyncio.Task[None]) -> None:
        """Keep a relay's closing (delete, recording conversion) until it is done."""
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self, timeout: float = 10.0) -> None:
        """Let the relays' closings finish, then close the NG socket."""
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=timeout)
        self.client.close()


class EngineSide:
    """One party's side of an rtpengine relay: rtpengine's port facing it."""

    def __init__(self, relay: RtpengineRelay, index: int) -> None:
        self.relay = relay
        self.index = index
        self.port = 0
        self.remote: Address | None = None

    def set_remote(self, address: Address | None, *, new_party: bool = False) -> None:
        """Where this side's party receives (its SDP); rtpengine is told in order."""
        if address is None or address == self.remote:
            return
        self.remote = address
        self.relay.update(self.index)


class RtpengineRelay:
    """A bridged call's media through rtpengine: the relay interface the call driver
    uses (``sides``/``a``/``b`` with their ports and ``set_remote``, recording,
    ``play_to_both``, ``close``)."""

    def __init__(self, engine: RtpengineMedia, call_id: str, audio: NegotiatedAudio) -> None:
        self.engine = engine
        self.call_id = call_id
        self.sides = (EngineSide(self, 0), EngineSide(self, 1))
        self.audio: NegotiatedAudio | None = audio
        self.closed = False
        self.on_close: Callable[[], None] | None = None
        # The close's work (stop recording, delete, the pcap sealed as WAV): the call's
        # record waits for it, as the recording must be on disk first.
        self.closing: asyncio.Task[None] | None = None
        self.totals: ng.MediaTotals | None = None
        self._versions = [0, 0]
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._recording: PcapRecording | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._prompt_files: set[Path] = set()
        self._players: set[asyncio.Task[None]] = set()
        self._stopped = False  # the recording, by stop_recording
        # Prompts playing now: the parties' audio is blocked while any plays (as the
        # Python relay mutes them), since rtpengine would pass it on over the prompt.
        self._playing = 0

    @property
    def a(self) -> EngineSide:
        """The side facing the caller."""
        return self.sides[0]

    @property
    def b(self) -> EngineSide:
        """The side facing the callee."""
        return self.sides[1]

    # -- signalling ----------------------------------------------------------------

    def _sdp(self, side: int) -> str:
        audio = self.audio
        assert audio is not None
        self._versions[side] += 1
        address, port = self.sides[side].remote or UNKNOWN
        return ng.party_sdp(
            address,
            port,
            payload_type=audio.payload_type,
            codec=audio.codec,
            telephone_event=audio.telephone_event_payload_type,
            version=self._versions[side],
        )

    async def open(self) -> None:
        """Offer and answer with what is known: rtpengine's ports for both sides."""
        audio = self.audio
        assert audio is not None
        if audio.remote_port and audio.remote_address not in ("", "0.0.0.0"):
            self.a.remote = (audio.remote_address, audio.remote_port)
        client = self.engine.client
        offered = await client.call(*ng.offer(self.call_id, CALLER, self._sdp(0)))
        self.b.port = ng.answered_port(offered)
        answered = await client.call(*ng.answer(self.call_id, CALLER, CALLEE, self._sdp(1)))
        self.a.port = ng.answered_port(answered)

    def update(self, side: int) -> None:
        """Tell rtpengine a party's new address (in order with the other requests)."""
        self._spawn(self._update(side))

    async def _update(self, side: int) -> None:
        if self.closed:
            return
        client = self.engine.client
        async with self._lock:
            try:
                if side == 0:
                    reply = await client.call(*ng.offer(self.call_id, CALLER, self._sdp(0)))
                    self._check_port(1, reply)
                # The callee's answer again after a new offer, so the call stays answered.
                reply = await client.call(*ng.answer(self.call_id, CALLER, CALLEE, self._sdp(1)))
                self._check_port(0, reply)
            except (NgUnavailable, NgRefused, ng.NgError) as exc:
                log.warning("rtpengine call %s: address not updated: %s", self.call_id, exc)

    def _check_port(self, side: int, reply: ng.Reply) -> None:
        port = ng.answered_port(reply)
        if port != self.sides[side].port:
            # The SDPs the parties have name the old port: their audio would be lost.
            log.warning(
                "rtpengine call %s moved side %d from port %d to %d",
                self.call_id,
                side,
                self.sides[side].port,
                port,
            )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- recording -----------------------------------------------------------------

    def start_recording(
        self,
        path: Path,
        codec: str,
        payload_type: int,
        *,
        key: bytes | None = None,
        facts: CallFacts | None = None,
    ) -> None:
        """Record both parties from now on (TERMS V8: after the notice) into ``path``,
        sealed with ``key`` (D5) as rtpengine's pcap grows; the file and its crash note
        exist from now."""
        if self._recording is not None:
            log.warning("rtpengine call %s: one recording per call; kept the first", self.call_id)
            return
        self._recording = PcapRecording(
            path,
            recording_dir=self.engine.config.recording_dir,
            call_id=self.call_id,
            codec=codec,
            payload_type=payload_type,
            ports=(self.a.port, self.b.port),
            key=key,
            facts=facts,
        )
        self._spawn(self._command(ng.start_recording(self.call_id)))
        self._drainer = asyncio.get_running_loop().create_task(self._drain(self._recording))

    async def _drain(self, recording: PcapRecording) -> None:
        loop = asyncio.get_running_loop()
        while not recording.finished and not recording.discarded:
            await asyncio.sleep(DRAIN_SECONDS)
            await loop.run_in_executor(None, recording.drain)

    def note_facts(self, facts: CallFacts) -> bool:
        """Keep ``facts`` beside the recording (D5); False when nothing is recorded."""
        recording = self._recording
        if recording is None or self._stopped:
            return False
        recording.note(facts)
        return True

    def stop_recording(self, *, discard: bool) -> Path | None:
        """Record nothing more; ``discard`` deletes what was recorded (V8: a party
        objected). What rtpengine wrote is converted when the call ends."""
        recording = self._recording
        if recording is None or self._stopped:
            return None
        self._stopped = True
        if discard:
            recording.discard()
        self._spawn(self._command(ng.stop_recording(self.call_id)))
        return recording.path

    async def _command(self, request: tuple[str, dict[str, Encodable]]) -> None:
        async with self._lock:
            try:
                await self.engine.client.call(*request)
            except (NgUnavailable, NgRefused) as exc:
                log.warning("rtpengine call %s: %s", self.call_id, exc)

    # -- prompts -------------------------------------------------------------------

    def play_to_both(self, encoded: bytes, codec: str, payload_type: int) -> asyncio.Task[None]:
        """Play G.711 ``encoded`` to both parties through rtpengine (``play media``);
        the task ends when it has played (cancelled: ``stop media``)."""
        task = asyncio.get_running_loop().create_task(self._play(encoded, codec))
        self._players.add(task)
        task.add_done_callback(self._players.discard)
        return task

    async def _play(self, encoded: bytes, codec: str) -> None:
        wav = g711_wav(encoded, codec)
        file: Path | None = None
        if len(wav) <= MAX_BLOB:
            request = ng.play_media(self.call_id, blob=wav)
        else:
            file = self.engine.config.recording_dir / "prompts" / f"{secrets.token_hex(8)}.wav"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(wav)
            self._prompt_files.add(file)
            request = ng.play_media(self.call_id, file=str(file.resolve()))
        client = self.engine.client
        self._playing += 1
        try:
            if self._playing == 1:
                await self._quietly(ng.block_media(self.call_id))
            try:
                reply = await client.call(*request)
            except (NgUnavailable, NgRefused) as exc:
                log.warning("rtpengine call %s: prompt not played: %s", self.call_id, exc)
                return
            duration = reply.get_int("duration")
            await asyncio.sleep((duration if duration is not None else len(encoded) / 8) / 1000)
        except asyncio.CancelledError:
            if not self.closed:
                self._spawn(self._quietly(ng.stop_media(self.call_id)))
            raise
        finally:
            self._playing -= 1
            if self._playing == 0 and not self.closed:
                self._spawn(self._quietly(ng.unblock_media(self.call_id)))
            if file is not None:
                self._prompt_files.discard(file)
                file.unlink(missing_ok=True)

    async def _quietly(self, request: tuple[str, dict[str, Encodable]]) -> None:
        try:
            await self.engine.client.call(*request)
        except (NgUnavailable, NgRefused) as exc:
            log.warning("rtpengine call %s: %s", self.call_id, exc)

    async def query_totals(self) -> ng.MediaTotals | None:
        """The call's packet counts so far (``query``), None when rtpengine does not
        say; for metrics of live calls."""
        try:
            reply = await self.engine.client.call(*ng.query(self.call_id))
        except (NgUnavailable, NgRefused) as exc:
            log.debug("rtpengine call %s: no totals: %s", self.call_id, exc)
            return None
        return ng.media_totals(reply)

    # -- taps: not through rtpengine -----------------------------------------------

    def tap(self, side: int, fn: Callable[[bytes], None]) -> None:
        """Not offered: calls whose application hears the audio use the Python relay."""
        raise NotImplementedError("rtpengine relays carry no taps (the Python relay does)")

    # -- the end ---------------------------------------------------------------------

    def close(self) -> None:
        """End the call's media: ``delete`` and the recording sealed, in the background
        (``closing``; the call's record waits for it)."""
        if self.closed:
            return
        self.closed = True
        for player in list(self._players):
            player.cancel()  # delete ends what rtpengine plays
        self.closing = asyncio.get_running_loop().create_task(self._finish())
        self.engine.finishing(self.closing)

    def abandon(self) -> None:
        """The open failed: delete what rtpengine may hold, in the background."""
        self.closed = True

        async def delete() -> None:
            await self._delete()

        self.engine.finishing(asyncio.get_running_loop().create_task(delete()))

    async def _delete(self) -> ng.MediaTotals | None:
        try:
            reply = await self.engine.client.call(*ng.delete(self.call_id, CALLER))
        except (NgUnavailable, NgRefused) as exc:
            # rtpengine's own timeout (--timeout, --silent-timeout) ends it.
            log.warning("rtpengine call %s: not deleted: %s", self.call_id, exc)
            return None
        return ng.media_totals(reply)

    async def _finish(self) -> None:
        try:
            # What was asked before the end goes first (a recording started or stopped).
            await asyncio.gather(*self._tasks, return_exceptions=True)
            recording = self._recording
            async with self._lock:
                if recording is not None:
                    # Writes the pcap out (again harmless): read once the call is gone.
                    try:
                        await self.engine.client.call(*ng.stop_recording(self.call_id))
                    except (NgUnavailable, NgRefused) as exc:
                        log.warning("rtpengine call %s: %s", self.call_id, exc)
                self.totals = await self._delete()
            stats = self.engine.stats
            stats.live -= 1
            if self.totals is not None:
                stats.totals = stats.totals + self.totals
            if recording is not None:
                if self._drainer is not None:
                    self._drainer.cancel()
                await asyncio.get_running_loop().run_in_executor(None, recording.finish)
        except Exception:
            log.exception("rtpengine call %s: media not closed cleanly", self.call_id)
        finally:
            for file in list(self._prompt_files):
                file.unlink(missing_ok=True)
            if self.on_close is not None:
                self.on_close()


def g711_wav(encoded: bytes, codec: str) -> bytes:
    """``encoded`` G.711 at 8 kHz mono as a WAV file (format 7 µ-law, 6 A-law)."""
    tag = _WAV_FORMAT.get(codec)
    if tag is None or codec not in PAYLOAD_TYPES:
        raise ValueError(f"no WAV form for {codec}")
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 8000, 1, 8) + struct.pack("<H", 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"fact" + struct.pack("<II", 4, len(encoded))
    body += b"data" + struct.pack("<I", len(encoded)) + encoded
    if len(encoded) % 2:
        body += b"\0"
    return b"RIFF" + struct.pack("<I", len(body)) + body
