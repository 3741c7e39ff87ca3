"""One call: its legs, its connects, its media plan, its record, its application.

``Call.incoming`` takes a caller's INVITE (the answering machine, the B2BUA, voicemail:
which is a matter of the application it runs); ``Call.originate`` starts click-to-call
(the user's devices first, then the number). Then ``handle(event, now)`` returns the
actions to run. States (``CallState``): SETTING_UP (media being opened) → RINGING (the
caller not answered yet; the application runs, connects ring) → ANSWERED → ENDING (the
record being written: nothing more is sent until it is, TERMS "CDR before the 200") →
ENDED. A call that fails before its media is open goes straight to ENDING.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import events as ev
from dialtone.call.actions import Action, CallRecord
from dialtone.call.context import Address, CallSettings, Ids, SignallingPath, Trace
from dialtone.call.dialer import Connect, Outcome, Step, Update
from dialtone.call.leg import IncomingLeg, IncomingState, Leg, OutgoingLeg
from dialtone.policy import call_setup
from dialtone.policy import recording as recording_policy
from dialtone.policy.decision import refuse
from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    RequestReceived,
    StraySuccess,
)
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import parse_name_address
from dialtone.sip.message import Request, Response, make_response
from dialtone.sip.sdp import (
    NegotiatedAudio,
    NoAcceptableMedia,
    SessionDescription,
    answer_offer,
    build_offer,
    negotiate_answer,
)
from dialtone.sip.transaction import (
    InviteServerTransaction,
    ResponseReceived,
    TransactionTimedOut,
)

# A party answered with no codec (or no audio stream) we offered: nothing can be relayed.
CODEC_MISMATCH = "media.codec_mismatch"


class CallState(enum.Enum):
    SETTING_UP = "setting-up"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDING = "ending"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class RecordingPlan:
    """TERMS V8 for a bridged call: the file, the account's policy ("notice" or
    "one_party") and the notice prompt."""

    path: str
    policy: str
    notice: str


@dataclass(frozen=True, slots=True)
class CallSpec:
    """Who and what a call is about: what its record will say, decided before it starts."""

    record_id: str
    account_id: str
    direction: str
    from_number: str
    to_number: str
    started_at: datetime
    legs: tuple[Trace, ...] = ()
    # The user the record names (the callee, a box's owner); set when a member answers.
    user_id: str | None = None
    # The user whose device placed the call (or who clicked to call), counted by V2.
    caller_user_id: str | None = None
    trunk_id: str | None = None
    # Everyone V2 counts this call against (devices rung are added as they are).
    users: frozenset[str] = frozenset()
    # The caller recorded from the start into this file (the answering machine).
    record_path: str | None = None
    voicemail: tuple[str | None, str] | None = None
    max_seconds: float | None = None
    recording: RecordingPlan | None = None
    # A refused offer (488) or no media (503) writes a record (the answering machine
    # does; the B2BUA refuses before anything is set up and writes none).
    record_refusals: bool = True
    # The wall-clock time of the ``now`` the call is made at, when that is not its start
    # (voicemail after ringing: the call started when the INVITE arrived).
    created_at: datetime | None = None
    # The application acts on digits (RFC 4733 on the relay's sides; a one-sided
    # session always reports them, it costs one comparison a packet).
    listen_digits: bool = False


def outcome_name(sip_status: int) -> str:
    """The record's status for a call that was never answered."""
    if sip_status in (486, 600):
        return "busy"
    if sip_status in (408, 480):
        return "no-answer"
    if sip_status == 487:
        return "canceled"
    return "failed"


def dtmf_digit(request: Request) -> str | None:
    """The digit of a SIP INFO in application/dtmf-relay ("Signal=5")."""
    content_type = (request.headers.get("Content-Type") or "").lower()
    if not content_type.startswith("application/dtmf-relay"):
        return None
    for line in request.body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and value.strip():
            return value.strip()[:1]
    return None


