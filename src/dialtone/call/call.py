"""One call: its legs, its connects, its media plan, its record, its application.

``Call.incoming`` takes a caller's INVITE (the answering machine, the B2BUA, voicemail:
which is a matter of the application it runs); ``Call.originate`` starts click-to-call
(the user's devices first, then the number). Then ``handle(event, now)`` returns the
actions to run. States (``CallState``): SETTING_UP (media being opened) → RINGING (the
caller not answered yet; the application runs, connects ring) → ANSWERED → ENDING (the
record being written: nothing more is sent until it is, TERMS "CDR before the 200") →
ENDED. A call that fails before its media is open goes straight to ENDING.

This module holds the call, its construction, media and the routing of events; its parts
are modules of their own: ``commands`` (the application's queue), ``connecting``
(connects ringing steps), ``in_dialog`` (BYE, re-INVITE, INFO), ``transfer`` (REFER and
resolved targets), ``recording`` (V8) and ``ending`` (the record before the 200). What
a call is about (``CallSpec``, ``CallState``, ``RecordingPlan``) is in ``spec`` and
importable from here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import commands, connecting, ending, gathering, in_dialog, outside, transfer
from dialtone.call import events as ev
from dialtone.call.actions import Action, CallRecord
from dialtone.call.context import Address, CallSettings, Ids, SignallingPath, Trace
from dialtone.call.dialer import Connect, Step
from dialtone.call.leg import IncomingLeg, Leg, OutgoingLeg, OutgoingState
from dialtone.call.spec import (
    CODEC_MISMATCH,
    Busy,
    CallSpec,
    CallState,
    Idle,
    RecordingPlan,
    codecs_of,
    dtmf_digit,
    outcome_name,
    path_of,
    response_to,
)
from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    RequestReceived,
    StraySuccess,
)
from dialtone.sip.errors import SipParseError
from dialtone.sip.message import Request, Response
from dialtone.sip.sdp import (
    NegotiatedAudio,
    NoAcceptableMedia,
    SessionDescription,
    answer_offer,
    build_offer,
)
from dialtone.sip.transaction import (
    InviteServerTransaction,
    ResponseReceived,
    TransactionTimedOut,
)


@dataclass(eq=False, slots=True)
class Call:
    """One call; see the module docstring for its states."""

    spec: CallSpec
    settings: CallSettings
    ids: Ids
    application: app.Application
    start: float  # ``now`` when the call began (its wall time is ``spec.started_at``)
    sides: int  # 1: an RTP session facing the caller; 2: a relay
    audio: NegotiatedAudio
    a: Leg | None = None
    b: Leg | None = None
    a_offer: SessionDescription | None = None
    state: CallState = CallState.SETTING_UP
    ports: tuple[int, ...] = ()
    answered: float | None = None
    local_sdp: bytes | None = None
    # False until the codec is agreed: a call we originate offers every codec we have.
    audio_settled: bool = True
    connects: dict[str, Connect] = field(default_factory=dict)
    queue: deque[app.Command] = field(default_factory=deque)
    busy: Busy | None = None
    traces: list[Trace] = field(default_factory=list)
    users: set[str] = field(default_factory=set)
    user_id: str | None = None
    trunk_id: str | None = None
    record_path: str | None = None
    voicemail: tuple[str | None, str] | None = None
    max_seconds: float | None = None
    recording: RecordingPlan | None = None
    recording_path: str | None = None  # a bridged call's stereo file, once started
    notice_ref: int = 0
    ringing_sent: bool = False
    failure: str | None = None
    # What to send once the record is written (the 200 or 500 to a BYE, our BYEs).
    _after_record: list[Action] = field(default_factory=list)
    _bye_tx: tuple[Leg, object] | None = None
    _record_ref: int = 0
    _refs: int = 0
    _pending: dict[int, str] = field(default_factory=dict)  # ResolveTarget ref -> purpose
    _refer: Leg | None = None  # the transferor while its REFER is being carried out
    _originate_target: str | None = None
    originated: bool = False  # click-to-call: leg A is one we dial
    retired: list[Leg] = field(default_factory=list)  # transferors, once transferred
    _redirect_status: int = 480
    typeahead: str = ""  # digits pressed outside a Gather, for the next one
    streams: set[str] = field(default_factory=set)  # media streams open, by name
    # The application's Bridge being connected, and since when a bridge that keeps the
    # caller (TwiML's <Dial>) is connected: the callee's BYE then leaves the caller.
    bridging: app.Bridge | None = None
    kept_since: float | None = None
    # A call placed for an application: it starts when the called party answers.
    answer_starts_app: bool = False
    # A callee's refusal passed back to the caller (Reason, Warning, Retry-After).
    _callee_headers: tuple[tuple[str, str], ...] = ()
    # The SDP session id of each relay side, drawn once: RFC 3264 §8 keeps a session's
    # o= id for its whole life and increments only the version (a 183 and its 200, a
    # hold and its resume); phones that compare o= lines ignore a changed one.
    sdp_session_ids: tuple[str, str] = ("0", "0")

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def incoming(
        cls,
        spec: CallSpec,
        *,
        settings: CallSettings,
        ids: Ids,
        application: app.Application,
        event: RequestReceived,
        path: SignallingPath,
        now: float,
        sides: int = 1,
        trace: Trace | None = None,
    ) -> tuple[Call, list[Action]]:
        """A call for the caller's INVITE in ``event``: its offer is checked (488 when
        nothing in it is acceptable), then its media asked for."""
        request = event.request
        tx = event.transaction
        assert isinstance(tx, InviteServerTransaction)
        a = IncomingLeg.from_invite(
            request,
            tx,
            path,
            event.source,
            trace if trace is not None else (spec.legs[0] if spec.legs else {}),
            allow=settings.allow,
            user_id=spec.caller_user_id,
        )
        placeholder = NegotiatedAudio("0.0.0.0", 9, settings.codecs[0], 8, 8000, 20, "sendrecv")
        call = cls._new(
            spec,
            settings=settings,
            ids=ids,
            application=application,
            now=now,
            sides=sides,
            audio=placeholder,
        )
        call.a = a
        try:
            offer = SessionDescription.parse(request.body)
            _, audio = answer_offer(
                offer,
                local_address=settings.advertised_host,
                local_port=9,
                session_id="0",
                preference=settings.codecs,
            )
        except (SipParseError, NoAcceptableMedia) as exc:
            reason = getattr(exc, "reason", str(exc))
            if not spec.record_refusals:
                call.state = CallState.ENDED
                return call, [*a.refuse(488), act.CallEnded(spec.record_id)]
            return call, ending.end(call, now, "failed", f"488 {reason}"[:40], sip_status=488)
        call.a_offer = offer
        call.audio = audio
        if tx.last_status is not None and tx.last_status >= 200:
            # Canceled while the call was being decided.
            call.state = CallState.ENDED
            return call, [act.CallEnded(spec.record_id)]
        return call, [call._open_media(spec.record_path)]

    @classmethod
    def originate(
        cls,
        spec: CallSpec,
        *,
        settings: CallSettings,
        ids: Ids,
        devices: Sequence[Step],
        target: str | None,
        now: float,
        application: app.Application | None = None,
    ) -> tuple[Call, list[Action]]:
        """Click-to-call: ring the user's ``devices``; when one answers, ``target`` (the
        number) is resolved and dialled, and the two bridged. Without a ``target`` the
        call is the application's (a call placed over the Twilio-compatible API): it
        hears ``Started`` once ``devices`` answer, and talks to them on side 0."""
        codec = settings.codecs[0]
        audio = NegotiatedAudio(
            "0.0.0.0", 9, codec, 8 if codec == "PCMA" else 0, 8000, 20, "sendrecv", 101
        )
        call = cls._new(
            spec,
            settings=settings,
            ids=ids,
            application=application or Idle(),
            now=now,
            sides=2,
            audio=audio,
        )
        call.audio_settled = False
        call.originated = True
        call._originate_target = target
        call.answer_starts_app = target is None
        call.queue.append(app.Bridge(steps=tuple(devices)))
        return call, [call._open_media(None)]

    @classmethod
    def _new(
        cls,
        spec: CallSpec,
        *,
        settings: CallSettings,
        ids: Ids,
        application: app.Application,
        now: float,
        sides: int,
        audio: NegotiatedAudio,
    ) -> Call:
        return cls(
            spec=spec,
            settings=settings,
            ids=ids,
            application=application,
            start=now,
            sides=sides,
            audio=audio,
            traces=list(spec.legs),
            users=set(spec.users),
            user_id=spec.user_id,
            trunk_id=spec.trunk_id,
            record_path=spec.record_path,
            voicemail=spec.voicemail,
            max_seconds=spec.max_seconds,
            recording=spec.recording,
            sdp_session_ids=(ids.session_id(), ids.session_id()),
        )

    @property
    def record_id(self) -> str:
        return self.spec.record_id

    @property
    def ended(self) -> bool:
        return self.state in (CallState.ENDING, CallState.ENDED)

    def wall(self, now: float) -> datetime:
        """The wall-clock time of ``now`` (the call's start plus the time since)."""
        base = self.spec.created_at or self.spec.started_at
        return base + timedelta(seconds=now - self.start)

    @property
    def sip_call_id(self) -> str:
        """The caller's Call-ID; for a call we originated, that of our leg to the user."""
        return self.a.call_id if self.a is not None else ""

    def legs(self) -> list[Leg]:
        """Every leg the call has (for routing messages to it)."""
        out = [leg for leg in (self.a, self.b) if leg is not None]
        for connect in self.connects.values():
            out.extend(leg for leg in connect.legs if leg not in out)
        return out

    def facts(self, now: float | None = None, **final: object) -> CallRecord:
        """What the record says (the crash note while the call lasts)."""
        record = CallRecord(
            record_id=self.spec.record_id,
            account_id=self.spec.account_id,
            direction=self.spec.direction,
            from_number=self.spec.from_number,
            to_number=self.spec.to_number,
            started_at=self.spec.started_at,
            answered_at=self.wall(self.answered) if self.answered is not None else None,
            sip_call_id=self.sip_call_id,
            sip_local_tag=self.a.local_tag if self.a is not None else "",
            legs=tuple(dict(t) for t in self.traces),
            user_id=self.user_id,
            caller_user_id=self.spec.caller_user_id,
            trunk_id=self.trunk_id,
            voicemail=self.voicemail,
        )
        return replace(record, **final) if final else record  # type: ignore[arg-type]

    def _ref(self) -> int:
        self._refs += 1
        return self._refs

    def handle(self, event: ev.Event, now: float) -> list[Action]:
        """One event for this call; the actions to run, in order."""
        if self.state is CallState.ENDED:
            return self._after_end(event)
        if isinstance(event, RequestReceived):
            return in_dialog.on_request(self, event, now)
        if isinstance(event, AckReceived):
            if isinstance(self.a, IncomingLeg):
                self.a.acknowledged()
            return []
        if isinstance(event, CancelReceived):
            return self._on_cancel(now)
        if isinstance(event, ResponseReceived):
            return self._on_response(event.transaction.request, event.response, now)
        if isinstance(event, StraySuccess):
            leg = self._leg_by_from(event.response)
            return leg.ack_again(event.response) if isinstance(leg, OutgoingLeg) else []
        if isinstance(event, TransactionTimedOut):
            return self._on_transaction_timeout(event, now)
        if isinstance(event, ev.TimerFired):
            return self._on_timer(event.name, now)
        if isinstance(event, ev.MediaOpened):
            return self._on_media(event.ports, now)
        if isinstance(event, ev.MediaUnavailable):
            if self.ended:
                return []
            headers: tuple[tuple[str, str], ...] = ()
            if event.reason != ev.PORTS_EXHAUSTED:
                headers = (("Reason", f'SIP;cause=503;text="{event.reason}"'),)
            if not self.spec.record_refusals and self.voicemail is None:
                return ending.vanish(self, sip_status=503, headers=headers)
            # The answering machine, and voicemail after ringing, keep a record of it.
            return ending.end(self, now, "failed", event.reason, sip_status=503, headers=headers)
        if isinstance(event, ev.Redirected):
            return ending.on_redirected(self, event, now)
        if isinstance(event, ev.PlayDone):
            return commands.on_play_done(self, event, now)
        if isinstance(event, ev.Digit):
            return commands.on_digit(self, event.digit, now)
        if isinstance(event, ev.RecordWritten):
            return ending.on_record_written(self, event)
        if isinstance(event, ev.TaskFinished):
            return outside.on_task_finished(self, event, now)
        if isinstance(event, ev.SpeechStarted):
            return gathering.on_speech_started(self, event, now)
        if isinstance(event, ev.SpeechHeard):
            return gathering.on_speech_heard(self, event, now)
        if isinstance(event, ev.Silence):
            return commands.on_silence(self, event, now)
        if isinstance(event, ev.StreamClosed):
            return outside.on_stream_closed(self, event, now)
        if isinstance(event, ev.Interrupt):
            return commands.interrupt(self, event.commands, now)
        if isinstance(event, ev.TargetResolved):
            return transfer.on_resolved(self, event, now)
        if isinstance(event, ev.HangUp):
            status = "completed" if self.answered is not None else outcome_name(event.status)
            return ending.hang_up(self, now, event.cause, status=status, sip_status=event.status)
        if isinstance(event, ev.ObjectToRecording):
            return self.object_to_recording()
        if isinstance(event, ev.Shutdown):
            return ending.hang_up(self, now, "shutdown", status="completed", sip_status=480)
        return []

    def _after_end(self, event: ev.Event) -> list[Action]:
        """Late events: media opened for a call already over is closed; a 2xx that
        crossed our CANCEL is ACKed and hung up (by the leg)."""
        if isinstance(event, ev.MediaOpened):
            return [act.CloseMedia(discard_recording=True)]
        if isinstance(event, ResponseReceived):
            leg = self._leg_by_from(event.response)
            request = event.transaction.request
            if leg is not None and request.method == "INVITE" and request.to.tag is not None:
                return leg.on_reinvite_response(event.response, 0.0, self.ids)
            if isinstance(leg, OutgoingLeg) and request.method == "INVITE":
                return leg.on_invite_response(event.response, self.ids)[1]
        if isinstance(event, RequestReceived):
            return [
                act.SendResponse(path_of(self, event), event.transaction, response_to(event, 481))
            ]
        return []

    def _open_media(self, record_path: str | None) -> Action:
        self.state = CallState.SETTING_UP
        facts = self.facts() if record_path is not None else None
        digits = self.spec.listen_digits or self.sides == 1
        return act.OpenMedia(self.sides, self.audio, record_path, facts, digits)

    def _on_media(self, ports: tuple[int, ...], now: float) -> list[Action]:
        if self.ended:
            return [act.CloseMedia(discard_recording=self.answered is None)]
        self.ports = ports
        out: list[Action] = []
        if self.sides == 2 and self.audio_settled and self.a is not None:
            out.append(act.SetRemote(0, (self.audio.remote_address, self.audio.remote_port)))
        if self.busy is not None and self.busy.kind == "media":
            # Media reopened for a voicemail message: answer and play the greeting now.
            command = self.busy.command
            self.busy = None
            if isinstance(command, app.TakeMessage):
                self.state = CallState.RINGING
                out.extend(commands.answer(self, now))
                self.queue.appendleft(app.Play(command.box.greeting))
            return [*out, *commands.run(self, now)]
        self.state = CallState.RINGING
        if not self.queue:
            self.queue.extend(self.application.on_event(app.Started(now)))
        return [*out, *commands.run(self, now)]

    def _answer_body(self) -> bytes:
        """Our SDP answer to the caller's offer, on the media port facing it."""
        assert self.a_offer is not None
        preference = self.settings.codecs if self.sides == 1 else (self.audio.codec,)
        answer, audio = answer_offer(
            self.a_offer,
            local_address=self.settings.advertised_host,
            local_port=self.ports[0],
            session_id=self.sdp_session_ids[0],
            preference=preference,
        )
        self.audio = audio
        return answer.serialize()

    def _offer(self, side: int, direction: str = "sendrecv") -> bytes:
        leg = self.a if side == 0 else self.b
        # A leg not dialled yet gets the first version (each leg's ``sdp_version`` starts
        # there); its re-offers then count up from it.
        version = 1
        if leg is not None:
            leg.sdp_version += 1
            version = leg.sdp_version
        return build_offer(
            local_address=self.settings.advertised_host,
            local_port=self.ports[side] if side < len(self.ports) else 9,
            session_id=self.sdp_session_ids[side],
            session_version=str(version),
            codecs=(self.audio.codec,) if self.audio_settled else self.settings.codecs,
            telephone_event=self.audio.telephone_event_payload_type,
            direction=direction,
        ).serialize()

    def _leg_by_from(self, message: Request | Response) -> Leg | None:
        tag = message.from_.tag or ""
        for leg in self.legs():
            if leg.local_tag == tag and leg.call_id == message.call_id:
                return leg
        return None

    def _leg_by_to(self, request: Request) -> Leg | None:
        tag = request.to.tag or ""
        for leg in self.legs():
            if leg.local_tag == tag and leg.call_id == request.call_id:
                return leg
        for old in (self._refer, *self.retired):
            if old is not None and old.local_tag == tag and old.call_id == request.call_id:
                return old
        return None

    def _on_response(self, request: Request, response: Response, now: float) -> list[Action]:
        leg = self._leg_by_from(response)
        if leg is None:
            return []
        if request.method == "INVITE" and request.to.tag is None:
            assert isinstance(leg, OutgoingLeg)
            for connect in self.connects.values():
                if connect.owns(leg):
                    return connecting.connect_update(
                        self, connect, connect.on_response(leg, response, now), now
                    )
            return leg.on_invite_response(response, self.ids)[1]
        if request.method == "INVITE":
            return leg.on_reinvite_response(response, now, self.ids)
        return []

    def _on_transaction_timeout(self, event: TransactionTimedOut, now: float) -> list[Action]:
        tx = event.transaction
        if isinstance(tx, InviteServerTransaction):
            a = self.a
            if self.answered is not None and isinstance(a, IncomingLeg) and tx is a.transaction:
                # No ACK for our 200 (RFC 3261 §13.3.1.4): the dialog ends with BYE.
                return ending.hang_up(self, now, "no-ack", status="failed", sip_status=480)
            return []
        request = tx.request
        if request.method != "INVITE" or request.to.tag is not None:
            return []
        leg = self._leg_by_from(request)
        if not isinstance(leg, OutgoingLeg):
            return []
        for connect in self.connects.values():
            if connect.owns(leg):
                return connecting.connect_update(self, connect, connect.on_timeout(leg, now), now)
        return []

    def _on_cancel(self, now: float) -> list[Action]:
        a = self.a
        if not isinstance(a, IncomingLeg) or not a.pending or self.ended:
            return []
        return ending.end(self, now, "canceled", "caller-cancel", sip_status=487)

    def _on_timer(self, name: str, now: float) -> list[Action]:
        if self.ended:
            return []
        if name == "ring":
            if self.busy is not None and self.busy.kind == "answer":
                self.busy = None
                return [*commands.answer(self, now), *commands.run(self, now)]
            return []
        if name == "max":
            return ending.hang_up(self, now, "max-duration", status="completed", sip_status=480)
        if name.startswith("step:"):
            connect = self.connects.get(name[5:])
            if connect is None:
                return []
            return connecting.connect_update(self, connect, connect.on_step_timer(now), now)
        if name.startswith("glare:"):
            for leg in self.legs():
                if leg.glare_timer == name:
                    return leg.retry_reinvite()
            return []
        if name == "pause" and self.busy is not None and self.busy.kind == "pause":
            self.busy = None
            return commands.give(self, app.Paused(), now)
        if name == "gather" and self.busy is not None and self.busy.kind == "gather":
            return gathering.on_timer(self, self.busy, now)
        if name == "record" and self.busy is not None and self.busy.kind == "record":
            return commands.recorded(self, now)
        return []

    def object_to_recording(self) -> list[Action]:
        """TERMS V8, a party objects: nothing more is recorded, what was is deleted, and
        the record will have no recording. False-y (no actions) when not recording."""
        if self.ended or self.recording is None:
            return []
        self.recording = None
        self.recording_path = None
        self.notice_ref = 0
        return [act.StopRecording(discard=True)]

    @property
    def progress(self) -> str:
        """How far the call got, in the words of Twilio's call status callbacks:
        "initiated" (set up), "ringing" (the caller hears ringing, or the party we call
        rings), "in-progress" (answered); its end is its record's status."""
        if self.answered is not None:
            return "in-progress"
        if self.ringing_sent:
            return "ringing"
        if self.originated:
            connect = self.connects.get("a")
            if connect is not None and any(
                leg.state is OutgoingState.PROCEEDING for leg in connect.legs
            ):
                return "ringing"
        return "initiated"

    @property
    def recorded(self) -> bool:
        """Whether a party may still object (the call records, or will after the notice)."""
        return self.recording is not None and not self.ended


__all__ = [
    "CODEC_MISMATCH",
    "Address",
    "Call",
    "CallSpec",
    "CallState",
    "RecordingPlan",
    "codecs_of",
    "dtmf_digit",
    "outcome_name",
]
