"""The thin driver of the call core (``dialtone.call``): it runs the actions a call asks
for (SIP through the channel's endpoint, timers on the loop, media through
``runtime.media``/``runtime.relay``, records through ``CdrWriter``) and feeds back what
happened. All call logic is in the core; here only I/O and bookkeeping (which call a
message belongs to)."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.call import Call
from dialtone.codecs import dtmf
from dialtone.codecs.g711 import encoder_for
from dialtone.logs import LOG_IDS, LogIds
from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony import voicemails as voicemail_service
from dialtone.sip.headers import Via
from dialtone.sip.message import Request
from dialtone.sip.transaction import InviteServerTransaction

from .app_tasks import AppTasks
from .call_audio import AudioUses, CallAudio
from .cdr_writer import AfterCommit, CdrWriter
from .media import PortsExhausted, RtpPortPool, RtpSession, open_rtp_session
from .ng_client import NgRefused, NgUnavailable
from .prompts import BEEP, encoded_prompt
from .randomness import RANDOM
from .relay import MediaRelay, open_relay
from .rtpengine import RtpengineMedia, RtpengineRelay
from .sealing import CallFacts, claim, discard_recording, forget_facts, sync_recording
from .tasks import TaskSet
from .transports import SipChannel

log = logging.getLogger("dialtone.calls")

# Told a call's progress and, at its end, its record (call status callbacks).
ProgressListener = Callable[[Call, str, act.CallRecord | None], None]
# Resolves a ResolveTarget for a call: the event to feed back.
Resolver = Callable[[Call, act.ResolveTarget], Awaitable[ev.TargetResolved]]
# Hands a caller an application let go of to what comes next: True when taken.
Redirector = Callable[[Call, act.Redirect], Awaitable[bool]]


class ChannelPath:
    """A channel as the core's ``SignallingPath``: its name, Via, Contact and tags."""

    __slots__ = ("channel", "contact", "name")

    def __init__(self, channel: SipChannel) -> None:
        self.channel = channel
        self.name = channel.name
        self.contact = f"<{channel.contact_uri()}>"

    def via(self) -> Via:
        return self.channel.endpoint.via()

    def new_tag(self) -> str:
        return self.channel.endpoint.new_tag()


class RuntimeIds:
    """The core's ``Ids`` from the operating system's randomness."""

    __slots__ = ()

    def call_id(self) -> str:
        return f"{RANDOM.token(12)}@dialtone"

    def cnonce(self) -> str:
        return RANDOM.token(8)

    def local_seq(self) -> int:
        return secrets.randbelow(2**20) + 1

    def session_id(self) -> str:
        return str(secrets.randbits(31))

    def glare_delay(self, owner: bool) -> float:
        # RFC 3261 §14.1: 2.1-4 s for the Call-ID's owner, 0-2 s otherwise.
        return random.uniform(2.1, 4.0) if owner else random.uniform(0.0, 2.0)


def live_view(record: act.CallRecord) -> call_service.LiveCall:
    """What the API shows of a call in progress, answered by us or bridged (its record
    does not exist yet): the same facts the record will carry."""
    return call_service.LiveCall(
        id=record.record_id,
        account_id=record.account_id,
        direction=record.direction,
        from_number=record.from_number,
        to_number=record.to_number,
        status="ringing" if record.answered_at is None else "in-progress",
        started_at=record.started_at,
        answered_at=record.answered_at,
        sip_call_id=record.sip_call_id,
        user_id=record.user_id,
        caller_user_id=record.caller_user_id,
        trunk_id=record.trunk_id,
        legs=record.legs,
    )


def call_facts(record: act.CallRecord) -> CallFacts:
    """The crash note's content for a core record (D5)."""
    return CallFacts(
        account_id=record.account_id,
        direction=record.direction,
        from_number=record.from_number,
        to_number=record.to_number,
        started_at=record.started_at,
        answered_at=record.answered_at,
        sip_call_id=record.sip_call_id,
        sip_local_tag=record.sip_local_tag,
        record_id=record.record_id,
        legs=record.legs,
        user_id=record.user_id,
        voicemail=record.voicemail,
        caller_user_id=record.caller_user_id,
        trunk_id=record.trunk_id,
    )


