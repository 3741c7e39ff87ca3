"""The B2BUA seam: the engine hands a call over here, and the call core
(``dialtone.call``) runs it through the ``CallDriver``.

Leg A is the INVITE we received; leg B the INVITE we send, to a user's registered
devices (all at once), to the members of a ring group (at once or one after the other)
or to a carrier trunk (one after the other: failover on 408, 5xx or no answer, never on
486 or 603). All of that, early media, CANCEL, re-INVITE, INFO, REFER, the V8 notice and
the record written before the 200 to a BYE, is the core's (``dialtone.call.call``); this
module keeps the engine's vocabulary (``Destination`` on a channel, ``Step``,
``MessageBox``) and runs what needs the engine: a REFER's target, an application's
target, a click-to-call's number. What no answer becomes (voicemail, or the caller hears
why) is the call application's (``dialtone.call.apps.ringing``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.application import Application, VoicemailBox
from dialtone.call.apps.ringing import RingThenVoicemail
from dialtone.call.call import CODEC_MISMATCH, Call, CallSpec, RecordingPlan
from dialtone.call.context import CallSettings, Trace
from dialtone.call.dialer import Step as CoreStep
from dialtone.call.dialer import ring_failover, trunk_failover
from dialtone.call.leg import Credentials, Leg
from dialtone.call.leg import Destination as CoreDestination
from dialtone.services.ids import new_id
from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony.greetings import recording_notice_path
from dialtone.sip.endpoint import AckReceived, CancelReceived, RequestReceived, StraySuccess
from dialtone.sip.headers import NameAddress
from dialtone.sip.message import make_response
from dialtone.sip.transaction import (
    ResponseReceived,
    ServerTransaction,
    TransactionTimedOut,
)
from dialtone.sip.uri import Uri, parse_uri

from .call_driver import CallDriver, live_view
from .cdr_writer import CdrWriter
from .media import PortsExhausted, RtpPortPool
from .sealing import recording_file
from .transports import SipChannel

log = logging.getLogger("dialtone.bridge")

Address = tuple[str, int]

__all__ = [
    "CODEC_MISMATCH",
    "Bridge",
    "BridgeConfig",
    "BridgedCall",
    "Credentials",
    "Destination",
    "Leg",
    "MessageBox",
    "RecordingSetup",
    "Step",
    "Trace",
    "TransferRefused",
    "ring_failover",
    "trunk_failover",
]


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
    policy, "notice" or "one_party"."""

    directory: Path
    policy: str


@dataclass(frozen=True, slots=True)
class MessageBox:
    """A voicemail box as the engine resolves it, before the call that may use it has an
    id: the account, its owner (None: the number's box), the number, where messages go,
    the greeting, the longest message."""

    account_id: str
    user_id: str | None
    number: str
    directory: Path
    greeting: Path
    max_seconds: float | None = None

    def for_call(self, record_id: str, key: bytes | None) -> VoicemailBox:
        """The box for call ``record_id``: its message is the call's file (sealed with
        ``key``, TERMS D5)."""
        path = recording_file(self.directory, record_id, key)
        return VoicemailBox(
            self.user_id, self.number, str(path), str(self.greeting), self.max_seconds
        )


@dataclass(frozen=True, slots=True)
class Destination:
    """One device or trunk a B leg rings, on a channel (the engine's view)."""

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


@dataclass(slots=True)
class BridgeConfig:
    """What the bridge needs from the settings."""

    advertised_host: str
    rtp_host: str
    codecs: tuple[str, ...] = ("PCMA", "PCMU")
    max_call_seconds: float = 3600.0
    # TERMS D5: recordings are sealed with this key as they are written (None: plain WAV).
    recording_key: bytes | None = None