@dataclass(slots=True)
class _Busy:
    """The application command holding the queue."""

    # "answer", "play", "gather", "record", "bridge", "transfer", "pause", "resolve", "media"
    kind: str
    ref: int = 0
    digits: str = ""
    command: app.Command | None = None


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
    busy: _Busy | None = None
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
            return call, call._end(now, "failed", f"488 {reason}"[:40], sip_status=488)
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
        target: str,
        now: float,
        application: app.Application | None = None,
    ) -> tuple[Call, list[Action]]:
        """Click-to-call: ring the user's ``devices``; when one answers, ``target`` (the
        number) is resolved and dialled, and the two bridged."""
        codec = settings.codecs[0]
        audio = NegotiatedAudio(
            "0.0.0.0", 9, codec, 8 if codec == "PCMA" else 0, 8000, 20, "sendrecv", 101
        )
        call = cls._new(
            spec,
            settings=settings,
            ids=ids,
            application=application or _Idle(),
            now=now,
            sides=2,
            audio=audio,
        )
        call.audio_settled = False
        call.originated = True
        call._originate_target = target
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

    # -- what the runtime reads ------------------------------------------------------------

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

    # -- events ----------------------------------------------------------------------------

    def handle(self, event: ev.Event, now: float) -> list[Action]:
        """One event for this call; the actions to run, in order."""
        if self.state is CallState.ENDED:
            return self._after_end(event)
        if isinstance(event, RequestReceived):
            return self._on_request(event, now)
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
            if not self.spec.record_refusals:
                return self._vanish(sip_status=503)
            return self._end(now, "failed", "rtp-ports-exhausted", sip_status=503)
        if isinstance(event, ev.Redirected):
            return self._on_redirected(event, now)
        if isinstance(event, ev.PlayDone):
            return self._on_play_done(event, now)
        if isinstance(event, ev.Digit):
            return self._on_digit(event.digit, now)
        if isinstance(event, ev.RecordWritten):
            return self._on_record_written(event)
        if isinstance(event, ev.TargetResolved):
            return self._on_resolved(event, now)
        if isinstance(event, ev.HangUp):
            status = "completed" if self.answered is not None else outcome_name(event.status)
            return self._hang_up(now, event.cause, status=status, sip_status=event.status)
        if isinstance(event, ev.ObjectToRecording):
            return self.object_to_recording()
        if isinstance(event, ev.Shutdown):
            return self._hang_up(now, "shutdown", status="completed", sip_status=480)
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
            return [act.SendResponse(_path(self, event), event.transaction, _resp(event, 481))]
        return []

    # -- media -----------------------------------------------------------------------------

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
                out.extend(self._answer(now))
                self.queue.appendleft(app.Play(command.box.greeting))
            return [*out, *self._run(now)]
        self.state = CallState.RINGING
        if not self.queue:
            self.queue.extend(self.application.on_event(app.Started()))
        return [*out, *self._run(now)]

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

    # -- the application -------------------------------------------------------------------

    def _run(self, now: float) -> list[Action]:
        """Run queued commands until one has to wait (or the call ends)."""
        out: list[Action] = []
        while self.busy is None and self.queue and not self.ended:
            out.extend(self._execute(self.queue.popleft(), now))
        return out

    def _give(self, event: app.AppEvent, now: float) -> list[Action]:
        """Tell the application; queue what it answers and run it."""
        if self.ended and not isinstance(event, app.FarEndHungUp):
            return []
        self.queue.extend(self.application.on_event(event))
        return self._run(now)

    def _execute(self, command: app.Command, now: float) -> list[Action]:
        if isinstance(command, app.Answer):
            if not isinstance(self.a, IncomingLeg) or not self.a.pending:
                return []
            if command.ring_seconds is not None:
                out = self.a.provisional(180)
                self.ringing_sent = True
                if command.ring_seconds <= 0:
                    return [*out, *self._answer(now)]
                self.busy = _Busy("answer")
                return [*out, act.SetTimer("ring", now + command.ring_seconds)]
            return self._answer(now)
        if isinstance(command, app.Play):
            ref = self._ref()
            self.busy = _Busy("play", ref)
            return [act.Play((0,), command.prompt, ref, command.beep)]
        if isinstance(command, app.Pause):
            self.busy = _Busy("pause")
            return [act.SetTimer("pause", now + command.seconds)]
        if isinstance(command, app.Gather):
            self.busy = _Busy("gather", command=command)
            gathering: list[Action] = [act.SetTimer("gather", now + command.timeout)]
            # Type-ahead: digits pressed while the prompt played count (barge-in).
            typed, self.typeahead = self.typeahead, ""
            for digit in typed:
                if self.busy is None or self.busy.kind != "gather":
                    break
                gathering.extend(self._on_digit(digit, now))
            return gathering
        if isinstance(command, app.Record):
            self.busy = _Busy("record", command=command)
            path = self.record_path or f"{self.spec.record_id}-message"
            self.record_path = path
            if self.sides == 2:
                self.recording_path = path  # the record points at the message
            return [
                act.StartRecording(path, self.audio, self.facts()),
                act.SetTimer("record", now + command.max_seconds),
            ]
        if isinstance(command, app.Bridge):
            return self._bridge(command, now)
        if isinstance(command, app.Transfer):
            return self._bridge(command, now)
        if isinstance(command, app.TakeMessage):
            return self._take_message(command, now)
        if isinstance(command, app.Redirect):
            ref = self._ref()
            self.busy = _Busy("redirect", ref)
            self._redirect_status = command.status
            return [act.Redirect(command.status, ref)]
        if isinstance(command, app.HangUp):
            answered = self.answered is not None
            status = "completed" if answered else outcome_name(command.status)
            return self._hang_up(now, command.cause, status=status, sip_status=command.status)
        return []

    def _answer(self, now: float) -> list[Action]:
        """200 to the caller; the call is answered (its length bounded from here)."""
        a = self.a
        if not isinstance(a, IncomingLeg) or not a.pending:
            return []
        body = self._answer_body()
        self.local_sdp = body
        out = a.answer(body, self.ids.local_seq())
        return [*out, *self._answered(now)]

    def _answered(self, now: float) -> list[Action]:
        self.answered = now
        self.state = CallState.ANSWERED
        limit = self.max_seconds or self.settings.max_call_seconds
        out: list[Action] = [act.SetTimer("max", now + limit)]
        if self.recording is not None and self.sides == 2:
            out.extend(self._start_recording())
        return out

    def _take_message(self, command: app.TakeMessage, now: float) -> list[Action]:
        box = command.box
        self.voicemail = (box.user_id, box.number)
        self.user_id = box.user_id
        self.max_seconds = box.max_seconds
        if self.sides == 1 and self.record_path == box.record_path:
            self.queue.appendleft(app.Play(box.greeting))
            return self._answer(now)
        # The relay that rang the devices gives way to a session recording the caller.
        self.record_path = box.record_path
        self.sides = 1
        self.busy = _Busy("media", command=command)
        return [act.CloseMedia(discard_recording=True), self._open_media(box.record_path)]

    def _on_play_done(self, event: ev.PlayDone, now: float) -> list[Action]:
        if event.ref == self.notice_ref and self.notice_ref:
            self.notice_ref = 0
            return self._record_now() if event.completed else []
        if self.busy is not None and self.busy.kind == "play" and self.busy.ref == event.ref:
            self.busy = None
            return self._give(app.PlayDone(event.completed), now)
        return []

    def _on_digit(self, digit: str, now: float) -> list[Action]:
        busy = self.busy
        if busy is not None and busy.kind == "gather":
            command = busy.command
            assert isinstance(command, app.Gather)
            if command.finish_key is not None and digit == command.finish_key:
                return self._gathered(now, timed_out=False)
            busy.digits += digit
            if len(busy.digits) >= command.count:
                return self._gathered(now, timed_out=False)
            return [act.SetTimer("gather", now + command.timeout)]
        if busy is not None and busy.kind == "record":
            command = busy.command
            assert isinstance(command, app.Record)
            if command.finish_key is not None and digit == command.finish_key:
                return self._recorded(now)
        self.typeahead = (self.typeahead + digit)[-32:]
        return self._give(app.DigitPressed(digit), now)

    def _gathered(self, now: float, *, timed_out: bool) -> list[Action]:
        busy = self.busy
        assert busy is not None
        self.busy = None
        return [act.CancelTimer("gather"), *self._give(app.Gathered(busy.digits, timed_out), now)]

    def _recorded(self, now: float) -> list[Action]:
        self.busy = None
        out: list[Action] = [act.CancelTimer("record"), act.StopRecording(discard=False)]
        return [*out, *self._give(app.RecordDone(self.record_path), now)]

    # -- connecting ------------------------------------------------------------------------

    def _bridge(self, command: app.Bridge | app.Transfer, now: float) -> list[Action]:
        """An application's bridge, or its transfer: the same connect (side 1, as a
        REFER's target is reached); a transfer also hands the call over once connected."""
        kind = "transfer" if isinstance(command, app.Transfer) else "bridge"
        if self.sides != 2 or (kind == "transfer" and (self.b is not None or self.a is None)):
            # Nothing to connect through (an RTP session facing the caller), or a party
            # already bridged: a transfer replaces no one (REFER does that).
            self.busy = None
            return self._give(self._result(kind, 488), now)
        if command.steps:
            self.busy = _Busy(kind)
            side = 0 if self._originating_user else 1
            return self._connect(side, command.steps, now, "a" if side == 0 else "b")
        if command.target is None:
            return self._give(self._result(kind, 404), now)
        ref = self._ref()
        self._pending[ref] = kind
        self.busy = _Busy("resolve", ref)
        return [act.ResolveTarget(command.target, ref, kind=kind)]

    @staticmethod
    def _result(kind: str, status: int, reason: str | None = None) -> app.AppEvent:
        if kind == "transfer":
            return app.TransferResult(status, reason)
        return app.BridgeResult(status, reason)

    def _hand_over(self) -> None:
        """A transfer connected: the application hears it last and leaves the call (what
        it queued or answers is dropped; the caller and the target talk until a BYE)."""
        self.application.on_event(app.TransferResult(200))
        self.application = _Idle()
        self.queue.clear()

    @property
    def _originating_user(self) -> bool:
        """Click-to-call still ringing the user's own devices (side 0)."""
        return self.a is None

    def _connect(self, side: int, steps: Sequence[Step], now: float, name: str) -> list[Action]:
        connect = Connect(
            name=name,
            side=side,
            steps=tuple(steps),
            offer=self._offer,
            ids=self.ids,
            timeout_status=480 if isinstance(self.a, IncomingLeg) and name == "b" else 408,
            allow=self.settings.allow if name == "b" and isinstance(self.a, IncomingLeg) else None,
        )
        self.connects[name] = connect
        update = connect.start(now)
        return self._connect_update(connect, update, now)

    def _connect_update(self, connect: Connect, update: Update, now: float) -> list[Action]:
        out = list(update.actions)
        for rung in connect.legs:
            if rung.user_id is not None:
                self.users.add(rung.user_id)
        outcome = update.outcome
        leg = update.leg
        if outcome is Outcome.PROVISIONAL and leg is not None and update.response is not None:
            out.extend(self._provisional(connect, leg, update.response))
        elif outcome is Outcome.ANSWER and leg is not None and update.response is not None:
            out.extend(self._connected_leg(connect, leg, update.response, now))
        elif outcome in (Outcome.LEG_FAILED, Outcome.FAILED):
            response = update.response
            if (
                leg is not None
                and response is not None
                and update.status != 487
                and leg.trace.get("kind") == "device"
                and connect.name == "b"
            ):
                # A phone that declined or was busy is part of the chain (V11), with its
                # answer, even when voicemail takes the call afterwards.
                self.traces.append({**leg.trace, "status": str(response.status)})
            if outcome is Outcome.FAILED:
                out.extend(self._connect_failed(connect, update, now))
        return out

    def _provisional(self, connect: Connect, leg: OutgoingLeg, response: Response) -> list[Action]:
        """Ringing (or early media) on the callee's side goes back to a caller still
        waiting: one 180, and a 183 with our SDP for each early media answer."""
        a = self.a
        if connect.name != "b" or not isinstance(a, IncomingLeg) or not a.pending:
            return []
        out: list[Action] = []
        body = b""
        if response.status == 183 and response.body and leg.invite is not None:
            try:
                early = negotiate_answer(
                    SessionDescription.parse(leg.invite.body),
                    SessionDescription.parse(response.body),
                )
            except (SipParseError, NoAcceptableMedia):
                early = None
            if early is not None:
                out.append(act.SetRemote(1, (early.remote_address, early.remote_port)))
                body = self._answer_body()
        if self.ringing_sent and not body:
            return out
        self.ringing_sent = True
        return [*out, *a.provisional(183 if body else 180, body)]

    def _connected_leg(
        self, connect: Connect, leg: OutgoingLeg, response: Response, now: float
    ) -> list[Action]:
        """A leg answered: bridged when its answer has a codec we offered, else hung up."""
        assert leg.invite is not None
        try:
            audio = negotiate_answer(
                SessionDescription.parse(leg.invite.body), SessionDescription.parse(response.body)
            )
        except (SipParseError, NoAcceptableMedia) as exc:
            if self.answered is None:
                self.failure = CODEC_MISMATCH
                self._note_trunk(leg)
            who = leg.destination.uri if leg.destination is not None else "the party"
            warn = act.Warn(
                f"call {self.spec.record_id}: {who} answered {codecs_of(response.body)} but"
                f" was offered {codecs_of(leg.invite.body)} ({getattr(exc, 'reason', exc)}):"
                f" {CODEC_MISMATCH}, the leg is hung up"
            )
            update = connect.reject(leg, 488, now)
            return [warn, *self._connect_update(connect, update, now)]
        out = connect.won(leg)
        self.failure = None
        if not self.audio_settled:
            self.audio = audio
            self.audio_settled = True
        out.append(
            act.SetRemote(
                leg.side,
                (audio.remote_address, audio.remote_port),
                new_party=connect.name == "refer",
            )
        )
        self._note_trunk(leg)
        if leg.user_id is not None:
            self.users.add(leg.user_id)
        self.traces.append(leg.trace)
        if connect.name == "refer":
            return [*out, *self._transferred(leg)]
        if leg.side == 0:
            self.a = leg
        else:
            self.b = leg
        if leg.user_id is not None and connect.name == "b" and not self.originated:
            # The member who took the call is its user (D1: theirs as their own record);
            # a click-to-call stays the user's who clicked.
            self.user_id = leg.user_id
        out.extend(self._facts_changed())
        busy = self.busy
        self.busy = None
        if isinstance(self.a, IncomingLeg) and self.a.pending:
            out.extend(self._answer(now))
        elif self._originate_target is not None and leg.side == 0:
            # Click-to-call: the user answered; now the number.
            target = self._originate_target
            self._originate_target = None
            ref = self._ref()
            self._pending[ref] = "originate"
            self.busy = _Busy("resolve", ref)
            return [*out, act.ResolveTarget(target, ref, kind="number")]
        elif self.answered is None:
            out.extend(self._answered(now))
        if busy is not None and busy.kind == "bridge":
            out.extend(self._give(app.BridgeResult(200), now))
        elif busy is not None and busy.kind == "transfer":
            self._hand_over()
        return out

    def _connect_failed(self, connect: Connect, update: Update, now: float) -> list[Action]:
        status = update.status
        if connect.name == "refer":
            transferor = self._refer
            self._refer = None
            return transferor.notify(f"SIP/2.0 {status} Failed", active=False) if transferor else []
        if self.failure is not None:
            # A party answered and could not be bridged: the call failed; ringing on (or
            # voicemail) would hide a broken device behind a missed call.
            decision = refuse(self.failure, "the callee answered with no codec we offered")
            return self._end(
                now,
                "failed",
                self.failure,
                sip_status=488,
                headers=call_setup.sip_headers(decision),
            )
        if self.originated:
            who = "user" if connect.name == "a" else "callee"
            return self._end(now, outcome_name(status), f"{who}-{status}", sip_status=status)
        step = connect.steps[connect.step] if 0 <= connect.step < len(connect.steps) else None
        refused = step is not None and not step.failover(status)
        if refused and update.leg is not None:
            self._note_trunk(update.leg)
        self._callee_headers = _passed_headers(update.response) if refused else ()
        busy, self.busy = self.busy, None
        if busy is not None and busy.kind == "transfer":
            # The call goes on with the application, as a failed REFER leaves it.
            return self._give(app.TransferResult(status), now)
        return self._give(app.BridgeResult(status, callee_refused=refused), now)

    def _note_trunk(self, leg: Leg) -> None:
        """The trunk a call went out through, once one answered it (for the record)."""
        if self.trunk_id is None and leg.trace.get("kind") == "trunk":
            self.trunk_id = leg.trace.get("id")

    # -- SIP -------------------------------------------------------------------------------

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
                    return self._connect_update(
                        connect, connect.on_response(leg, response, now), now
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
                return self._hang_up(now, "no-ack", status="failed", sip_status=480)
            return []
        request = tx.request
        if request.method != "INVITE" or request.to.tag is not None:
            return []
        leg = self._leg_by_from(request)
        if not isinstance(leg, OutgoingLeg):
            return []
        for connect in self.connects.values():
            if connect.owns(leg):
                return self._connect_update(connect, connect.on_timeout(leg, now), now)
        return []

    def _on_cancel(self, now: float) -> list[Action]:
        a = self.a
        if not isinstance(a, IncomingLeg) or not a.pending or self.ended:
            return []
        return self._end(now, "canceled", "caller-cancel", sip_status=487)

    def _on_request(self, event: RequestReceived, now: float) -> list[Action]:
        request = event.request
        leg = self._leg_by_to(request)
        tx = event.transaction
        if leg is None or leg.dialog is None:
            return [act.SendResponse(_path(self, event), tx, _resp(event, 481))]
        if not leg.dialog.accepts(request):
            return [leg.reply(tx, 500)]
        method = request.method
        if method == "BYE":
            return self._on_bye(leg, tx, now)
        if method == "INVITE":
            return self._on_reinvite(leg, event, now)
        if method == "INFO":
            return self._on_info(leg, event, now)
        if method == "REFER":
            return self._on_refer(leg, event)
        if method in ("NOTIFY", "OPTIONS", "UPDATE"):
            return [leg.reply(tx, 200)]
        return [leg.reply(tx, 405)]

    def _other(self, leg: Leg) -> Leg | None:
        other = self.b if leg is self.a else self.a
        return other if other is not None and not other.gone else None

    def _on_bye(self, leg: Leg, tx: object, now: float) -> list[Action]:
        if leg.gone or self.ended:
            # The transferor hanging up after its REFER: the call goes on without it.
            return [leg.reply(tx, 200)]  # type: ignore[arg-type]
        leg.gone = True
        if isinstance(leg, IncomingLeg):
            leg.state = IncomingState.ENDED
        cause = "caller-bye" if leg is self.a else "callee-bye"
        status = "completed"
        if self.answered is None:
            # A call we originate: the user hung up while the other party was ringing.
            cause, status = "caller-cancel", "canceled"
        self._bye_tx = (leg, tx)
        return self._end(now, status, cause)

    def _on_reinvite(self, leg: Leg, event: RequestReceived, now: float) -> list[Action]:
        """Hold, resume or a media change: answered here, and offered to the other leg."""
        request = event.request
        tx = event.transaction
        if leg.reinvite is not None:
            return [leg.reply(tx, 491)]  # glare: ours is pending (§14.1)
        if self.sides == 1:
            # The answering machine keeps playing and recording where it does.
            return [
                leg.reply(
                    tx,
                    200,
                    body=self.local_sdp or b"",
                    content_type="application/sdp",
                    contact=True,
                )
            ]
        port = self.ports[leg.side] if leg.side < len(self.ports) else 9
        try:
            offer = SessionDescription.parse(request.body)
            answer, audio = answer_offer(
                offer,
                local_address=self.settings.advertised_host,
                local_port=port,
                session_id=self.sdp_session_ids[leg.side],
                session_version=str(leg.sdp_version + 1),
                preference=(self.audio.codec,),
            )
        except (SipParseError, NoAcceptableMedia):
            return [leg.reply(tx, 488)]
        leg.sdp_version += 1
        out: list[Action] = [
            act.SetRemote(leg.side, (audio.remote_address, audio.remote_port)),
            leg.reply(
                tx, 200, body=answer.serialize(), content_type="application/sdp", contact=True
            ),
        ]
        other = self._other(leg)
        if other is None or other.dialog is None:
            return out
        # The other party learns of the hold: we send what this leg sends (its direction).
        direction = offer.direction_for(offer.media[0]) if offer.media else "sendrecv"
        return [*out, *other.send_reinvite(self._offer(other.side, direction))]

    def _on_info(self, leg: Leg, event: RequestReceived, now: float) -> list[Action]:
        """SIP INFO (DTMF as application/dtmf-relay): passed to the other leg, and a
        digit for the application."""
        request = event.request
        out: list[Action] = [leg.reply(event.transaction, 200)]
        other = self._other(leg)
        if other is not None and other.dialog is not None:
            out.append(
                other.request(
                    "INFO",
                    body=request.body,
                    content_type=request.headers.get("Content-Type"),
                )
            )
        digit = dtmf_digit(request)
        if digit is not None and other is None:
            out.extend(self._on_digit(digit, now))
        return out

    def _on_refer(self, transferor: Leg, event: RequestReceived) -> list[Action]:
        """Blind transfer (RFC 3515): the party on the other leg is connected to Refer-To;
        the transferor hears how it went in NOTIFYs (message/sipfrag)."""
        request = event.request
        tx = event.transaction
        refer_to = request.headers.get("Refer-To")
        transferee = self._other(transferor)
        if refer_to is None or transferee is None or self.sides != 2 or self._refer is not None:
            return [transferor.reply(tx, 400 if refer_to is None else 603)]
        try:
            target = parse_name_address(refer_to, what="Refer-To").uri
        except SipParseError:
            return [transferor.reply(tx, 400)]
        self._refer = transferor
        ref = self._ref()
        self._pending[ref] = "refer"
        return [
            transferor.reply(tx, 202),
            *transferor.notify("SIP/2.0 100 Trying", active=True),
            act.ResolveTarget(str(target), ref, kind=f"refer:{transferor.side}"),
        ]

    def _on_resolved(self, event: ev.TargetResolved, now: float) -> list[Action]:
        purpose = self._pending.pop(event.ref, None)
        if purpose is None or self.ended:
            return []
        if purpose == "refer":
            transferor = self._refer
            if transferor is None:
                return []
            if event.refusal is not None:
                self._refer = None
                refusal = event.refusal
                return transferor.notify(f"SIP/2.0 {refusal.status} {refusal.reason}", active=False)
            if not event.steps:
                self._refer = None
                return transferor.notify("SIP/2.0 404 Not Found", active=False)
            return self._connect(transferor.side, event.steps, now, "refer")
        self.busy = None
        if purpose == "originate":
            if event.refusal is not None or not event.steps:
                status = event.refusal.status if event.refusal is not None else 404
                return self._end(now, outcome_name(status), f"callee-{status}")
            return self._connect(1, event.steps, now, "b")
        # An application's bridge or transfer.
        if event.refusal is not None:
            refusal = event.refusal
            return self._give(self._result(purpose, refusal.status, refusal.reason), now)
        if not event.steps:
            return self._give(self._result(purpose, 404), now)
        self.busy = _Busy(purpose)
        return self._connect(1, event.steps, now, "b")

    def _transferred(self, leg: OutgoingLeg) -> list[Action]:
        """The transferee talks to the new party: the transferor hears 200, then BYE."""
        transferor = self._refer
        self._refer = None
        if leg.side == 0:
            self.a = leg
        else:
            self.b = leg
        out: list[Action] = list(self._facts_changed())
        if transferor is not None:
            # Its part is over: its dialog ends, a BYE of its own is answered 200.
            self.retired.append(transferor)
            out.extend(transferor.notify("SIP/2.0 200 OK", active=False))
            out.extend(transferor.bye())
        return out

    # -- timers ----------------------------------------------------------------------------

    def _on_timer(self, name: str, now: float) -> list[Action]:
        if self.ended:
            return []
        if name == "ring":
            if self.busy is not None and self.busy.kind == "answer":
                self.busy = None
                return [*self._answer(now), *self._run(now)]
            return []
        if name == "max":
            return self._hang_up(now, "max-duration", status="completed", sip_status=480)
        if name.startswith("step:"):
            connect = self.connects.get(name[5:])
            if connect is None:
                return []
            return self._connect_update(connect, connect.on_step_timer(now), now)
        if name.startswith("glare:"):
            for leg in self.legs():
                if leg.glare_timer == name:
                    return leg.retry_reinvite()
            return []
        if name == "pause" and self.busy is not None and self.busy.kind == "pause":
            self.busy = None
            return self._give(app.Paused(), now)
        if name == "gather" and self.busy is not None and self.busy.kind == "gather":
            return self._gathered(now, timed_out=True)
        if name == "record" and self.busy is not None and self.busy.kind == "record":
            return self._recorded(now)
        return []

    # -- recording (V8) --------------------------------------------------------------------

    def _start_recording(self) -> list[Action]:
        """TERMS V8: both legs to one stereo WAV. Under "notice", and under "one_party"
        where a party's place wants every party's consent, both parties hear the notice
        first and nothing is recorded before it has played in full."""
        plan = self.recording
        assert plan is not None
        if plan.policy == "one_party":
            # An extension places no one: an unknown place, which wants the notice.
            parties = (
                recording_policy.Party(self.spec.from_number),
                recording_policy.Party(self.spec.to_number),
            )
            if recording_policy.recording(parties, notice_played=False).allowed:
                return self._record_now()
        self.notice_ref = self._ref()
        return [act.Play((0, 1), plan.notice, self.notice_ref, beep=False)]

    def _record_now(self) -> list[Action]:
        plan = self.recording
        if plan is None or self.ended:
            return []  # a party objected during the notice
        self.recording_path = plan.path
        return [act.StartRecording(plan.path, self.audio, self.facts())]

    def _facts_changed(self) -> list[Action]:
        """A leg, the trunk or the user of a recorded call changed: its note says so now
        (D5: an interrupted call's record says what the finished one would)."""
        if self.recording_path is None or self.ended:
            return []
        return [act.NoteFacts(self.facts())]

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
    def recorded(self) -> bool:
        """Whether a party may still object (the call records, or will after the notice)."""
        return self.recording is not None and not self.ended

    # -- ending ----------------------------------------------------------------------------

    def _hang_up(self, now: float, cause: str, *, status: str, sip_status: int) -> list[Action]:
        """End the call from our side: a caller not answered yet gets ``sip_status``;
        an answered call's record is written, then BYE to every party."""
        if self.ended:
            return []
        if self.answered is None:
            if isinstance(self.a, IncomingLeg) and self.a.pending:
                headers = self._callee_headers
                if cause == "shutdown":
                    # As before the core: the answering machine said "failed", the
                    # bridge the status the caller was given.
                    status = "failed" if self.sides == 1 else outcome_name(sip_status)
                return self._end(now, status, cause, sip_status=sip_status, headers=headers)
            # Click-to-call before the number answered: the user's device gets BYE.
            return self._end(now, outcome_name(sip_status), cause)
        return self._end(now, status, cause)

    def _end(
        self,
        now: float,
        status: str,
        cause: str,
        *,
        sip_status: int | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> list[Action]:
        """Stop everything and write the record; what the parties hear after that waits
        for ``RecordWritten`` (the record is committed before the 200 to a BYE)."""
        if self.ended:
            return []
        out: list[Action] = []
        a = self.a
        if sip_status is not None and isinstance(a, IncomingLeg) and a.pending:
            out.extend(a.refuse(sip_status, headers))
        for connect in self.connects.values():
            out.extend(connect.cancel())
        for name in ("ring", "max", "pause", "gather", "record"):
            out.append(act.CancelTimer(name))
        answered = self.answered is not None
        if self.state is not CallState.SETTING_UP or self.busy is not None:
            out.append(act.CloseMedia(discard_recording=not answered))
        self.state = CallState.ENDING
        self.busy = None
        self.queue.clear()
        recording: str | None = None
        if answered:
            recording = self.record_path if self.sides == 1 else self.recording_path
        ended = self.wall(now)
        record = self.facts(
            ended_at=ended, status=status, hangup_cause=cause, recording_path=recording
        )
        if self.voicemail is None or recording is None:
            record = replace(record, voicemail=None)
        self._record_ref = self._ref()
        out.append(act.WriteRecord(record, self._record_ref))
        # Once written: the BYE's answer, then our BYEs to the other parties.
        after: list[Action] = []
        for leg in (self.a, self.b):
            if leg is not None and not leg.gone:
                after.extend(leg.hang_up() if isinstance(leg, OutgoingLeg) else leg.bye())
        self._after_record = after
        # The application hears of it; nothing it asks for can run on an ending call.
        self.application.on_event(app.FarEndHungUp())
        return out

    def _vanish(self, *, sip_status: int | None = None) -> list[Action]:
        """End without a record (a refusal before anything was set up, or a caller
        handed over to what writes the record instead)."""
        out: list[Action] = []
        a = self.a
        if sip_status is not None and isinstance(a, IncomingLeg) and a.pending:
            out.extend(a.refuse(sip_status))
        for connect in self.connects.values():
            out.extend(connect.cancel())
        for name in ("ring", "max", "pause", "gather", "record"):
            out.append(act.CancelTimer(name))
        if self.state is not CallState.SETTING_UP:
            out.append(act.CloseMedia(discard_recording=True))
        self.state = CallState.ENDED
        self.busy = None
        self.queue.clear()
        out.append(act.CallEnded(self.spec.record_id))
        return out

    def _on_redirected(self, event: ev.Redirected, now: float) -> list[Action]:
        busy = self.busy
        if busy is None or busy.kind != "redirect" or busy.ref != event.ref or self.ended:
            return []
        self.busy = None
        if event.taken:
            return self._vanish()
        status = self._redirect_status
        return self._hang_up(
            now, f"no-answer-{status}", status=outcome_name(status), sip_status=status
        )

    def _on_record_written(self, event: ev.RecordWritten) -> list[Action]:
        if event.ref != self._record_ref or self.state is not CallState.ENDING:
            return []
        self.state = CallState.ENDED
        out: list[Action] = []
        if self._bye_tx is not None:
            leg, tx = self._bye_tx
            # The record could not be committed: the hang-up is not acknowledged as done.
            out.append(leg.reply(tx, 200 if event.ok else 500))  # type: ignore[arg-type]
        out.extend(self._after_record)
        self._after_record = []
        out.append(act.CallEnded(self.spec.record_id))
        return out


class _Idle:
    """The application of a call that needs none (click-to-call)."""

    def on_event(self, event: app.AppEvent) -> Sequence[app.Command]:
        return []


def codecs_of(body: bytes) -> str:
    """The audio codecs an SDP body lists, for a log line ("PCMU", "PCMA, PCMU")."""
    try:
        sdp = SessionDescription.parse(body)
    except SipParseError:
        return "an unreadable SDP"
    names = [
        rtpmap.encoding
        for media in sdp.media
        if media.media == "audio"
        for rtpmap in media.rtpmaps().values()
        if rtpmap.encoding.lower() != "telephone-event"
    ]
    return ", ".join(dict.fromkeys(names)) or "no audio codec"


def _passed_headers(response: Response | None) -> tuple[tuple[str, str], ...]:
    """A callee's refusal goes back to the caller with why (Reason, Warning, Retry-After)."""
    if response is None:
        return ()
    return tuple(
        (name, value)
        for name, value in response.headers
        if name in ("Reason", "Warning", "Retry-After")
    )


def _resp(event: RequestReceived, status: int) -> Response:
    return make_response(event.request, status)


def _path(call: Call, event: RequestReceived) -> SignallingPath:
    leg = call.a or call.b
    assert leg is not None
    return leg.path


__all__ = ["Address", "Call", "CallSpec", "CallState", "RecordingPlan"]