@dataclass(eq=False, slots=True)
class Driven:
    """A call and the I/O it holds."""

    call: Call
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    session: RtpSession | None = None
    # The bridged call's relay: the Python one, or rtpengine's (``media_engine``).
    relay: MediaRelay | RtpengineRelay | None = None
    # An rtpengine relay's close (delete, the recording sealed): the record waits for it.
    media_closing: asyncio.Task[None] | None = None
    # Media being opened: a second OpenMedia waits for it (the voicemail after ringing).
    opening: asyncio.Task[None] | None = None
    record_path: str | None = None
    ended: bool = False
    # Who handed the call over ("answering" or "bridge"): one driver runs both, so
    # that every message of a call finds it whatever the engine routes it through.
    owner: str = ""
    announced: bool = False  # the "answered" line is logged
    # What a Play (or SendDigits) is sending, by its ref: StopPlay cancels it.
    players: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    progress: str = ""  # the last progress told to the listeners (Call.progress)
    # Its streams, speech listeners and silence watches (runtime.call_audio).
    audio: AudioUses = field(default_factory=AudioUses)
    # Plays waiting for their prompt to be synthesised, by ref: StopPlay drops them.
    deferred: set[int] = field(default_factory=set)
    # How many users the call had when they were last told (``on_users_changed``).
    users_told: int = -1
    # The ids every log line of the call's work carries (dialtone.logs), made once.
    log_ids: LogIds | None = None


class MediaTotals:
    """Packets of the calls whose media has closed, by what happened to them (the live
    calls' are read from their relays and sessions): ``received``, ``sent``, ``lost``
    (sequence numbers that never came), ``late`` (came after a later one). Plain ints
    kept on the loop, exported at scrape time (runtime.metrics)."""

    __slots__ = ("late", "lost", "received", "sent")

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0
        self.lost = 0
        self.late = 0

    def add(self, port: RtpSession | MediaRelay) -> None:
        """Count a closed session's or relay's packets in."""
        received, sent, lost, late = media_counts(port)
        self.received += received
        self.sent += sent
        self.lost += lost
        self.late += late


def media_counts(port: RtpSession | MediaRelay) -> tuple[int, int, int, int]:
    """(received, sent, lost, late) of one call's media, both sides of a relay."""
    if isinstance(port, MediaRelay):
        a, b = port.sides
        return (
            a.received + b.received,
            a.sent + b.sent,
            a.sequence.lost + b.sequence.lost,
            a.sequence.late + b.sequence.late,
        )
    return port.received, port.sent, port.sequence.lost, port.sequence.late


