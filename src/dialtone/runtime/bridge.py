"""The B2BUA: one call between two parties, each on its own SIP dialog with us.

Leg A is the INVITE we received; leg B the INVITE we send, to a user's registered devices
(all at once), to the members of a ring group (at once or one after the other) or to a
carrier trunk (one after the other: failover on 408, 5xx or no answer, never on 486 or
603). The media goes through our relay (``runtime.relay``); the two legs never see each
other's addresses. In-dialog requests are answered on their own leg and carried to the
other: BYE, re-INVITE (hold/resume: a sendonly or inactive offer), INFO (DTMF), and REFER
(blind transfer, RFC 3515: the referred party replaces the transferor on its side).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialtone.policy import call_setup
from dialtone.policy import recording as recording_policy
from dialtone.policy.decision import refuse
from dialtone.services.ids import new_id
from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony.greetings import recording_notice_path
from dialtone.sip.dialog import Dialog
from dialtone.sip.digest import DigestError, authorization
from dialtone.sip.endpoint import AckReceived, CancelReceived, RequestReceived, StraySuccess
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import NameAddress, parse_name_address
from dialtone.sip.message import Request, Response, make_request, make_response
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
    cancel_for,
)
from dialtone.sip.uri import Uri

from .cdr_writer import CdrWriter
from .media import PortsExhausted, RtpPortPool
from .prompts import encoded_prompt
from .relay import MediaRelay, open_relay
from .sealing import CallFacts, forget_facts, recording_file, sync_recording
from .tasks import TaskSet
from .transports import SipChannel

log = logging.getLogger("dialtone.bridge")

Address = tuple[str, int]
Trace = dict[str, str | None]

# A party answered with no codec (or no audio stream) we offered: nothing can be relayed.
CODEC_MISMATCH = "media.codec_mismatch"


def trunk_failover(status: int) -> bool:
    """Whether a trunk's final answer moves on to the next trunk (408, 5xx, timeout), or
    goes back to the caller (486 Busy, 603 Decline and every other refusal)."""
    return status == 408 or 500 <= status < 600


def ring_failover(status: int) -> bool:
    """Ringing devices: any failure moves on (busy and no answer go to the next step or
    to voicemail)."""
    return True


class TransferRefused(Exception):
    """A REFER's target may not be called (a terms refusal): the transferor's NOTIFY
    carries ``status`` and ``reason`` (a reason code) and the call goes on as it was."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RecordingSetup:
    """How an account records its bridged calls (TERMS V8): where the files go, and its
    policy, "notice" (the notice plays first) or "one_party" (no notice where the law of
    every party's place lets one party consent, the notice elsewhere)."""

    directory: Path
    policy: str


@dataclass(frozen=True, slots=True)
class Credentials:
    """What we answer a carrier's digest challenge with."""

    username: str
    password: str = field(repr=False)  # never in a log line


@dataclass(frozen=True, slots=True)
class Destination:
    """One device or trunk a B leg rings."""

    uri: Uri
    channel: SipChannel
    peer: Address
    to: NameAddress
    caller: NameAddress
    trace: Trace
    user_id: str | None = None
    credentials: Credentials | None = None
    # Headers the INVITE carries besides the usual ones (Referred-By for a transfer).
    extra_headers: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Step:
    """Destinations rung together, for ``timeout`` seconds (None: until they answer)."""

    destinations: list[Destination]
    timeout: float | None
    failover: Callable[[int], bool] = ring_failover