class BridgedCall:
    """The engine's view of a bridged call (the core's ``Call``)."""

    __slots__ = ("call",)

    def __init__(self, call: Call) -> None:
        self.call = call

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BridgedCall) and other.call is self.call

    def __hash__(self) -> int:
        return id(self.call)

    @property
    def record_id(self) -> str:
        return self.call.spec.record_id

    @property
    def account_id(self) -> str:
        return self.call.spec.account_id

    @property
    def from_number(self) -> str:
        return self.call.spec.from_number

    @property
    def to_number(self) -> str:
        return self.call.spec.to_number

    @property
    def started_at(self) -> datetime:
        return self.call.spec.started_at

    @property
    def ended(self) -> bool:
        return self.call.ended

    @property
    def users(self) -> set[str]:
        return self.call.users

    @property
    def traces(self) -> list[Trace]:
        return self.call.traces

    @property
    def a(self) -> Leg | None:
        return self.call.a

    @property
    def b(self) -> Leg | None:
        return self.call.b


class Bridge:
    """Hands bridged calls to the call core and answers what the core asks the engine."""

    def __init__(
        self,
        *,
        config: BridgeConfig,
        rtp_ports: RtpPortPool,
        cdrs: CdrWriter,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
        driver: CallDriver | None = None,
    ) -> None:
        self.config = config
        self.rtp_ports = rtp_ports
        self.cdrs = cdrs
        self.now = wallclock
        # One driver with the answering machine (``driver``): a response or request of
        # any call reaches it through either seam.
        self.driver = driver or CallDriver(
            rtp_ports=rtp_ports,
            rtp_host=config.rtp_host,
            cdrs=cdrs,
            recording_key=config.recording_key,
        )
        self.driver.resolver = self._resolve
        self.settings = CallSettings(
            advertised_host=config.advertised_host,
            codecs=config.codecs,
            max_call_seconds=config.max_call_seconds,
        )
        self._destinations: dict[str, Callable[[BridgedCall], Awaitable[list[Step]]]] = {}
        # How an account's calls are recorded, or None when it does not record (V8).
        self.recording_dir_for: Callable[[str], Awaitable[RecordingSetup | None]] | None = None
        # Resolves a REFER target to the steps that reach it (set by the engine).
        self.resolve_transfer: Callable[[BridgedCall, Leg, Uri], Awaitable[list[Step]]] | None = (
            None
        )
        # Resolves an application's Bridge or Transfer target ("user:<id>",
        # "group:<id>", "client:<extension>", a number, a sip: URI) the same way, with
        # the caller id the application asks to show (set by the engine).
        self.resolve_target: (
            Callable[[BridgedCall, str, str | None], Awaitable[list[Step]]] | None
        ) = None

    # -- what the engine reads --------------------------------------------------------

    @property
    def background(self) -> object:
        return self.driver.background

    @property
    def calls(self) -> list[BridgedCall]:
        """The calls in progress."""
        return [BridgedCall(d.call) for d in self.driver.owned("bridge").values()]

    def active_calls_of(self, user_id: str) -> int:
        """Calls in progress (ringing or answered) the user takes part in (TERMS V2)."""
        return sum(
            1 for d in self.driver.calls.values() if user_id in d.call.users and not d.call.ended
        )

    def owns(self, call_id: str, tag: str | None) -> bool:
        """Whether an in-dialog message with this Call-ID and tag belongs to a leg."""
        return (call_id, tag or "") in self.driver.legs

    def owns_invite(self, tx: object) -> bool:
        """Whether a pending INVITE server transaction is one of our A legs."""
        return id(tx) in self.driver.by_invite

    @staticmethod
    def live_view(call: BridgedCall) -> call_service.LiveCall:
        """What the API shows of a call in progress (its record does not exist yet)."""
        return live_view(call.call.facts())

    def live_call(self, record_id: str) -> BridgedCall | None:
        """The call in progress (ringing or answered) with this id."""
        driven = self.driver.calls.get(record_id)
        if driven is None or driven.call.ended or driven.owner != "bridge":
            return None
        return BridgedCall(driven.call)

    def stop_recording(self, call: BridgedCall) -> bool:
        """TERMS V8, a party objects: nothing more is recorded, what was is deleted and
        the record will have no recording. False when the call is not being recorded."""
        driven = self.driver.calls.get(call.record_id)
        if driven is None or not driven.call.recorded:
            return False
        self.driver.feed(driven, ev.ObjectToRecording())
        log.info("call %s: a party objected; the recording is stopped and deleted", call.record_id)
        return True

    # -- handing calls over -----------------------------------------------------------

    def _core_steps(self, steps: Sequence[Step]) -> tuple[CoreStep, ...]:
        path = self.driver.path
        return tuple(
            CoreStep(
                tuple(
                    CoreDestination(
                        uri=d.uri,
                        path=path(d.channel),
                        peer=d.peer,
                        to=d.to,
                        caller=d.caller,
                        trace=d.trace,
                        user_id=d.user_id,
                        credentials=d.credentials,
                        extra_headers=d.extra_headers,
                    )
                    for d in step.destinations
                ),
                step.timeout,
                step.failover,
            )
            for step in steps
        )

    async def _recording(self, account_id: str, record_id: str) -> RecordingPlan | None:
        if self.recording_dir_for is None:
            return None
        try:
            setup = await self.recording_dir_for(account_id)
        except Exception:
            # Not knowing whether to record must not cost the call: it goes unrecorded.
            log.exception("call %s: recording policy unreadable", record_id)
            return None
        if setup is None:
            return None
        path = recording_file(setup.directory, record_id, self.config.recording_key)
        return RecordingPlan(str(path), setup.policy, str(recording_notice_path()))

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
        voicemail: MessageBox | None = None,
        users: set[str] | None = None,
        user_id: str | None = None,
        trunk_id: str | None = None,
        caller_user_id: str | None = None,
    ) -> None:
        """Ring ``steps`` for the INVITE in ``event``; answer A when a B leg answers;
        when nobody does, the caller leaves a message in ``voicemail`` (None: hears why).
        The call runs ``RingThenVoicemail``, which decides. ``caller_user_id``: the user
        whose device placed the call (None from outside)."""
        record_id = new_id("CA")
        started = self.now()
        started_loop = asyncio.get_running_loop().time()
        recording = await self._recording(account_id, record_id)
        spec = CallSpec(
            record_id=record_id,
            account_id=account_id,
            direction=direction,
            from_number=from_number,
            to_number=to_number,
            started_at=started,
            legs=(a_trace,),
            user_id=user_id,
            caller_user_id=caller_user_id,
            trunk_id=trunk_id,
            users=frozenset(users or ()),
            recording=recording,
            record_refusals=False,
        )
        call, actions = Call.incoming(
            spec,
            settings=self.settings,
            ids=self.driver.ids,
            application=RingThenVoicemail(
                self._core_steps(steps),
                voicemail.for_call(record_id, self.config.recording_key) if voicemail else None,
            ),
            event=event,
            path=self.driver.path(channel),
            now=started_loop,
            sides=2,
            trace=a_trace,
        )
        self.driver.start(call, actions, owner="bridge")

    async def originate(
        self,
        *,
        account_id: str,
        user_id: str | None,
        from_number: str,
        to_number: str,
        devices: list[Step],
        destination: Callable[[BridgedCall], Awaitable[list[Step]]] | None = None,
        application: Callable[[CallSpec], Application] | None = None,
        record_id: str | None = None,
    ) -> BridgedCall:
        """Click-to-call: ring the user's devices; when one answers, dial ``to_number``
        (resolved by ``destination``) and bridge the two. With ``application`` instead
        (a call placed over the Twilio-compatible API): ring ``devices`` (the callee)
        and run the application once they answer. Returns once ringing starts.

        Raises PortsExhausted when no RTP ports are left.
        """
        record_id = record_id or new_id("CA")
        users = frozenset({user_id}) if user_id is not None else frozenset()
        spec = CallSpec(
            record_id=record_id,
            account_id=account_id,
            direction="outbound",
            from_number=from_number,
            to_number=to_number,
            started_at=self.now(),
            user_id=user_id,
            caller_user_id=user_id,
            users=users,
            recording=await self._recording(account_id, record_id),
            record_refusals=False,
            listen_digits=application is not None,
        )
        call, actions = Call.originate(
            spec,
            settings=self.settings,
            ids=self.driver.ids,
            devices=self._core_steps(devices),
            target=to_number if application is None else None,
            now=asyncio.get_running_loop().time(),
            application=application(spec) if application is not None else None,
        )
        if destination is not None:
            self._destinations[record_id] = destination
        driven = self.driver.start(call, actions, owner="bridge")
        if driven.opening is not None:
            await asyncio.gather(driven.opening, return_exceptions=True)
        if call.ended:
            self._destinations.pop(record_id, None)
            raise PortsExhausted("no free RTP port in the configured range")
        return BridgedCall(call)

    # -- what the core asks the engine ------------------------------------------------

    async def _resolve(self, call: Call, action: act.ResolveTarget) -> ev.TargetResolved:
        view = BridgedCall(call)
        if action.kind == "number":
            destination = self._destinations.pop(call.record_id, None)
            steps = await destination(view) if destination is not None else []
            return ev.TargetResolved(action.ref, steps=self._core_steps(steps))
        if action.kind.startswith("refer:") and self.resolve_transfer is not None:
            side = int(action.kind.split(":", 1)[1])
            transferor = call.a if side == 0 else call.b
            assert transferor is not None
            try:
                target = parse_uri(action.target)
                steps = await self.resolve_transfer(view, transferor, target)
            except TransferRefused as refused:
                return ev.TargetResolved(
                    action.ref, refusal=ev.Refusal(refused.status, refused.reason)
                )
            log.info("call %s: transfer to %s", call.record_id, action.target)
            return ev.TargetResolved(action.ref, steps=self._core_steps(steps))
        if action.kind in ("bridge", "transfer") and self.resolve_target is not None:
            try:
                steps = await self.resolve_target(view, action.target, action.caller_id)
            except TransferRefused as refused:
                return ev.TargetResolved(
                    action.ref, refusal=ev.Refusal(refused.status, refused.reason)
                )
            log.info("call %s: %s to %s", call.record_id, action.kind, action.target)
            return ev.TargetResolved(action.ref, steps=self._core_steps(steps))
        return ev.TargetResolved(action.ref)

    # -- SIP events ---------------------------------------------------------------------

    def on_response(self, event: ResponseReceived) -> None:
        """A response to one of our requests on a leg."""
        driven = self.driver.by_response_to(event.transaction.request)
        if driven is not None:
            self.driver.feed(driven, event)

    def on_stray_success(self, event: StraySuccess, channel: SipChannel) -> None:
        """A retransmitted 2xx after its transaction ended: ACK it again (§13.2.2.4)."""
        response = event.response
        driven = self.driver.legs.get((response.call_id, response.from_.tag or ""))
        if driven is not None:
            self.driver.feed(driven, event)

    def on_timeout(self, event: TransactionTimedOut) -> bool:
        """A transaction of ours timed out; True when it belonged to the bridge."""
        tx = event.transaction
        if isinstance(tx, ServerTransaction):
            driven = self.driver.by_invite.get(id(tx))
        else:
            driven = self.driver.by_response_to(tx.request)
        if driven is None:
            return False
        self.driver.feed(driven, event)
        return True

    def on_request(self, event: RequestReceived, channel: SipChannel) -> None:
        """A request inside one of our dialogs."""
        driven = self.driver.by_request(event.request)
        if driven is None:
            response = make_response(event.request, 481)
            try:
                channel.dispatch(
                    channel.endpoint.respond(
                        event.transaction, response, asyncio.get_running_loop().time()
                    )
                )
            except ValueError as exc:
                log.debug("response not sent: %s", exc)
            return
        self.driver.feed(driven, event)

    def on_ack(self, event: AckReceived) -> None:
        """The caller's ACK for our 200: A's dialog is confirmed."""
        driven = self.driver.by_request(event.request)
        if driven is not None:
            self.driver.feed(driven, event)

    def on_cancel(self, event: CancelReceived, channel: SipChannel) -> None:
        """The caller gave up while the call was ringing."""
        driven = self.driver.by_invite.get(id(event.invite))
        if driven is not None:
            self.driver.feed(driven, event)

    async def shutdown(self) -> None:
        """End every call: BYE to answered legs, 480 to ringing callers, CDRs committed."""
        await self.driver.shutdown("bridge")