class CallDriver:
    """Runs calls of the core; one per platform."""

    def __init__(
        self,
        *,
        rtp_ports: RtpPortPool,
        rtp_host: str,
        cdrs: CdrWriter,
        recording_key: bytes | None = None,
        resolver: Resolver | None = None,
        redirector: Redirector | None = None,
        on_voicemail: Callable[[str, str], None] | None = None,
        background: TaskSet | None = None,
        tasks: AppTasks | None = None,
        audio: CallAudio | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.rtp_ports = rtp_ports
        # Recordings under way are marked with it (issue 19: another worker's start
        # leaves them alone).
        self.worker_id = worker_id
        self.rtp_host = rtp_host
        self.cdrs = cdrs
        self.recording_key = recording_key
        self.resolver = resolver
        self.redirector = redirector
        self.on_voicemail = on_voicemail
        self.ids = RuntimeIds()
        self.calls: dict[str, Driven] = {}
        self.legs: dict[tuple[str, str], Driven] = {}
        self.by_invite: dict[int, Driven] = {}
        self._paths: dict[int, ChannelPath] = {}
        # The work calls started (records, look-ups): the owner's, so that "no work
        # left" means the calls' work too.
        self.background = background or TaskSet(log, "call")
        # What applications' RunTask commands run (TwiML fetches, speech, recordings).
        self.tasks = tasks or AppTasks()
        # What applications do with a call's audio: streams, speech, silence.
        self.audio = audio or CallAudio()
        # Told each step of a call's progress ("initiated", "ringing", "in-progress")
        # and its record once written ("completed" with the record): status callbacks.
        self.progress_listeners: list[ProgressListener] = []
        # A prompt still being made (a reply's later sentences, synthesised while the
        # first plays): its Play waits for it. None: every prompt is on disk.
        self.pending_prompt: Callable[[str], asyncio.Future[object] | None] = lambda _: None
        # Packets of the calls whose media is closed (the metrics read them).
        self.media_totals = MediaTotals()
        # rtpengine, when it carries bridged calls (``media_engine = "rtpengine"``): the
        # calls no application hears; None: every call on the Python relay.
        self.media_engine: RtpengineMedia | None = None
        # Told the users of a call that began, ended or rang someone more: their live
        # calls changed (TERMS V2 across workers: the shared state publishes them).
        self.on_users_changed: Callable[[set[str]], None] | None = None

    # -- plumbing ---------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def path(self, channel: SipChannel) -> ChannelPath:
        """The channel's path object (one per channel, made once)."""
        path = self._paths.get(id(channel))
        if path is None:
            path = self._paths[id(channel)] = ChannelPath(channel)
        return path

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.background.spawn(coro)

    # -- calls ------------------------------------------------------------------------

    def start(self, call: Call, actions: list[act.Action], owner: str = "") -> Driven:
        """Take on a new call and run its first actions."""
        driven = Driven(call, owner=owner, log_ids=LogIds(call.record_id, call.spec.account_id))
        self.calls[call.record_id] = driven
        a = call.a
        if a is not None and isinstance(getattr(a, "transaction", None), InviteServerTransaction):
            self.by_invite[id(a.transaction)] = driven  # type: ignore[attr-defined]
        token = LOG_IDS.set(driven.log_ids)
        try:
            self.execute(driven, actions)
            self._tell_users(driven)
        finally:
            LOG_IDS.reset(token)
        return driven

    def feed(self, driven: Driven, event: ev.Event) -> None:
        """One event for a call. Its work (and the tasks and timers it starts) logs with
        the call's and its account's ids (dialtone.logs)."""
        if driven.ended:
            return
        token = LOG_IDS.set(driven.log_ids)
        try:
            try:
                actions = driven.call.handle(event, self.loop.time())
            except Exception:
                log.exception("call %s: the core failed on %s", driven.call.record_id, event)
                return
            self.execute(driven, actions)
            self._tell_users(driven)
        finally:
            LOG_IDS.reset(token)

    def _tell_users(self, driven: Driven, *, ended: bool = False) -> None:
        """Tell ``on_users_changed`` when the call began, ended or has new users (a
        ringing step adds the users it rings): one length compared per event."""
        told = self.on_users_changed
        if told is None:
            return
        call = driven.call
        count = len(call.users)
        if count == driven.users_told and not ended:
            return
        driven.users_told = count
        users = set(call.users)
        if call.spec.caller_user_id is not None:
            users.add(call.spec.caller_user_id)
        if users:
            told(users)

    def by_request(self, request: Request) -> Driven | None:
        """The call an in-dialog request (or ACK) belongs to, by its To tag."""
        return self.legs.get((request.call_id, request.to.tag or ""))

    def by_response_to(self, request: Request) -> Driven | None:
        """The call a response to our request belongs to, by our From tag."""
        return self.legs.get((request.call_id, request.from_.tag or ""))

    def _index(self, driven: Driven) -> None:
        for leg in driven.call.legs():
            if leg.local_tag:
                self.legs[leg.key] = driven

    # -- actions ----------------------------------------------------------------------

    def execute(self, driven: Driven, actions: list[act.Action]) -> None:
        """Run ``actions`` in order."""
        for action in actions:
            if isinstance(action, act.SendRequest):
                channel = action.path.channel  # type: ignore[attr-defined]
                self._index(driven)
                channel.dispatch(
                    channel.endpoint.send_request(action.request, action.peer, self.loop.time())
                )
            elif isinstance(action, act.SendResponse):
                channel = action.path.channel  # type: ignore[attr-defined]
                try:
                    channel.dispatch(
                        channel.endpoint.respond(
                            action.transaction, action.response, self.loop.time()
                        )
                    )
                except ValueError as exc:
                    # The transaction was answered already (a CANCEL raced the 200).
                    log.debug("response not sent: %s", exc)
                if 200 <= action.response.status < 300:
                    self._index(driven)
            elif isinstance(action, act.SetTimer):
                old = driven.timers.pop(action.name, None)
                if old is not None:
                    old.cancel()
                driven.timers[action.name] = self.loop.call_at(
                    action.at, self._fire, driven, action.name
                )
            elif isinstance(action, act.CancelTimer):
                handle = driven.timers.pop(action.name, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(action, act.OpenMedia):
                driven.opening = self.background.spawn(self._open_media(driven, action))
            elif isinstance(action, act.CloseMedia):
                self._close_media(driven, action.discard_recording)
            elif isinstance(action, act.SetRemote):
                if isinstance(driven.relay, RtpengineRelay):
                    # The codec the legs settled on, for the SDPs rtpengine is told.
                    driven.relay.audio = driven.call.audio
                if driven.relay is not None:
                    driven.relay.sides[action.side].set_remote(
                        action.address, new_party=action.new_party
                    )
            elif isinstance(action, act.Play):
                self._play(driven, action, action.prompt)
            elif isinstance(action, act.SendDigits):
                self._play(driven, action, None)
            elif isinstance(action, act.StopPlay):
                player = driven.players.pop(action.ref, None)
                if player is not None:
                    player.cancel()
                elif action.ref in driven.deferred:
                    driven.deferred.discard(action.ref)
                    done = ev.PlayDone(action.ref, completed=False)
                    self.loop.call_soon(self.feed, driven, done)
            elif isinstance(action, act.RunTask):
                self._spawn(self._run_task(driven, action))
            elif isinstance(
                action,
                act.Listen
                | act.StopListening
                | act.WatchSilence
                | act.StopWatching
                | act.StartStream
                | act.StopStream,
            ):
                self._use_audio(driven, action)
            elif isinstance(action, act.StartRecording):
                self._start_recording(driven, action)
            elif isinstance(action, act.StopRecording):
                if driven.relay is not None:
                    driven.relay.stop_recording(discard=action.discard)
            elif isinstance(action, act.NoteFacts):
                self._note(driven, action.facts)
            elif isinstance(action, act.WriteRecord):
                self._spawn(self._write_record(driven, action))
            elif isinstance(action, act.ResolveTarget):
                self._spawn(self._resolve(driven, action))
            elif isinstance(action, act.Redirect):
                self._spawn(self._redirect(driven, action))
            elif isinstance(action, act.Warn):
                log.warning("%s", action.text)
            elif isinstance(action, act.CallEnded):
                self._forget(driven)
        if not driven.announced and driven.call.answered is not None:
            driven.announced = True
            self._announce(driven)
        if self.progress_listeners and not driven.call.ended:
            progress = driven.call.progress
            if progress != driven.progress:
                driven.progress = progress
                self._tell(driven.call, progress, None)

    def _tell(self, call: Call, progress: str, record: act.CallRecord | None) -> None:
        for listener in self.progress_listeners:
            try:
                listener(call, progress, record)
            except Exception:
                log.exception("call %s: progress listener failed", call.record_id)

    def _announce(self, driven: Driven) -> None:
        """One line when a call is answered (operators, and tests, read it)."""
        call = driven.call
        spec = call.spec
        audio = call.audio
        if driven.relay is not None:
            log.info(
                "call %s answered: %s -> %s (%s, relay %d<->%d)",
                spec.record_id,
                spec.from_number,
                spec.to_number,
                audio.codec,
                driven.relay.a.port,
                driven.relay.b.port,
            )
        else:
            log.info(
                "call %s answered (%s): %s -> %s (account %s, %s, RTP -> %s:%d)",
                spec.record_id,
                "voicemail" if call.voicemail is not None else "greeting",
                spec.from_number,
                spec.to_number,
                spec.account_id,
                audio.codec,
                audio.remote_address,
                audio.remote_port,
            )

    def _fire(self, driven: Driven, name: str) -> None:
        driven.timers.pop(name, None)
        self.feed(driven, ev.TimerFired(name))

    # -- media ------------------------------------------------------------------------

    async def _open_media(self, driven: Driven, action: act.OpenMedia) -> None:
        previous = driven.opening
        if previous is not None and previous is not asyncio.current_task():
            await asyncio.gather(previous, return_exceptions=True)
        try:
            if action.sides == 1:
                path = Path(action.record_path) if action.record_path else None
                if path is not None:
                    claim(path, self.worker_id)
                session = await open_rtp_session(
                    self.rtp_ports,
                    self.rtp_host,
                    action.audio,
                    path,
                    key=self.recording_key,
                    facts=call_facts(action.facts) if action.facts is not None else None,
                )
                driven.session = session
                driven.record_path = action.record_path
                if action.digits:
                    session.listen_for_digits(lambda d: self._digit(driven, 0, d))
                ports: tuple[int, ...] = (session.local_port,)
            elif self.media_engine is not None and not action.digits:
                # No application hears this call: rtpengine carries it.
                engine_relay = await self.media_engine.open_relay(
                    driven.call.record_id, action.audio
                )
                driven.relay = engine_relay
                ports = (engine_relay.a.port, engine_relay.b.port)
            else:
                relay = await open_relay(self.rtp_ports, self.rtp_host, action.audio)
                driven.relay = relay
                pt = action.audio.telephone_event_payload_type
                if action.digits and pt is not None:
                    relay.listen_for_digits(pt, lambda side, d: self._digit(driven, side, d))
                ports = (relay.a.port, relay.b.port)
        except PortsExhausted:
            log.warning("call %s: RTP ports exhausted -> 503", driven.call.record_id)
            self.feed(driven, ev.MediaUnavailable())
            return
        except (NgUnavailable, NgRefused) as exc:
            log.warning("call %s: %s -> 503 %s", driven.call.record_id, exc, ev.ENGINE_UNAVAILABLE)
            self.feed(driven, ev.MediaUnavailable(ev.ENGINE_UNAVAILABLE))
            return
        except Exception:
            log.exception("call %s: media not opened", driven.call.record_id)
            self.feed(driven, ev.MediaUnavailable())
            return
        if driven.ended:
            self._close_media(driven, discard=True)
            return
        self.feed(driven, ev.MediaOpened(ports))

    def _close_media(self, driven: Driven, discard: bool) -> None:
        self.audio.close(driven.audio)
        session, driven.session = driven.session, None
        if session is not None:
            session.close()
            self.media_totals.add(session)
            self.rtp_ports.release(session.local_port)
            if discard and driven.record_path is not None:
                discard_recording(Path(driven.record_path))
        relay, driven.relay = driven.relay, None
        if relay is not None:
            relay.close()
            if isinstance(relay, RtpengineRelay):
                driven.media_closing = relay.closing  # its packets: the engine's stats
            else:
                self.media_totals.add(relay)

    def _play(self, driven: Driven, action: act.Play | act.SendDigits, prompt: str | None) -> None:
        waiting = self.pending_prompt(prompt) if prompt is not None else None
        if waiting is not None and not waiting.done():
            driven.deferred.add(action.ref)

            def ready(_: asyncio.Future[object]) -> None:
                if action.ref in driven.deferred and not driven.ended:
                    driven.deferred.discard(action.ref)
                    self._play(driven, action, prompt)

            waiting.add_done_callback(ready)
            return
        audio = driven.call.audio
        try:
            if isinstance(action, act.SendDigits):
                encoded = encoder_for(audio.codec)(dtmf.tones(action.digits))
            else:
                encoded = encoded_prompt(Path(action.prompt), audio.codec, beep=action.beep)
                encoded = looped(encoded, action.loop)
        except (OSError, ValueError):
            log.exception("call %s: %s not played", driven.call.record_id, prompt or action)
            self.loop.call_soon(self.feed, driven, ev.PlayDone(action.ref, completed=False))
            return
        task: asyncio.Task[None] | None = None
        if driven.session is not None:
            driven.session.play(encoded)
            task = driven.session._player
        elif driven.relay is not None:
            task = driven.relay.play_to_both(encoded, audio.codec, audio.payload_type)
        if task is None:
            return
        driven.players[action.ref] = task

        def done(task: asyncio.Task[None]) -> None:
            driven.players.pop(action.ref, None)
            self.feed(driven, ev.PlayDone(action.ref, completed=not task.cancelled()))

        task.add_done_callback(done)

    async def _run_task(self, driven: Driven, action: act.RunTask) -> None:
        result, error = await self.tasks.run(driven.call.spec, action.task)
        if action.ref:
            self.feed(driven, ev.TaskFinished(action.ref, result, error))

    def _use_audio(self, driven: Driven, action: act.Action) -> None:
        if isinstance(driven.relay, RtpengineRelay):
            # Calls an application hears are opened on the Python relay: not reached.
            log.warning("call %s: %s needs the audio, on rtpengine", driven.call.record_id, action)
            return
        port: RtpSession | MediaRelay | None = driven.session or driven.relay
        if driven.relay is not None and driven.relay.audio != driven.call.audio:
            # What the legs agreed (settled once a callee answered a call we placed).
            driven.relay.audio = driven.call.audio
        self.audio.run(driven.audio, port, driven.call.spec, action, lambda e: self.feed(driven, e))

    def _digit(self, driven: Driven, side: int, digit: str) -> None:
        if side == 0 and driven.audio.streams:
            self.audio.digit(driven.audio, digit)
        self.feed(driven, ev.Digit(side, digit))

    def _start_recording(self, driven: Driven, action: act.StartRecording) -> None:
        if driven.relay is None or driven.relay.closed:
            return
        if action.beep:
            audio = action.audio
            driven.relay.play_to_both(
                encoder_for(audio.codec)(BEEP), audio.codec, audio.payload_type
            )
        claim(Path(action.path), self.worker_id)
        driven.relay.start_recording(
            Path(action.path),
            action.audio.codec,
            action.audio.payload_type,
            key=self.recording_key,
            facts=call_facts(action.facts),
        )

    def _note(self, driven: Driven, facts: act.CallRecord) -> None:
        if driven.relay is None:
            return
        try:
            driven.relay.note_facts(call_facts(facts))
        except OSError:
            # The note is for a crash; failing to update it must not cost the call.
            log.exception("call %s: note beside the recording not updated", facts.record_id)

    # -- records and look-ups ---------------------------------------------------------

    async def _write_record(self, driven: Driven, action: act.WriteRecord) -> None:
        record = action.record
        if driven.media_closing is not None:
            # rtpengine's pcap becomes the recording once the call is deleted.
            await asyncio.gather(driven.media_closing, return_exceptions=True)
        # The recording was sealed as it was written (D5); it reaches the disk first.
        recording = await sync_recording(record.recording_path)
        voicemail = record.voicemail if recording is not None else None
        assert record.ended_at is not None
        outcome = call_service.CallOutcome(
            account_id=record.account_id,
            direction=record.direction,
            from_number=record.from_number,
            to_number=record.to_number,
            started_at=record.started_at,
            answered_at=record.answered_at,
            ended_at=record.ended_at,
            status=record.status,
            hangup_cause=record.hangup_cause,
            sip_call_id=record.sip_call_id,
            sip_local_tag=record.sip_local_tag,
            recording_path=None if voicemail is not None else recording,
            record_id=record.record_id,
            legs=record.legs,
            user_id=record.user_id,
            caller_user_id=record.caller_user_id,
            trunk_id=record.trunk_id,
        )
        saved: list[str] = []
        after = (
            _voicemail_saver(record, recording, saved)
            if voicemail is not None and recording is not None
            else None
        )
        ok = True
        try:
            await self.cdrs.write_cdr(outcome, after=after)
            forget_facts(recording)  # the record (and message) is committed: the note is done
        except OperationalError as exc:
            # The database out of reach (PostgreSQL down or restarting): one line, not a
            # traceback per call; the BYE is not acknowledged (nothing lost unsaid).
            ok = False
            why = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc) else ""
            log.error(
                "call %s: record not written: database unreachable (%s)", record.record_id, why
            )
        except Exception:
            ok = False
            log.exception("call %s: record not written", record.record_id)
        if ok and saved and recording is not None and self.on_voicemail is not None:
            self.on_voicemail(saved[0], recording)
        log.info("call %s ended: %s (%s)", record.record_id, record.status, record.hangup_cause)
        if ok and self.progress_listeners:
            self._tell(driven.call, "completed", record)
        self.feed(driven, ev.RecordWritten(action.ref, ok))

    async def _resolve(self, driven: Driven, action: act.ResolveTarget) -> None:
        if self.resolver is None:
            self.feed(driven, ev.TargetResolved(action.ref, refusal=ev.Refusal(603, "")))
            return
        try:
            result = await self.resolver(driven.call, action)
        except Exception:
            log.exception("call %s: %s not resolved", driven.call.record_id, action.target)
            result = ev.TargetResolved(action.ref)
        self.feed(driven, result)

    async def _redirect(self, driven: Driven, action: act.Redirect) -> None:
        taken = False
        if self.redirector is not None:
            try:
                taken = await self.redirector(driven.call, action)
            except Exception:
                log.exception("call %s: fallback failed", driven.call.record_id)
        self.feed(driven, ev.Redirected(action.ref, taken))

    def _forget(self, driven: Driven) -> None:
        driven.ended = True
        for handle in driven.timers.values():
            handle.cancel()
        driven.timers.clear()
        call = driven.call
        self.calls.pop(call.record_id, None)
        self._tell_users(driven, ended=True)
        for key, owner in list(self.legs.items()):
            if owner is driven:
                del self.legs[key]
        for tx_id, owner in list(self.by_invite.items()):
            if owner is driven:
                del self.by_invite[tx_id]
        if driven.session is not None or driven.relay is not None:
            self._close_media(driven, discard=call.answered is None)

    # -- ending everything --------------------------------------------------------------

    def owned(self, owner: str) -> dict[str, Driven]:
        """The live calls ``owner`` handed over, by record id."""
        return {key: d for key, d in self.calls.items() if d.owner == owner}

    async def shutdown(self, owner: str | None = None) -> None:
        """End every live call (of ``owner``; BYE to answered ones, 480 to ringing
        ones), records committed."""
        for driven in list(self.calls.values()):
            if owner is None or driven.owner == owner:
                self.feed(driven, ev.Shutdown())
        await self.background.wait(timeout=5)


# The longest a looped prompt plays (TwiML's loop="0": until something interrupts it).
LONGEST_LOOP_SECONDS = 600


def looped(encoded: bytes, loop: int) -> bytes:
    """``encoded`` (8-bit G.711 at 8 kHz) ``loop`` times; 0 repeats it up to
    ``LONGEST_LOOP_SECONDS``."""
    if loop == 1 or not encoded:
        return encoded
    most = max(1, LONGEST_LOOP_SECONDS * 8000 // len(encoded))
    return encoded * (most if loop <= 0 else min(loop, most))


def _voicemail_saver(record: act.CallRecord, recording: str, saved: list[str]) -> AfterCommit:
    """Store the message with the record, in the same transaction (nothing half-saved)."""
    assert record.voicemail is not None
    assert record.ended_at is not None
    user_id, number = record.voicemail
    ended = record.ended_at
    started = record.answered_at or ended
    duration = Decimal(str(round((ended - started).total_seconds(), 3)))

    def save(session: Session) -> None:
        row = voicemail_service.create_voicemail(
            session,
            account_id=record.account_id,
            user_id=user_id,
            number=number,
            from_number=record.from_number,
            duration=duration,
            path=recording,
            now=ended,
            call_record_id=record.record_id,
        )
        saved.append(row.id)

    return save