@dataclass(eq=False, slots=True)
class Leg:
    """One side of a bridged call: our dialog with one party."""

    call: BridgedCall
    channel: SipChannel
    peer: Address
    side: int  # the relay socket facing this party
    trace: Trace
    call_id: str
    local_tag: str
    dialog: Dialog | None = None
    server_tx: InviteServerTransaction | None = None
    invite: Request | None = None
    destination: Destination | None = None
    auth_tried: bool = False
    answered: bool = False
    canceled: bool = False
    gone: bool = False  # BYE sent or received, or transferred away
    sdp_version: int = 1
    user_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(Call-ID, our tag): how in-dialog requests and responses find the leg."""
        return (self.call_id, self.local_tag)


@dataclass(eq=False, slots=True)
class BridgedCall:
    """A call we carry between leg A and whichever B leg answers."""

    record_id: str
    account_id: str
    direction: str
    from_number: str
    to_number: str
    started_at: datetime
    a: Leg | None
    # The caller's INVITE; None for a call we originate (click-to-call), whose A leg is
    # one we dial ourselves.
    a_request: Request | None
    a_event: RequestReceived | None
    relay: MediaRelay
    audio: NegotiatedAudio
    steps: list[Step]
    # Voicemail when every step failed: told the last status and the call (its start
    # and leg chain go on the voicemail's record); False when there is none.
    fallback: Callable[[int, BridgedCall], Awaitable[bool]] | None = None
    step: int = -1
    ringing: list[Leg] = field(default_factory=list)
    b: Leg | None = None
    answered_at: datetime | None = None
    ended: bool = False
    last_status: int = 480
    ringing_sent: bool = False
    timer: asyncio.TimerHandle | None = None
    users: set[str] = field(default_factory=set)
    trunk_id: str | None = None
    user_id: str | None = None
    # The user whose device placed the call (or who clicked to call): on the record
    # beside ``user_id``, so both parties of a call between colleagues reach it (D1).
    caller_user_id: str | None = None
    traces: list[Trace] = field(default_factory=list)
    recording_path: str | None = None
    # Set when the account records its calls (TERMS V8); None again once a party objects.
    record: RecordingSetup | None = None
    # False until the codec is agreed: a call we originate offers every codec we have.
    audio_settled: bool = True
    on_end: Callable[[BridgedCall], None] | None = None
    a_offer: SessionDescription | None = None  # A's INVITE SDP, parsed once
    # The reason code that ends the call as failed before it is answered (a party
    # answered with a codec we did not offer); None while nothing has failed.
    failure: str | None = None


@dataclass(slots=True)
class BridgeConfig:
    """What the bridge needs from the settings."""

    advertised_host: str
    rtp_host: str
    codecs: tuple[str, ...] = ("PCMA", "PCMU")
    max_call_seconds: float = 3600.0
    # TERMS D5: recordings are sealed with this key as they are written (None: plain WAV).
    recording_key: bytes | None = None


class Bridge:
    """Sets up, carries and tears down bridged calls."""

    def __init__(
        self,
        *,
        config: BridgeConfig,
        rtp_ports: RtpPortPool,
        cdrs: CdrWriter,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.rtp_ports = rtp_ports
        self.cdrs = cdrs
        self.now = wallclock
        self.legs: dict[tuple[str, str], Leg] = {}
        self.by_invite: dict[int, BridgedCall] = {}
        self.calls: set[BridgedCall] = set()
        self.background = TaskSet(log, "bridge")
        # Legs dialed for a blind transfer: the future the REFER waits on, and the side.
        self._transfers: dict[tuple[str, str], asyncio.Future[int]] = {}
        # How an account's calls are recorded, or None when it does not record (V8).
        self.recording_dir_for: Callable[[str], Awaitable[RecordingSetup | None]] | None = None
        # Resolves a REFER target to the steps that reach it (set by the engine).
        self.resolve_transfer: Callable[[BridgedCall, Leg, Uri], Awaitable[list[Step]]] | None = (
            None
        )

    # -- plumbing ---------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.background.spawn(coro)

    def _respond(self, leg_channel: SipChannel, tx: object, response: Response) -> None:
        endpoint = leg_channel.endpoint
        try:
            leg_channel.dispatch(endpoint.respond(tx, response, self.loop.time()))  # type: ignore[arg-type]
        except ValueError as exc:
            log.debug("response not sent: %s", exc)

    def _send(self, channel: SipChannel, request: Request, peer: Address) -> None:
        channel.dispatch(channel.endpoint.send_request(request, peer, self.loop.time()))

    def _contact(self, channel: SipChannel) -> str:
        return f"<{channel.contact_uri()}>"

    def active_calls_of(self, user_id: str) -> int:
        """Calls in progress (ringing or answered) the user takes part in (TERMS V2)."""
        return sum(1 for call in self.calls if user_id in call.users and not call.ended)

    def owns(self, call_id: str, tag: str | None) -> bool:
        """Whether an in-dialog message with this Call-ID and tag belongs to a leg."""
        return (call_id, tag or "") in self.legs

    def owns_invite(self, tx: object) -> bool:
        """Whether a pending INVITE server transaction is one of our A legs."""
        return id(tx) in self.by_invite

    # -- starting a call -------------------------------------------------------------------

    async def start(
        self,
        event: RequestReceived,
        channel: SipChannel,
        *,
        account_id: str,
        direction: str,
        from_number: str,
        to_number: str,
        steps: list[Step],
        a_trace: Trace,
        fallback: Callable[[int, BridgedCall], Awaitable[bool]] | None = None,
        users: set[str] | None = None,
        user_id: str | None = None,
        trunk_id: str | None = None,
        caller_user_id: str | None = None,
    ) -> None:
        """Ring ``steps`` for the INVITE in ``event``; answer A when a B leg answers.
        ``caller_user_id``: the user whose device placed the call (None from outside)."""
        request = event.request
        tx = event.transaction
        assert isinstance(tx, InviteServerTransaction)
        try:
            offer = SessionDescription.parse(request.body)
            _, audio = answer_offer(
                offer,
                local_address=self.config.advertised_host,
                local_port=9,
                session_id="0",
                preference=self.config.codecs,
            )
        except (SipParseError, NoAcceptableMedia) as exc:
            reason = getattr(exc, "reason", str(exc))
            log.info("INVITE %s: no acceptable media (%s) -> 488", request.call_id, reason)
            self._respond(
                channel, tx, make_response(request, 488, to_tag=channel.endpoint.new_tag())
            )
            return
        try:
            relay = await open_relay(self.rtp_ports, self.config.rtp_host)
        except PortsExhausted:
            log.warning("INVITE %s: RTP ports exhausted -> 503", request.call_id)
            self._respond(
                channel, tx, make_response(request, 503, to_tag=channel.endpoint.new_tag())
            )
            return
        relay.a.set_remote((audio.remote_address, audio.remote_port))
        record = None
        if self.recording_dir_for is not None:
            try:
                record = await self.recording_dir_for(account_id)
            except Exception:
                # Not knowing whether to record must not cost the call: it goes unrecorded.
                log.exception("INVITE %s: recording policy unreadable", request.call_id)
        call = BridgedCall(
            record_id=new_id("CA"),
            account_id=account_id,
            direction=direction,
            from_number=from_number,
            to_number=to_number,
            started_at=self.now(),
            a=None,
            a_request=request,
            a_offer=offer,
            a_event=event,
            relay=relay,
            audio=audio,
            steps=steps,
            fallback=fallback,
            users=set(users or ()),
            user_id=user_id,
            caller_user_id=caller_user_id,
            trunk_id=trunk_id,
            traces=[a_trace],
            record=record,
        )
        call.a = Leg(
            call=call,
            channel=channel,
            peer=event.source,
            side=0,
            trace=a_trace,
            call_id=request.call_id,
            local_tag=channel.endpoint.new_tag(),
            server_tx=tx,
            # The calling user (a device's call), not the call's user_id (the callee's,
            # for a call between colleagues).
            user_id=next(iter(sorted(users or ())), None),
        )
        self.legs[call.a.key] = call.a
        self.by_invite[id(tx)] = call
        self.calls.add(call)
        if tx.last_status is not None and tx.last_status >= 200:
            await self._end_unanswered(call, 487, "caller-cancel", status="canceled")
            return
        self._next_step(call)

    def _next_step(self, call: BridgedCall) -> None:
        if call.ended:
            return
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        if call.failure is not None:
            # A device answered and could not be bridged: the call has failed; ringing
            # further (or voicemail) would hide a broken device behind a missed call.
            self._spawn(self._end_failed(call))
            return
        call.step += 1
        if call.step >= len(call.steps):
            self._spawn(self._no_answer(call))
            return
        step = call.steps[call.step]
        if not step.destinations:
            self._next_step(call)
            return
        for destination in step.destinations:
            self._dial(call, destination)
        if step.timeout is not None:
            call.timer = self.loop.call_later(step.timeout, self._step_timeout, call, call.step)

    def _dial(self, call: BridgedCall, destination: Destination) -> None:
        channel = destination.channel
        endpoint = channel.endpoint
        leg = Leg(
            call=call,
            channel=channel,
            peer=destination.peer,
            side=1,
            trace=destination.trace,
            call_id=f"{secrets.token_hex(12)}@dialtone",
            local_tag=endpoint.new_tag(),
            destination=destination,
            user_id=destination.user_id,
        )
        if destination.user_id is not None:
            call.users.add(destination.user_id)
        offer = self._offer(call, leg, direction="sendrecv")
        leg.invite = make_request(
            "INVITE",
            destination.uri,
            via=endpoint.via(),
            from_=destination.caller.with_tag(leg.local_tag),
            to=destination.to,
            call_id=leg.call_id,
            cseq=1,
            contact=self._contact(channel),
            extra_headers=(
                ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY"),
                *destination.extra_headers,
            ),
            body=offer,
            content_type="application/sdp",
        )
        self.legs[leg.key] = leg
        call.ringing.append(leg)
        log.info(
            "call %s: ringing %s via %s %s:%d",
            call.record_id,
            destination.uri,
            channel.name,
            *destination.peer,
        )
        self._send(channel, leg.invite, destination.peer)

    def _offer(self, call: BridgedCall, leg: Leg, *, direction: str) -> bytes:
        audio = call.audio
        leg.sdp_version += 1
        return build_offer(
            local_address=self.config.advertised_host,
            local_port=call.relay.sides[leg.side].port,
            session_id=str(abs(hash(leg.key)) % 2**31),
            session_version=str(leg.sdp_version),
            codecs=(audio.codec,) if call.audio_settled else self.config.codecs,
            telephone_event=audio.telephone_event_payload_type,
            direction=direction,
        ).serialize()

    def _step_timeout(self, call: BridgedCall, step: int) -> None:
        if call.ended or call.b is not None or call.step != step:
            return
        log.info("call %s: no answer in step %d", call.record_id, step + 1)
        call.last_status = 480
        for leg in list(call.ringing):
            self._cancel_leg(leg)
        self._next_step(call)

    def _cancel_leg(self, leg: Leg) -> None:
        """CANCEL a ringing B leg (the 487 that follows is absorbed)."""
        if leg.canceled or leg.answered or leg.invite is None:
            return
        leg.canceled = True
        if leg in leg.call.ringing:
            leg.call.ringing.remove(leg)
        self._send(leg.channel, cancel_for(leg.invite), leg.peer)

    async def _no_answer(self, call: BridgedCall) -> None:
        """Every step failed: voicemail when the route has one, else the failure to A."""
        if call.ended:
            return
        status = call.last_status
        if call.fallback is not None:
            self._release(call)
            call.ended = True
            self.calls.discard(call)
            if await call.fallback(status, call):
                return
        await self._end_unanswered(call, status, f"no-answer-{status}")

    # -- events ------------------------------------------------------------------------

    def on_response(self, event: ResponseReceived) -> None:
        """A response to one of our requests on a leg."""
        request = event.transaction.request
        leg = self.legs.get((request.call_id, request.from_.tag or ""))
        if leg is None:
            return
        response = event.response
        method = request.method
        if method == "INVITE" and request.to.tag is None:
            self._on_b_invite_response(leg, response)
        elif method == "INVITE" and 200 <= response.status < 300 and leg.dialog is not None:
            # The 2xx to a re-INVITE (hold, transfer media): acknowledge it.
            leg.dialog.update_target(response)
            ack = leg.dialog.ack(request.cseq.number, via=leg.channel.endpoint.via())
            self._send(leg.channel, ack, leg.peer)

    def on_stray_success(self, event: StraySuccess, channel: SipChannel) -> None:
        """A retransmitted 2xx after its transaction ended: ACK it again (§13.2.2.4)."""
        response = event.response
        leg = self.legs.get((response.call_id, response.from_.tag or ""))
        if leg is None or leg.dialog is None:
            return
        ack = leg.dialog.ack(response.cseq.number, via=channel.endpoint.via())
        self._send(channel, ack, leg.peer)

    def on_timeout(self, event: TransactionTimedOut) -> bool:
        """A transaction of ours timed out; True when it belonged to the bridge."""
        tx = event.transaction
        request = getattr(tx, "request", None)
        if request is None:
            return False
        if isinstance(tx, InviteServerTransaction):
            call = self.by_invite.get(id(tx))
            if call is not None and call.answered_at is not None and not call.ended:
                log.warning("call %s: no ACK from the caller -> BYE", call.record_id)
                self._spawn(self._hang_up(call, call.a, "no-ack"))
            return call is not None
        leg = self.legs.get((request.call_id, request.from_.tag or ""))
        if leg is None:
            return False
        if request.method == "INVITE" and request.to.tag is None:
            if leg.key in self._transfers:
                self._on_connect_failure(leg, 408)
            else:
                self._on_b_failure(leg, 408)
        return True

    def _on_b_invite_response(self, leg: Leg, response: Response) -> None:
        if leg.key in self._transfers:
            self._on_transfer_response(leg, response)
            return
        call = leg.call
        status = response.status
        if status < 200:
            if status == 100 or call.ended:
                return
            self._provisional_to_a(leg, response)
            return
        if status < 300:
            self._on_b_answer(leg, response)
            return
        if status in (401, 407) and not leg.auth_tried and self._authenticate(leg, response):
            return
        self._on_b_failure(leg, status, response)

    def _provisional_to_a(self, leg: Leg, response: Response) -> None:
        call = leg.call
        a = call.a
        if a is None or a.server_tx is None or call.answered_at is not None:
            return
        body = b""
        if response.status == 183 and response.body and leg.invite is not None:
            # Early media (announcements, ringback from the carrier): relay it now.
            try:
                early: NegotiatedAudio | None = negotiate_answer(
                    SessionDescription.parse(leg.invite.body),
                    SessionDescription.parse(response.body),
                )
            except (SipParseError, NoAcceptableMedia):
                early = None
            if early is not None:
                call.relay.b.set_remote((early.remote_address, early.remote_port))
                body = self._answer_a(call)
        if call.ringing_sent and not body:
            return
        call.ringing_sent = True
        status = 183 if body else 180
        reply = make_response(
            a.server_tx.request,
            status,
            to_tag=a.local_tag,
            body=body,
            content_type="application/sdp" if body else None,
            extra_headers=(("Contact", self._contact(a.channel)),),
        )
        self._respond(a.channel, a.server_tx, reply)

    def _answer_a(self, call: BridgedCall) -> bytes:
        a = call.a
        assert a is not None
        assert call.a_request is not None
        offer = call.a_offer or SessionDescription.parse(call.a_request.body)
        answer, _ = answer_offer(
            offer,
            local_address=self.config.advertised_host,
            local_port=call.relay.a.port,
            session_id=str(abs(hash(a.key)) % 2**31),
            preference=(call.audio.codec,),
        )
        return answer.serialize()

    def _on_b_answer(self, leg: Leg, response: Response) -> None:
        call = leg.call
        if leg.dialog is None:
            try:
                assert leg.invite is not None
                leg.dialog = Dialog.from_response(leg.invite, response)
            except SipParseError as exc:
                log.info("call %s: unusable 2xx from %s (%s)", call.record_id, leg.peer, exc)
                return
        # Every 2xx is acknowledged, a retransmission as much as the first (§13.2.2.4).
        assert leg.invite is not None
        ack = leg.dialog.ack(leg.invite.cseq.number, via=leg.channel.endpoint.via())
        self._send(leg.channel, ack, leg.peer)
        if leg.answered:
            return
        if call.ended or call.b is not None or leg.canceled:
            # A second device answered after the first, or the caller left: hang it up.
            leg.answered = True
            self._bye(leg)
            return
        try:
            offer = SessionDescription.parse(leg.invite.body)
            audio = negotiate_answer(offer, SessionDescription.parse(response.body))
        except (SipParseError, NoAcceptableMedia) as exc:
            self._log_mismatch(call, leg, response, exc)
            leg.answered = True
            self._bye(leg)
            call.failure = CODEC_MISMATCH
            self._on_b_failure(leg, 488)
            return
        leg.answered = True
        call.failure = None
        self._note_trunk(call, leg)
        if leg.user_id is not None:
            # The user who took the call is its user (a ring group's member: D1, the
            # member reaches the record as their own).
            call.user_id = leg.user_id
        call.b = leg
        self._facts_changed(call)
        if leg in call.ringing:
            call.ringing.remove(leg)
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        for other in list(call.ringing):
            self._cancel_leg(other)
        call.relay.b.set_remote((audio.remote_address, audio.remote_port))
        call.traces.append(leg.trace)
        a = call.a
        assert a is not None
        assert a.server_tx is not None
        assert call.a_request is not None
        body = self._answer_a(call)
        ok = make_response(
            call.a_request,
            200,
            to_tag=a.local_tag,
            body=body,
            content_type="application/sdp",
            extra_headers=(
                ("Contact", self._contact(a.channel)),
                ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY"),
            ),
        )
        a.dialog = Dialog.from_invite(call.a_request, ok, local_seq=secrets.randbelow(2**20) + 1)
        a.answered = True
        call.answered_at = self.now()
        self._respond(a.channel, a.server_tx, ok)
        self._connected(call)

    def _connected(self, call: BridgedCall) -> None:
        """Both parties are talking: bound the call's length, start recording (V8)."""
        call.timer = self.loop.call_later(self.config.max_call_seconds, self._max_duration, call)
        if call.record is not None:
            self._record(call, call.record)
        log.info(
            "call %s answered: %s -> %s (%s, relay %d<->%d)",
            call.record_id,
            call.from_number,
            call.to_number,
            call.audio.codec,
            call.relay.a.port,
            call.relay.b.port,
        )

    def _record(self, call: BridgedCall, setup: RecordingSetup) -> None:
        """TERMS V8: both legs are recorded to one stereo WAV (left the caller, right the
        callee); the CDR points at the file. Under "notice", and under "one_party" where a
        party's place wants every party's consent, both parties hear the notice first and
        nothing is recorded before it has played in full."""
        audio = call.audio
        key = self.config.recording_key
        path = recording_file(setup.directory, call.record_id, key)
        call.recording_path = str(path)
        if setup.policy == "one_party":
            # The parties are placed by the call's two numbers. An extension (a call
            # between the account's own users, or a click-to-call to a colleague) places
            # no one: a user may sit in an all-party state or country as well as anyone
            # else, and being the customer's user is no consent in law, so it counts as
            # an unknown place, which wants the notice (needs_all_parties(None)).
            parties = (
                recording_policy.Party(call.from_number),
                recording_policy.Party(call.to_number),
            )
            decision = recording_policy.recording(parties, notice_played=False)
            if decision.allowed:
                log.info("call %s: recorded on one party's consent", call.record_id)
                call.relay.start_recording(
                    path, audio.codec, audio.payload_type, key=key, facts=_facts(call)
                )
                return
            log.info("call %s: %s -> the notice plays first", call.record_id, decision.message)
        notice = encoded_prompt(recording_notice_path(), audio.codec, beep=False)
        player = call.relay.play_to_both(notice, audio.codec, audio.payload_type)

        def start(task: asyncio.Task[None]) -> None:
            if call.relay.closed or task.cancelled() or call.record is None:
                return  # the call ended, or a party objected during the notice
            call.relay.start_recording(
                path, audio.codec, audio.payload_type, key=key, facts=_facts(call)
            )

        player.add_done_callback(start)

    @staticmethod
    def live_view(call: BridgedCall) -> call_service.LiveCall:
        """What the API shows of a call in progress (its record does not exist yet)."""
        return call_service.LiveCall(
            id=call.record_id,
            account_id=call.account_id,
            direction=call.direction,
            from_number=call.from_number,
            to_number=call.to_number,
            status="ringing" if call.answered_at is None else "in-progress",
            started_at=call.started_at,
            answered_at=call.answered_at,
            sip_call_id=_sip_call_id(call),
            user_id=call.user_id,
            caller_user_id=call.caller_user_id,
            trunk_id=call.trunk_id,
            legs=tuple(dict(trace) for trace in call.traces),
        )

    def live_call(self, record_id: str) -> BridgedCall | None:
        """The call in progress (ringing or answered) with this id."""
        return next((c for c in self.calls if c.record_id == record_id and not c.ended), None)

    def stop_recording(self, call: BridgedCall) -> bool:
        """TERMS V8, a party objects: nothing more of the call is recorded, the part
        recorded so far is deleted (the objection withdraws consent) and the CDR will
        have no recording. A call still ringing or hearing the notice is never recorded.
        False when the call is not being recorded (or a party already objected)."""
        if call.ended or call.record is None:
            return False
        call.record = None
        call.recording_path = None
        call.relay.stop_recording(discard=True)
        log.info("call %s: a party objected; the recording is stopped and deleted", call.record_id)
        return True

    def _on_b_failure(self, leg: Leg, status: int, response: Response | None = None) -> None:
        call = leg.call
        self.legs.pop(leg.key, None)
        if leg in call.ringing:
            call.ringing.remove(leg)
        if leg.canceled or call.ended or call.b is not None:
            return
        if response is not None and status != 487 and leg.trace.get("kind") == "device":
            # A phone that declined (603) or was busy (486) is part of the call's chain
            # (V11), with its answer, even when voicemail takes the call afterwards.
            call.traces.append({**leg.trace, "status": str(status)})
        log.info(
            "call %s: %s answered %d",
            call.record_id,
            leg.destination and leg.destination.uri,
            status,
        )
        step = call.steps[call.step]
        if call.ringing:
            call.last_status = _merge_status(call.last_status, status)
            return  # other destinations of this step still ring
        call.last_status = status
        if call.failure is not None:
            self._spawn(self._end_failed(call))
            return
        if not step.failover(status):
            self._note_trunk(call, leg)
            self._spawn(self._end_unanswered(call, status, f"callee-{status}", response=response))
            return
        self._next_step(call)

    def _authenticate(self, leg: Leg, response: Response) -> bool:
        """Answer a carrier's 401/407 with its credentials: the INVITE again, CSeq + 1."""
        destination = leg.destination
        if destination is None or destination.credentials is None or leg.invite is None:
            return False
        header = "Proxy-Authenticate" if response.status == 407 else "WWW-Authenticate"
        challenge_value = response.headers.get(header)
        if challenge_value is None:
            return False
        try:
            value = authorization(
                challenge_value,
                method="INVITE",
                uri=str(leg.invite.uri),
                username=destination.credentials.username,
                password=destination.credentials.password,
                cnonce=secrets.token_hex(8),
            )
        except DigestError as exc:
            log.info("cannot answer the trunk's challenge: %s", exc)
            return False
        leg.auth_tried = True
        old = leg.invite
        invite = make_request(
            "INVITE",
            old.uri,
            via=leg.channel.endpoint.via(),
            from_=old.from_,
            to=old.to,
            call_id=old.call_id,
            cseq=old.cseq.number + 1,
            contact=old.headers.get("Contact"),
            extra_headers=(
                ("Allow", old.headers.get("Allow") or "INVITE, ACK, BYE, CANCEL"),
                ("Proxy-Authorization" if response.status == 407 else "Authorization", value),
            ),
            body=old.body,
            content_type="application/sdp",
        )
        leg.invite = invite
        self._send(leg.channel, invite, leg.peer)
        return True

    # -- in-dialog requests ---------------------------------------------------------------

    def on_request(self, event: RequestReceived, channel: SipChannel) -> None:
        """A request inside one of our dialogs."""
        request = event.request
        leg = self.legs.get((request.call_id, request.to.tag or ""))
        if leg is None or leg.dialog is None:
            self._respond(channel, event.transaction, make_response(request, 481))
            return
        if not leg.dialog.accepts(request):
            self._respond(channel, event.transaction, make_response(request, 500))
            return
        method = request.method
        if method == "BYE":
            self._spawn(self._on_bye(leg, event))
        elif method == "INVITE":
            self._on_reinvite(leg, event)
        elif method == "INFO":
            self._relay_info(leg, event)
        elif method == "REFER":
            self._spawn(self._on_refer(leg, event))
        elif method in ("NOTIFY", "OPTIONS", "UPDATE"):
            self._respond(channel, event.transaction, make_response(request, 200))
        else:
            self._respond(channel, event.transaction, make_response(request, 405))

    def on_ack(self, event: AckReceived) -> None:
        """The caller's ACK for our 200: A's dialog is confirmed."""
        leg = self.legs.get((event.request.call_id, event.request.to.tag or ""))
        if leg is not None and leg.dialog is not None:
            leg.dialog.confirmed = True

    def on_cancel(self, event: CancelReceived, channel: SipChannel) -> None:
        """The caller gave up while the call was ringing."""
        call = self.by_invite.get(id(event.invite))
        if call is None or call.answered_at is not None:
            return
        for leg in list(call.ringing):
            self._cancel_leg(leg)
        self._spawn(self._end_unanswered(call, 487, "caller-cancel", status="canceled"))

    def _other(self, leg: Leg) -> Leg | None:
        call = leg.call
        other = call.b if leg is call.a else call.a
        return other if other is not None and not other.gone else None

    async def _on_bye(self, leg: Leg, event: RequestReceived) -> None:
        call = leg.call
        if leg.gone:
            # The transferor hanging up after its REFER: the call goes on without it.
            self._respond(leg.channel, event.transaction, make_response(event.request, 200))
            self.legs.pop(leg.key, None)
            return
        leg.gone = True
        other = self._other(leg)
        cause = "caller-bye" if leg is call.a else "callee-bye"
        status = "completed"
        if call.answered_at is None:
            # A call we originate: the user hung up while the other party was ringing.
            self._cancel_pending(call=call)
            cause, status = "caller-cancel", "canceled"
        try:
            await self._finish(call, cause, status=status)
        except Exception:
            log.exception("call %s: CDR not written; answering BYE 500", call.record_id)
            self._respond(leg.channel, event.transaction, make_response(event.request, 500))
            return
        self._respond(leg.channel, event.transaction, make_response(event.request, 200))
        if other is not None:
            self._bye(other)

    def _bye(self, leg: Leg) -> None:
        if leg.dialog is None:
            return
        leg.gone = True
        bye = leg.dialog.create_request("BYE", via=leg.channel.endpoint.via())
        self._send(leg.channel, bye, leg.peer)
        self.legs.pop(leg.key, None)

    def _on_reinvite(self, leg: Leg, event: RequestReceived) -> None:
        """Hold, resume or a media change: answered here, and offered to the other leg."""
        call = leg.call
        request = event.request
        side = call.relay.sides[leg.side]
        try:
            offer = SessionDescription.parse(request.body)
            answer, audio = answer_offer(
                offer,
                local_address=self.config.advertised_host,
                local_port=side.port,
                session_id=str(abs(hash(leg.key)) % 2**31),
                session_version=str(leg.sdp_version + 1),
                preference=(call.audio.codec,),
            )
        except (SipParseError, NoAcceptableMedia) as exc:
            log.info("call %s: re-INVITE refused (%s)", call.record_id, exc)
            self._respond(leg.channel, event.transaction, make_response(request, 488))
            return
        leg.sdp_version += 1
        side.set_remote((audio.remote_address, audio.remote_port))
        ok = make_response(
            request,
            200,
            body=answer.serialize(),
            content_type="application/sdp",
            extra_headers=(("Contact", self._contact(leg.channel)),),
        )
        self._respond(leg.channel, event.transaction, ok)
        other = self._other(leg)
        if other is None or other.dialog is None:
            return
        # The other party learns of the hold: we send what this leg sends (its direction).
        direction = offer.direction_for(offer.media[0]) if offer.media else "sendrecv"
        log.info("call %s: %s from one leg, re-offered to the other", call.record_id, direction)
        reoffer = other.dialog.create_request(
            "INVITE",
            via=other.channel.endpoint.via(),
            contact=self._contact(other.channel),
            body=self._offer(call, other, direction=direction),
            content_type="application/sdp",
        )
        self._send(other.channel, reoffer, other.peer)

    def _relay_info(self, leg: Leg, event: RequestReceived) -> None:
        """SIP INFO (DTMF as application/dtmf-relay): passed to the other leg."""
        request = event.request
        self._respond(leg.channel, event.transaction, make_response(request, 200))
        other = self._other(leg)
        if other is None or other.dialog is None:
            return
        content_type = request.headers.get("Content-Type")
        info = other.dialog.create_request(
            "INFO",
            via=other.channel.endpoint.via(),
            body=request.body,
            content_type=content_type,
        )
        self._send(other.channel, info, other.peer)

    async def _on_refer(self, transferor: Leg, event: RequestReceived) -> None:
        """Blind transfer (RFC 3515): the party on the other leg is connected to Refer-To;
        the transferor hears how it went in NOTIFYs with a message/sipfrag body."""
        call = transferor.call
        request = event.request
        refer_to = request.headers.get("Refer-To")
        transferee = self._other(transferor)
        if refer_to is None or transferee is None or self.resolve_transfer is None:
            self._respond(
                transferor.channel,
                event.transaction,
                make_response(request, 400 if refer_to is None else 603),
            )
            return
        try:
            target = parse_name_address(refer_to, what="Refer-To").uri
        except SipParseError:
            self._respond(transferor.channel, event.transaction, make_response(request, 400))
            return
        self._respond(transferor.channel, event.transaction, make_response(request, 202))
        self._notify(transferor, "SIP/2.0 100 Trying", active=True)
        try:
            steps = await self.resolve_transfer(call, transferor, target)
        except TransferRefused as refused:
            self._notify(transferor, f"SIP/2.0 {refused.status} {refused.reason}", active=False)
            return
        if not steps:
            self._notify(transferor, "SIP/2.0 404 Not Found", active=False)
            return
        log.info("call %s: transfer to %s", call.record_id, target)
        # The transferor's relay side will face the new party: restart B-side ringing.
        await self._transfer(call, transferor, transferee, steps)

    async def _transfer(
        self, call: BridgedCall, transferor: Leg, transferee: Leg, steps: list[Step]
    ) -> None:
        status = await self._connect(call, transferor.side, steps)
        if status >= 300:
            log.info("call %s: transfer failed (%d)", call.record_id, status)
            self._notify(transferor, f"SIP/2.0 {status} Failed", active=False)
            return
        self._notify(transferor, "SIP/2.0 200 OK", active=False)
        # The transferor's part is over: its dialog ends, the transferee stays.
        self._bye(transferor)

    async def _connect(self, call: BridgedCall, side: int, steps: list[Step]) -> int:
        """Dial ``steps`` in turn for relay side ``side`` (each step's destinations in
        parallel, for its timeout) until one answers: 200, or the final status. A step's
        failover rule decides whether a failure moves on (a trunk's 486 does not)."""
        status = 480
        for step in steps:
            if call.ended:
                return 487
            if not step.destinations:
                continue
            done: asyncio.Future[int] = self.loop.create_future()
            for destination in step.destinations:
                self._dial_transfer(call, destination, side, done)
            try:
                status = await asyncio.wait_for(asyncio.shield(done), step.timeout)
            except TimeoutError:
                status = 408
                self._cancel_pending(done)
            if status < 300:
                return status
            if not step.failover(status):
                return status
        return status

    def _cancel_pending(
        self, done: asyncio.Future[int] | None = None, call: BridgedCall | None = None
    ) -> None:
        """CANCEL the legs still ringing for ``done``, or for every connect of ``call``;
        whoever waits on them hears 487."""
        futures = set() if done is None else {done}
        for key, pending in list(self._transfers.items()):
            leg = self.legs.get(key)
            mine = pending is done or (call is not None and leg is not None and leg.call is call)
            if not mine:
                continue
            del self._transfers[key]
            futures.add(pending)
            if leg is not None:
                self._cancel_leg(leg)
        for future in futures:
            if not future.done():
                future.set_result(487)

    # -- originating (click-to-call) -------------------------------------------------------

    async def originate(
        self,
        *,
        account_id: str,
        user_id: str,
        from_number: str,
        to_number: str,
        devices: list[Step],
        destination: Callable[[BridgedCall], Awaitable[list[Step]]],
    ) -> BridgedCall:
        """Click-to-call: ring the user's devices; when one answers, dial ``to_number``
        (resolved by ``destination``) and bridge the two. Returns once ringing starts.

        Raises PortsExhausted when no RTP ports are left.
        """
        relay = await open_relay(self.rtp_ports, self.config.rtp_host)
        record = None
        if self.recording_dir_for is not None:
            try:
                record = await self.recording_dir_for(account_id)
            except Exception:
                log.exception("originate: recording policy unreadable")
        codec = self.config.codecs[0]
        call = BridgedCall(
            record_id=new_id("CA"),
            account_id=account_id,
            direction="outbound",
            from_number=from_number,
            to_number=to_number,
            started_at=self.now(),
            a=None,
            a_request=None,
            a_event=None,
            relay=relay,
            # Until the user's device answers and the codec is known.
            audio=NegotiatedAudio(
                remote_address="0.0.0.0",
                remote_port=9,
                codec=codec,
                payload_type=8 if codec == "PCMA" else 0,
                clock_rate=8000,
                ptime=20,
                direction="sendrecv",
                telephone_event_payload_type=101,
            ),
            steps=[],
            users={user_id},
            user_id=user_id,
            caller_user_id=user_id,
            record=record,
            audio_settled=False,
        )
        self.calls.add(call)
        self._spawn(self._run_originated(call, devices, destination))
        return call

    async def _run_originated(
        self,
        call: BridgedCall,
        devices: list[Step],
        destination: Callable[[BridgedCall], Awaitable[list[Step]]],
    ) -> None:
        status = await self._connect(call, 0, devices)
        if call.ended:
            return
        if status >= 300:
            if call.failure is not None:
                await self._finish(call, call.failure, status="failed")
            else:
                await self._finish(call, f"user-{status}", status=_outcome_name(status))
            return
        call.failure = None  # another device of the user answered with a codec we offered
        log.info("call %s: user answered, dialing %s", call.record_id, call.to_number)
        try:
            steps = await destination(call)
        except Exception:
            log.exception("call %s: destination not resolved", call.record_id)
            steps = []
        status = await self._connect(call, 1, steps) if steps else 404
        if call.ended:
            return
        if status >= 300:
            if call.failure is not None:
                await self._finish(call, call.failure, status="failed")
            else:
                await self._finish(call, f"callee-{status}", status=_outcome_name(status))
            if call.a is not None and not call.a.gone:
                self._bye(call.a)
            return
        call.answered_at = self.now()
        self._connected(call)

    def _dial_transfer(
        self, call: BridgedCall, destination: Destination, side: int, done: asyncio.Future[int]
    ) -> None:
        channel = destination.channel
        endpoint = channel.endpoint
        leg = Leg(
            call=call,
            channel=channel,
            peer=destination.peer,
            side=side,
            trace=destination.trace,
            call_id=f"{secrets.token_hex(12)}@dialtone",
            local_tag=endpoint.new_tag(),
            destination=destination,
            user_id=destination.user_id,
        )
        leg.invite = make_request(
            "INVITE",
            destination.uri,
            via=endpoint.via(),
            from_=destination.caller.with_tag(leg.local_tag),
            to=destination.to,
            call_id=leg.call_id,
            cseq=1,
            contact=self._contact(channel),
            extra_headers=destination.extra_headers,
            body=self._offer(call, leg, direction="sendrecv"),
            content_type="application/sdp",
        )
        self.legs[leg.key] = leg
        self._transfers[leg.key] = done
        self._send(channel, leg.invite, destination.peer)

    def _on_connect_failure(self, leg: Leg, status: int) -> None:
        """A leg dialed by ``_connect`` failed; the last one of its step reports."""
        done = self._transfers.pop(leg.key, None)
        self.legs.pop(leg.key, None)
        if done is not None and not done.done() and done not in self._transfers.values():
            done.set_result(status)

    def _on_transfer_response(self, leg: Leg, response: Response) -> None:
        """A response to the INVITE that connects a transferee to its new party."""
        status = response.status
        call = leg.call
        done = self._transfers[leg.key]
        if status < 200:
            return
        if status >= 300:
            if status in (401, 407) and not leg.auth_tried and self._authenticate(leg, response):
                return
            self._on_connect_failure(leg, status)
            return
        assert leg.invite is not None
        if leg.dialog is None:
            try:
                leg.dialog = Dialog.from_response(leg.invite, response)
            except SipParseError:
                return
        ack = leg.dialog.ack(leg.invite.cseq.number, via=leg.channel.endpoint.via())
        self._send(leg.channel, ack, leg.peer)
        if leg.answered:
            return
        leg.answered = True
        if done.done() or call.ended:
            self._bye(leg)
            return
        try:
            audio = negotiate_answer(
                SessionDescription.parse(leg.invite.body), SessionDescription.parse(response.body)
            )
        except (SipParseError, NoAcceptableMedia) as exc:
            # Not a silent leg: this party is hung up and the connect fails (a call we
            # originate ends as failed; a transfer's NOTIFY says 488).
            self._log_mismatch(call, leg, response, exc)
            self._bye(leg)
            if call.answered_at is None:
                call.failure = CODEC_MISMATCH
                self._note_trunk(call, leg)
            self._on_connect_failure(leg, 488)
            return
        # A new party on this side (a transfer's target): the one it replaces is ignored.
        call.relay.sides[leg.side].set_remote(
            (audio.remote_address, audio.remote_port), new_party=True
        )
        self._note_trunk(call, leg)
        if not call.audio_settled:
            call.audio = audio
            call.audio_settled = True
        if leg.side == 0:
            call.a = leg
        else:
            call.b = leg
        if leg.user_id is not None:
            call.users.add(leg.user_id)
        call.traces.append(leg.trace)
        self._facts_changed(call)
        for key, pending in list(self._transfers.items()):
            if pending is done:
                del self._transfers[key]
                other = self.legs.get(key)
                if other is not None and other is not leg:
                    self._cancel_leg(other)
        done.set_result(200)

    def _notify(self, leg: Leg, sipfrag: str, *, active: bool) -> None:
        if leg.dialog is None:
            return
        state = "active;expires=60" if active else "terminated;reason=noresource"
        notify = leg.dialog.create_request(
            "NOTIFY",
            via=leg.channel.endpoint.via(),
            contact=self._contact(leg.channel),
            body=sipfrag.encode() + b"\r\n",
            content_type="message/sipfrag;version=2.0",
        )
        notify.headers.add("Event", "refer")
        notify.headers.add("Subscription-State", state)
        self._send(leg.channel, notify, leg.peer)

    # -- ending ----------------------------------------------------------------------------

    def _max_duration(self, call: BridgedCall) -> None:
        self._spawn(self._hang_up(call, None, "max-duration"))

    async def _hang_up(self, call: BridgedCall, failed: Leg | None, cause: str) -> None:
        """End an answered call from our side: CDR first, then BYE to both legs."""
        if call.ended:
            return
        await self._finish(call, cause, status="completed" if failed is None else "failed")
        for leg in (call.a, call.b):
            if leg is not None and not leg.gone:
                self._bye(leg)

    async def _end_unanswered(
        self,
        call: BridgedCall,
        sip_status: int,
        cause: str,
        *,
        status: str | None = None,
        response: Response | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Answer A with ``sip_status`` (the callee's own when it refused), write the CDR."""
        if call.ended:
            return
        final = status or _outcome_name(sip_status)
        a = call.a
        if a is not None and a.server_tx is not None and call.a_request is not None:
            extra: tuple[tuple[str, str], ...] = headers
            if response is not None:
                extra = tuple(
                    (name, value)
                    for name, value in response.headers
                    if name in ("Reason", "Warning", "Retry-After")
                )
            reply = make_response(
                call.a_request, sip_status, to_tag=a.local_tag, extra_headers=extra
            )
            self._respond(a.channel, a.server_tx, reply)
        await self._finish(call, cause, status=final)

    async def _end_failed(self, call: BridgedCall) -> None:
        """End an unanswered call that failed on our side (``call.failure``): the other
        legs still ringing are CANCELled, A gets 488 with the code in ``Reason`` and
        ``Warning``, and the CDR says ``failed`` with the code as its cause."""
        code = call.failure or CODEC_MISMATCH
        for leg in list(call.ringing):
            self._cancel_leg(leg)
        decision = refuse(code, "the callee answered with no codec we offered")
        await self._end_unanswered(
            call, 488, code, status="failed", headers=call_setup.sip_headers(decision)
        )

    def _log_mismatch(
        self, call: BridgedCall, leg: Leg, response: Response, exc: Exception
    ) -> None:
        """One line that says why a party that answered is hung up at once."""
        offered = _codecs_of(leg.invite.body) if leg.invite is not None else "?"
        log.warning(
            "call %s: %s answered %s but was offered %s (%s): %s, the leg is hung up",
            call.record_id,
            leg.destination.uri if leg.destination is not None else "the party",
            _codecs_of(response.body),
            offered,
            getattr(exc, "reason", exc),
            CODEC_MISMATCH,
        )

    @staticmethod
    def _facts_changed(call: BridgedCall) -> None:
        """A leg, the trunk or the user of a recorded call changed: its note says so now
        (D5: an interrupted call's record says what the finished one would). Small and
        not flushed, written on the loop as when the recording started."""
        if call.recording_path is not None and not call.ended:
            try:
                call.relay.note_facts(_facts(call))
            except OSError:
                # The note is for a crash; failing to update it must not cost the call.
                log.exception("call %s: note beside the recording not updated", call.record_id)

    @staticmethod
    def _note_trunk(call: BridgedCall, leg: Leg) -> None:
        """The trunk a call went out through, once one answered it (for the CDR)."""
        if call.trunk_id is None and leg.trace.get("kind") == "trunk":
            call.trunk_id = leg.trace.get("id")

    def _release(self, call: BridgedCall) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        call.relay.close()
        for leg in (call.a, call.b, *call.ringing):
            if leg is not None:
                self.legs.pop(leg.key, None)
        if call.a_event is not None:
            self.by_invite.pop(id(call.a_event.transaction), None)

    async def _finish(self, call: BridgedCall, cause: str, *, status: str) -> None:
        """Stop the media and commit the CDR with the leg chain (TERMS V11)."""
        if call.ended:
            return
        call.ended = True
        ended = self.now()
        self._release(call)
        # The recording was sealed as it was written (D5); it reaches the disk first.
        await sync_recording(call.recording_path)
        outcome = call_service.CallOutcome(
            account_id=call.account_id,
            direction=call.direction,
            from_number=call.from_number,
            to_number=call.to_number,
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=ended,
            status=status,
            hangup_cause=cause,
            sip_call_id=_sip_call_id(call),
            sip_local_tag=call.a.local_tag if call.a is not None else "",
            recording_path=call.recording_path,
            record_id=call.record_id,
            legs=tuple(call.traces),
            user_id=call.user_id,
            caller_user_id=call.caller_user_id,
            trunk_id=call.trunk_id,
        )
        try:
            await self.cdrs.write_cdr(outcome)
            forget_facts(call.recording_path)  # the CDR is committed: the note is done
        finally:
            self.calls.discard(call)
        log.info("call %s ended: %s (%s)", call.record_id, status, cause)

    async def shutdown(self) -> None:
        """End every call: BYE to answered legs, 480 to ringing callers, CDRs committed."""
        for call in list(self.calls):
            if call.answered_at is not None:
                await self._hang_up(call, None, "shutdown")
            else:
                for leg in list(call.ringing):
                    self._cancel_leg(leg)
                self._cancel_pending(call=call)
                if call.a is not None and call.a.server_tx is None and not call.a.gone:
                    self._bye(call.a)  # the user's device of a call we originated
                await self._end_unanswered(call, 480, "shutdown")


def _facts(call: BridgedCall) -> CallFacts:
    """What the call's CDR would say, kept beside its recording while it lasts (D5: a
    crash leaves a recording the next start can give its CDR, marked interrupted)."""
    return CallFacts(
        account_id=call.account_id,
        direction=call.direction,
        from_number=call.from_number,
        to_number=call.to_number,
        started_at=call.started_at,
        answered_at=call.answered_at,
        sip_call_id=_sip_call_id(call),
        sip_local_tag=call.a.local_tag if call.a is not None else "",
        record_id=call.record_id,
        legs=tuple(call.traces),
        user_id=call.user_id,
        caller_user_id=call.caller_user_id,
        trunk_id=call.trunk_id,
    )


def _sip_call_id(call: BridgedCall) -> str:
    """The caller's Call-ID; for a call we originated, that of our leg to the user."""
    if call.a_request is not None:
        return call.a_request.call_id
    return call.a.call_id if call.a is not None else ""


def _codecs_of(body: bytes) -> str:
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


def _outcome_name(sip_status: int) -> str:
    """The CDR status for a call that was never answered."""
    if sip_status in (486, 600):
        return "busy"
    if sip_status in (408, 480, 487):
        return "no-answer" if sip_status != 487 else "canceled"
    return "failed"


def _merge_status(previous: int, status: int) -> int:
    """The status to give the caller when every parallel destination failed: busy wins
    over no-answer (RFC 3261 §16.7 picks the "best" response in a similar spirit)."""
    if 600 <= status < 700 or status == 486:
        return status
    return previous if previous in (486,) or 600 <= previous < 700 else status
