"""The call engine: the SIP transaction user that decides what every request becomes.

An INVITE is first identified: a carrier trunk (by source address, TERMS V11), a public
caller dialing one of the platform's numbers, or a device, which must authenticate
(digest, 407). Then it is routed: the number's route (greeting, a user's devices, a ring
group, a forward, voicemail), a colleague's extension, or, from a device, an external
number through the account's trunks. The rules of call setup are decided on one path:
each action's facts are gathered once (``services.call_facts``, one thread hop) and run
through ``policy.checklist.checks`` up to the first refusal (:func:`setup_outcome`), the
order the dry run shows; every refusal carries its reason code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy.orm import Session, sessionmaker

from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.policy import (
    call_setup,
    destinations,
    dialing_patterns,
    emergency,
    recording,
)
from dialtone.policy.checklist import Action, CallIntent, CheckResult, checks
from dialtone.policy.decision import Decision, refuse
from dialtone.services import call_facts
from dialtone.services.accounts.audit import AuditEntry
from dialtone.services.numbering import numbers as number_service
from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony import routing as routing_service
from dialtone.services.telephony import trunks as trunk_service
from dialtone.services.telephony import users as user_service
from dialtone.services.telephony.greetings import (
    default_greeting_path,
    default_voicemail_greeting_path,
)
from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    MessageRejected,
    Output,
    RequestReceived,
    StraySuccess,
)
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import NameAddress, parse_name_address
from dialtone.sip.message import Request, make_response
from dialtone.sip.transaction import ResponseReceived, TransactionTimedOut
from dialtone.sip.uri import SipUri, Uri, parse_uri
from dialtone.store.db import transaction
from dialtone.store.models import Account
from dialtone.store.sealed import SealError

from .answering import AnswerTarget, CallHandler
from .audit_writer import AuditWriter
from .auth import Authenticator, SipUser
from .b2bua import (
    Bridge,
    BridgedCall,
    Credentials,
    Destination,
    Leg,
    MessageBox,
    RecordingSetup,
    Step,
    Trace,
    TransferRefused,
    trunk_failover,
)
from .lookups import LookupCache
from .media import PortsExhausted
from .registrar import Registrar
from .tasks import TaskSet
from .transports import SipChannel

log = logging.getLogger("dialtone.engine")
T = TypeVar("T")

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, REFER, NOTIFY"


@dataclass(frozen=True, slots=True)
class TrunkInfo:
    """A carrier trunk as the engine uses it (read from the store)."""

    id: str
    host: str
    port: int
    transport: str
    username: str | None
    # Sealed (issue 13): the engine opens it only to build the credentials of an
    # outbound leg (the trunk's registration opens it too, for its own challenges).
    password_sealed: str | None
    caller_id_format: str
    # The name digest challenges are answered as, when the provider gives one apart
    # from ``username`` (the registration authenticates as it too).
    auth_username: str | None = None


@dataclass(slots=True)
class EngineConfig:
    """What the engine needs from the settings."""

    advertised_host: str
    greetings_dir: Path
    recordings_dir: Path
    voicemail_dir: Path
    no_answer_seconds: float = 20.0
    voicemail_max_seconds: float = 180.0
    channels_per_user: int = 1
    lookup_cache_seconds: float = 1.0
    # TERMS V5: the operator's destination lists; V6/V7: the country an account dials
    # from when it has none of its own.
    destinations: destinations.DestinationSettings = field(
        default_factory=destinations.DestinationSettings
    )
    default_country: str = "FR"
    # TERMS V7: where the trunks carry emergency calls.
    emergency_countries: tuple[str, ...] = emergency.DEFAULT_ELIGIBLE_COUNTRIES
    # The key trunk passwords are sealed with (issue 13); None: trunks are used without
    # credentials.
    sealing_key: bytes | None = None


def _trace(
    kind: str, ident: str | None, channel: SipChannel, source: tuple[str, int], ua: str | None
) -> Trace:
    return {
        "kind": kind,
        "id": ident,
        "source": f"{channel.name}:{source[0]}:{source[1]}",
        "user_agent": ua,
    }


class CallEngine:
    """Routes every SIP event of every transport to the registrar, the bridge or the
    answering machine (greetings and voicemail)."""

    def __init__(
        self,
        *,
        channels: dict[str, SipChannel],
        sessions: sessionmaker[Session],
        reads: Executor,
        config: EngineConfig,
        authenticator: Authenticator,
        registrar: Registrar,
        bridge: Bridge,
        answering: CallHandler,
        audit: AuditWriter | None = None,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.channels = channels
        self.sessions = sessions
        self.reads = reads
        self.config = config
        self.auth = authenticator
        self.registrar = registrar
        self.bridge = bridge
        self.answering = answering
        self.audit = audit or AuditWriter(sessions, reads)
        self.now = wallclock
        self.background = TaskSet(log, "engine")
        self.lookups = LookupCache(config.lookup_cache_seconds)
        self._resolved: dict[str, str] = {}
        bridge.resolve_transfer = self._transfer_steps
        bridge.resolve_target = self._application_steps
        bridge.recording_dir_for = self._recording_dir
        for channel in channels.values():
            channel.on_event = self.handle
            channel.on_closed = self._connection_closed

    # -- plumbing ---------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def _read(self, fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with transaction(self.sessions) as session:
                return fn(session)

        return await self.loop.run_in_executor(self.reads, run)

    async def _cached(self, key: tuple[object, ...], fn: Callable[[Session], T]) -> T:
        """``_read`` through the look-up cache: the same question within its lifetime
        gets the same answer without a trip to the database."""
        hit, cached = self.lookups.get(key)
        if hit:
            return cast(T, cached)
        value = await self._read(fn)
        self.lookups.put(key, value)
        return value

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.background.spawn(coro)

    def _reply(
        self,
        event: RequestReceived,
        channel: SipChannel,
        status: int,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        response = make_response(
            event.request, status, to_tag=channel.endpoint.new_tag(), extra_headers=headers
        )
        try:
            channel.dispatch(
                channel.endpoint.respond(event.transaction, response, self.loop.time())
            )
        except ValueError as exc:
            log.debug("response not sent: %s", exc)

    async def _refuse(
        self,
        event: RequestReceived,
        channel: SipChannel,
        refusal: Decision,
        *,
        account_id: str | None,
        actor: str,
        action: str,
        **inputs: Any,
    ) -> None:
        """Answer a request with a refusal's SIP status and reason, once the refusal is in
        the audit log (a failed audit write is logged; the caller still gets its answer)."""
        log.info(
            "%s %s refused: %s (%s) %s",
            event.request.method,
            event.request.call_id,
            refusal.code,
            refusal.rule,
            refusal.message,
        )
        entry = AuditEntry.of_decision(
            refusal,
            at=self.now(),
            account_id=account_id,
            actor=actor,
            action=action,
            sip_call_id=event.request.call_id,
            **inputs,
        )
        await self._audit(entry)
        self._reply(event, channel, refusal.sip_status(), call_setup.sip_headers(refusal))

    async def _refuse_call(
        self,
        event: RequestReceived,
        channel: SipChannel,
        refusal: Decision,
        caller: SipUser,
        call_action: str = "call.outbound",
        **inputs: Any,
    ) -> None:
        """Refuse a device's call, on record with the user as the actor."""
        await self._refuse(
            event,
            channel,
            refusal,
            account_id=caller.account_id,
            actor=f"user:{caller.id}",
            action=call_action,
            **inputs,
        )

    async def _audit(self, entry: AuditEntry) -> None:
        """Put ``entry`` on record; a failure is logged, never raised (the refusal it
        records still happens)."""
        try:
            await self.audit.write(entry)
        except Exception:
            log.exception("audit entry not written: %s %s", entry.code, entry.actor)

    def active_calls(self, user_id: str) -> int:
        """The user's calls in progress (TERMS V2), for the dry run."""
        return self._active(user_id)

    @property
    def operator(self) -> call_facts.OperatorPolicy:
        """The operator's side of the checks, from the settings (V5, V6, V7)."""
        config = self.config
        return call_facts.OperatorPolicy(
            config.destinations, config.default_country, config.emergency_countries
        )

    async def _account_facts(self, account_id: str) -> call_facts.AccountFacts:
        """The account's side of every call's facts (cached like every look-up)."""
        operator = self.operator
        return await self._cached(
            ("account_facts", account_id),
            lambda s: call_facts.account_facts(s, account_id, operator),
        )

    async def _call_facts(
        self, setup: call_facts.Setup, *, channels: int | None = None, placer: bool = False
    ) -> EngineFacts:
        """Every fact of ``setup``'s checks in one thread hop, and what the call goes to
        when they pass (the extension's user, the route of one of our numbers); with
        ``placer``, the user placing it too (click-to-call: their devices, whether they
        can take calls; ``user.not_found`` when the account has no such user). Through
        the look-up cache: the account's side per account; the whole, keyed by the setup
        (action, account, dialled, user, caller ID asked), unless it read something that
        is read fresh (a user, a location, the plan's usage). The caller sets what the
        store does not know: the user's calls in progress and the time."""
        key = ("call_facts", setup, placer)
        hit, cached = self.lookups.get(key)
        if hit:
            return cast(EngineFacts, cached)
        account_key = ("account_facts", setup.account_id)
        known, account = self.lookups.get(account_key)
        operator = self.operator
        now = self.now()
        user_id = setup.user_id

        def read(session: Session) -> tuple[call_facts.Gathered, EngineFacts]:
            placing = None
            if placer and user_id is not None:
                placing = _sip_user(
                    user_service.get_user(session, setup.account_id, user_id), session
                )
            facts = (
                cast(call_facts.AccountFacts, account)
                if known
                else call_facts.account_facts(session, setup.account_id, operator)
            )
            gathered = call_facts.gather(session, setup, facts, now=now, channels=channels)
            callee = _sip_user(gathered.callee, session)
            return gathered, EngineFacts(gathered.intent, callee, gathered.route, placing)

        gathered, value = await self._read(read)
        if not known:
            self.lookups.put(account_key, gathered.account)
        if not (gathered.fresh or placer):
            self.lookups.put(key, value)
        return value

    # -- dispatch ---------------------------------------------------------------------

    def handle(self, event: Output, channel: SipChannel) -> None:
        """One endpoint event from ``channel``."""
        if isinstance(event, RequestReceived):
            self._on_request(event, channel)
        elif isinstance(event, AckReceived):
            request = event.request
            if self.bridge.owns(request.call_id, request.to.tag):
                self.bridge.on_ack(event)
            else:
                self.answering.handle(event, channel)
        elif isinstance(event, CancelReceived):
            if self.bridge.owns_invite(event.invite):
                self.bridge.on_cancel(event, channel)
            else:
                self.answering.handle(event, channel)
        elif isinstance(event, ResponseReceived):
            self.bridge.on_response(event)
        elif isinstance(event, StraySuccess):
            self.bridge.on_stray_success(event, channel)
        elif isinstance(event, TransactionTimedOut):
            if not self.bridge.on_timeout(event):
                self.answering.handle(event, channel)
        elif isinstance(event, MessageRejected):
            self.answering.handle(event, channel)

    def _on_request(self, event: RequestReceived, channel: SipChannel) -> None:
        request = event.request
        method = request.method
        to_tag = request.to.tag
        if to_tag is not None:
            if self.bridge.owns(request.call_id, to_tag):
                self.bridge.on_request(event, channel)
            else:
                self.answering.handle(event, channel)
            return
        if method == "OPTIONS":
            extra = (("Allow", ALLOW), ("Accept", "application/sdp"))
            self._reply(event, channel, 200, extra)
        elif method == "REGISTER":
            self._spawn(self._guarded(self._on_register(event, channel), event, channel))
        elif method == "INVITE":
            self._spawn(self._guarded(self._on_invite(event, channel), event, channel))
        else:
            self._reply(event, channel, 481 if method in ("BYE", "INFO", "REFER") else 405)

    async def _guarded(
        self, work: Awaitable[None], event: RequestReceived, channel: SipChannel
    ) -> None:
        """A failure while deciding (e.g. the store is down) still gets an answer: 500."""
        try:
            await work
        except Exception:
            log.exception("%s %s failed", event.request.method, event.request.call_id)
            last = event.transaction.last_status
            if last is None or last < 200:
                self._reply(event, channel, 500)

    def _connection_closed(self, peer: tuple[str, int], channel: SipChannel) -> None:
        self._spawn(self.registrar.connection_closed(peer, channel.name))

    # -- REGISTER ---------------------------------------------------------------------

    async def _on_register(self, event: RequestReceived, channel: SipChannel) -> None:
        request = event.request
        outcome = await self.auth.authenticate(request, event.source[0])
        user = outcome.user
        if user is None:
            self._reply(event, channel, outcome.status, outcome.headers)
            return
        aor_user = getattr(request.to.uri, "user", None)
        if aor_user != user.sip_username:
            # One may only register one's own address (RFC 3261 §10.3 step 4).
            warning = f'399 dialtone "{user.sip_username} may not register {aor_user}"'
            self._reply(event, channel, 403, (("Warning", warning),))
            return
        user_agent = request.headers.get("User-Agent")
        pbx = dialing_patterns.pbx_agent(user_agent)
        if pbx is not None:
            # V3: a user account is for its user; a PBX or dialer registering behind it is
            # refused (it would put a switchboard or robocalls on an unlimited plan).
            refusal = refuse(
                "access.shared_or_pbx",
                f"{user_agent} is a PBX or dialer: a user account is used by its user only",
                user_agent=user_agent,
                matched=pbx,
            )
            await self._refuse(
                event,
                channel,
                refusal,
                account_id=user.account_id,
                actor=f"user:{user.id}",
                action="register",
            )
            return
        result = await self.registrar.register(
            user.id, request, source=event.source, transport=channel.name
        )
        if result.status == 200 and result.changed:
            log.info(
                "user %s registered %d contact(s) via %s %s:%d",
                user.sip_username,
                len(result.bindings),
                channel.name,
                *event.source,
            )
        self._reply(event, channel, result.status, result.headers)

    # -- INVITE -----------------------------------------------------------------------

    async def _on_invite(self, event: RequestReceived, channel: SipChannel) -> None:
        request = event.request
        source = event.source
        user_agent = request.headers.get("User-Agent")
        dialed = getattr(request.uri, "user", None)
        trunk = None
        if dialed is not None and dialed.startswith(trunk_service.CONTACT_PREFIX):
            # Sent to the contact a trunk registered (issue 13): that trunk's provider,
            # whatever the source address; the number called is in To.
            contact_user = dialed
            trunk = await self._cached(
                ("trunk-contact", contact_user),
                lambda s: _trunk_info(trunk_service.trunk_for_contact(s, contact_user)),
            )
            dialed = getattr(request.to.uri, "user", None) if trunk is not None else None
        e164 = number_service.dialed_to_e164(dialed)
        if trunk is None:
            trunk = await self._cached(
                ("trunk", source[0], source[1]),
                lambda s: _trunk_info(trunk_service.trunk_for_source(s, source[0], source[1])),
            )
        route = (
            await self._cached(("route", e164), lambda s: routing_service.route_for(s, e164))
            if e164
            else None
        )
        from_user = getattr(request.from_.uri, "user", None)
        is_device = from_user is not None and await self._cached(
            ("device", from_user),
            lambda s: user_service.find_sip_user(s, from_user) is not None,
        )
        credentials = "Proxy-Authorization" in request.headers
        if trunk is None and route is not None and not is_device and not credentials:
            # Carriers often send from another port than the one we send to. A looser
            # match by address alone is kept for calls to our own numbers from callers
            # that are not our devices: anything else from that address is challenged.
            trunk = await self._cached(
                ("trunk", source[0], None),
                lambda s: _trunk_info(trunk_service.trunk_for_source(s, source[0])),
            )
        if trunk is not None:
            trace = _trace("trunk", trunk.id, channel, source, user_agent)
            if route is None:
                self._reply(event, channel, 404)
                return
            await self._apply_route(event, channel, route, trace, caller=None, trunk_id=trunk.id)
            return
        if route is not None and not is_device and not credentials:
            # A call from outside to one of the platform's numbers: like a carrier's.
            trace = _trace("public", None, channel, source, user_agent)
            await self._apply_route(event, channel, route, trace, caller=None)
            return
        outcome = await self.auth.authenticate(request, source[0])
        caller = outcome.user
        if caller is None:
            self._reply(event, channel, outcome.status, outcome.headers)
            return
        trace = _trace("user", caller.id, channel, source, user_agent)
        trace["account"] = caller.account_id
        asked = _asked_caller_id(request, caller)
        setup = call_facts.Setup(Action.DEVICE_CALL, caller.account_id, dialed, caller.id, asked)
        intent, callee, own_route, _ = await self._call_facts(setup, channels=caller.channels)
        intent = replace(
            intent,
            active_calls=self._active(caller.id),
            channels=caller.channels,
            now=self.now(),
        )
        decided = setup_outcome(Action.DEVICE_CALL, intent)
        if decided.refusal is not None:
            await self._refuse_call(
                event,
                channel,
                decided.refusal.decision,
                caller,
                decided.audit_action,
                **decided.inputs,
            )
            return
        if decided.go == "emergency":
            await self._emergency(event, channel, intent, trace, caller)
        elif decided.go == "extension" and callee is not None:
            await self._ring_user(
                event, channel, callee, trace, caller=caller, direction="internal"
            )
        elif decided.go == "route" and own_route is not None:
            await self._apply_route(event, channel, own_route, trace, caller=caller)
        else:
            await self._outbound(event, channel, intent, trace, caller)

    async def _recording_dir(self, account_id: str) -> RecordingSetup | None:
        """Where and how the account's bridged calls are recorded, or None when its
        recording policy is off (TERMS V8: "notice" plays the notice to both parties
        first; "one_party" only where a party's place wants every party's consent)."""
        directory = self.config.recordings_dir / account_id

        def read(session: Session) -> RecordingSetup | None:
            account = session.get(Account, account_id)
            if account is None or account.recording_policy not in ("notice", "one_party"):
                return None
            directory.mkdir(parents=True, exist_ok=True)
            return RecordingSetup(directory, account.recording_policy)

        return await self._cached(("recording", account_id), read)

    def _active(self, user_id: str) -> int:
        return self.bridge.active_calls_of(user_id) + self.answering.active_calls_of(user_id)

    async def _apply_route(
        self,
        event: RequestReceived,
        channel: SipChannel,
        route: routing_service.Route,
        trace: Trace,
        *,
        caller: SipUser | None,
        trunk_id: str | None = None,
    ) -> None:
        kind = route.kind
        if kind == "greeting":
            greeting = (
                self.config.greetings_dir / route.greeting
                if route.greeting
                else default_greeting_path()
            )
            self.answering.answer(
                event,
                channel,
                AnswerTarget(
                    account_id=route.account_id,
                    to_number=route.number,
                    greeting_path=greeting,
                    recordings_dir=self.config.recordings_dir / route.account_id,
                    legs=(trace,),
                    user_id=caller.id if caller is not None else None,
                    trunk_id=trunk_id,
                ),
            )
        elif kind == "voicemail":
            box = await self._voicemail_box(
                route.account_id, route.number, route.voicemail_user_id or route.target
            )
            self._voicemail(event, channel, box, trace=trace, caller=caller, trunk_id=trunk_id)
        elif kind == "user" and route.target is not None:
            target = route.target
            callee = await self._read(
                lambda s: _sip_user(user_service.get_user(s, route.account_id, target), s)
            )
            if callee is None:
                self._reply(event, channel, 404)
                return
            await self._ring_user(
                event,
                channel,
                callee,
                trace,
                caller=caller,
                direction="inbound" if caller is None else "internal",
                route=route,
                trunk_id=trunk_id,
            )
        elif kind == "group" and route.target is not None:
            await self._ring_group(event, channel, route, trace, caller=caller, trunk_id=trunk_id)
        elif kind == "forward" and route.target is not None:
            await self._forward(event, channel, route, trace, trunk_id=trunk_id)
        else:
            self._reply(event, channel, 404)

    # -- ringing users ----------------------------------------------------------------

    def _device_destinations(self, callee: SipUser, caller_name: NameAddress) -> list[Destination]:
        out: list[Destination] = []
        for binding in self.registrar.contacts(callee.id):
            channel = self.channels.get(binding.transport)
            if channel is None:
                continue
            try:
                uri = parse_uri(binding.contact)
            except SipParseError:
                continue
            to = NameAddress(
                SipUri("sip", host=self.config.advertised_host, user=callee.sip_username)
            )
            out.append(
                Destination(
                    uri=uri,
                    channel=channel,
                    peer=binding.target(),
                    to=to,
                    caller=caller_name,
                    trace=_trace("device", callee.id, channel, binding.source, binding.user_agent),
                    user_id=callee.id,
                )
            )
        return out

    def _caller_address(self, request: Request, caller: SipUser | None) -> NameAddress:
        user = getattr(request.from_.uri, "user", None) or "anonymous"
        display = request.from_.display_name
        if caller is not None:
            display = caller.name
            user = caller.extension or caller.sip_username
        return NameAddress(SipUri("sip", host=self.config.advertised_host, user=user), display)

    async def _ring_user(
        self,
        event: RequestReceived,
        channel: SipChannel,
        callee: SipUser,
        trace: Trace,
        *,
        caller: SipUser | None,
        direction: str,
        route: routing_service.Route | None = None,
        trunk_id: str | None = None,
    ) -> None:
        """Ring the callee's devices (when they can take the call, V2); the call's
        application sends the caller to voicemail when nobody answers."""
        account_id = callee.account_id
        number = route.number if route is not None else (callee.extension or callee.sip_username)
        vm_user = (route.voicemail_user_id if route is not None else None) or callee.id
        busy = call_setup.user_concurrency(self._active(callee.id), callee.channels)
        destinations = (
            []
            if busy.refused or not callee.can_take_calls
            else self._device_destinations(callee, self._caller_address(event.request, caller))
        )
        seconds = float(
            (route.no_answer_seconds if route is not None else None)
            or self.config.no_answer_seconds
        )
        box = await self._voicemail_box(account_id, number, vm_user)
        if not destinations:
            why, _ = not_rung(busy)
            log.info("call to %s: %s -> voicemail", callee.sip_username, why)
            self._voicemail(event, channel, box, trace=trace, caller=caller, trunk_id=trunk_id)
            return
        await self.bridge.start(
            event,
            channel,
            account_id=account_id,
            direction=direction,
            from_number=_from_number(event.request, caller),
            to_number=number,
            steps=[Step(destinations, seconds)],
            a_trace=trace,
            voicemail=box,
            users={caller.id} if caller is not None else set(),
            # The callee's, for a device's call too: the same as when voicemail takes it.
            user_id=callee.id,
            trunk_id=trunk_id,
            caller_user_id=caller.id if caller is not None else None,
        )

    async def _group_steps(
        self, account_id: str, group_id: str, caller_name: NameAddress
    ) -> list[Step]:
        """The steps that ring a group's members who can take a call now (V2): all at
        once, or one after another (``sequential``)."""
        group = await self._read(lambda s: routing_service.get_ring_group(s, account_id, group_id))
        members = await self._read(
            lambda s: [_sip_user(u, s) for u in routing_service.group_members(s, group_id)]
        )
        per_member = [
            self._device_destinations(m, caller_name)
            for m in members
            if m is not None
            and m.can_take_calls
            and call_setup.user_concurrency(self._active(m.id), m.channels).allowed
        ]
        seconds = float(group.member_seconds)
        if group.strategy == "sequential":
            steps = [Step(d, seconds) for d in per_member if d]
        else:
            steps = [Step([d for ds in per_member for d in ds], seconds)]
        return [s for s in steps if s.destinations]

    async def _ring_group(
        self,
        event: RequestReceived,
        channel: SipChannel,
        route: routing_service.Route,
        trace: Trace,
        *,
        caller: SipUser | None,
        trunk_id: str | None,
    ) -> None:
        """Ring a group's members; the route's voicemail (when it has one) takes the
        call nobody answers, else the caller hears why (the call's application)."""
        group_id = route.target
        assert group_id is not None
        caller_name = self._caller_address(event.request, caller)
        steps = await self._group_steps(route.account_id, group_id, caller_name)
        box = (
            await self._voicemail_box(route.account_id, route.number, route.voicemail_user_id)
            if route.voicemail_user_id is not None
            else None
        )
        if not steps:
            if box is None:
                self._reply(event, channel, 480)  # nobody to ring, nowhere to leave a message
            else:
                self._voicemail(event, channel, box, trace=trace, caller=caller, trunk_id=trunk_id)
            return
        await self.bridge.start(
            event,
            channel,
            account_id=route.account_id,
            direction="inbound" if caller is None else "internal",
            from_number=_from_number(event.request, caller),
            to_number=route.number,
            steps=steps,
            a_trace=trace,
            voicemail=box,
            users={caller.id} if caller is not None else set(),
            # Nobody's until a member answers (the bridge names that member then).
            user_id=None,
            trunk_id=trunk_id,
            caller_user_id=caller.id if caller is not None else None,
        )

    async def _voicemail_box(self, account_id: str, number: str, user_id: str | None) -> MessageBox:
        """``user_id``'s voicemail box for calls to ``number`` (None: the number's own):
        the user's greeting, else the packaged one."""
        greeting_name = None
        if user_id is not None:
            greeting_name = await self._read(
                lambda s: getattr(
                    user_service.get_user(s, account_id, user_id), "voicemail_greeting", None
                )
            )
        greeting = (
            self.config.greetings_dir / greeting_name
            if greeting_name
            else default_voicemail_greeting_path()
        )
        return MessageBox(
            account_id,
            user_id,
            number,
            self.config.voicemail_dir / account_id,
            greeting,
            self.config.voicemail_max_seconds,
        )

    def _voicemail(
        self,
        event: RequestReceived,
        channel: SipChannel,
        box: MessageBox,
        *,
        trace: Trace,
        caller: SipUser | None = None,
        trunk_id: str | None = None,
    ) -> None:
        """Answer with ``box`` at once (the ``Voicemail`` application). The record is
        like the answered call's would have been: ``internal`` from a device, naming the
        box's owner, the caller by extension."""
        self.answering.answer(
            event,
            channel,
            AnswerTarget(
                account_id=box.account_id,
                to_number=box.number,
                greeting_path=box.greeting,
                recordings_dir=box.directory,
                voicemail_user_id=box.user_id,
                voicemail=True,
                max_seconds=box.max_seconds,
                from_number=_from_number(event.request, caller),
                legs=(trace,),
                # V2 counts the call against the caller; the record names the box's owner.
                user_id=caller.id if caller is not None else None,
                record_user_id=box.user_id,
                direction="inbound" if caller is None else "internal",
                trunk_id=trunk_id,
            ),
        )

    # -- outbound ---------------------------------------------------------------------

    async def _trunk_steps(
        self, account_id: str, number: str, caller_id: str, trace_account: str | None = None
    ) -> tuple[list[Step], list[TrunkInfo]]:
        trunks = await self._cached(
            ("outbound", account_id),
            lambda s: [_trunk_info(t) for t in trunk_service.outbound_trunks(s, account_id)],
        )
        steps: list[Step] = []
        infos: list[TrunkInfo] = []
        for trunk in trunks:
            if trunk is None:
                continue
            channel = self.channels.get(trunk.transport)
            if channel is None:
                continue
            try:
                host = await self._resolve(trunk.host)
            except OSError as exc:
                log.warning("trunk %s: cannot resolve %s (%s)", trunk.id, trunk.host, exc)
                continue
            peer = (host, trunk.port)
            callee = _format(number, trunk.caller_id_format)
            shown = _format(caller_id, trunk.caller_id_format)
            uri = SipUri("sip", host=trunk.host, port=trunk.port, user=callee)
            credentials = self._trunk_credentials(trunk)
            destination = Destination(
                uri=uri,
                channel=channel,
                peer=peer,
                to=NameAddress(SipUri("sip", host=trunk.host, user=callee)),
                caller=NameAddress(SipUri("sip", host=self.config.advertised_host, user=shown)),
                trace={
                    "kind": "trunk",
                    "id": trunk.id,
                    "source": f"{channel.name}:{peer[0]}:{peer[1]}",
                    "user_agent": None,
                },
                credentials=credentials,
            )
            steps.append(Step([destination], None, trunk_failover))
            infos.append(trunk)
        return steps, infos

    def _trunk_credentials(self, trunk: TrunkInfo) -> Credentials | None:
        """The credentials a leg answers the trunk's digest challenge with, as the
        trunk's registration does: ``auth_username`` else ``username``. The engine's only
        place to open the sealed password (never logged); the registration opens it for
        its own challenges."""
        name = trunk.auth_username or trunk.username
        if not name:
            return None
        password = ""
        if trunk.password_sealed is not None and self.config.sealing_key is not None:
            try:
                opened = trunk_service.open_password(
                    trunk.id, trunk.password_sealed, self.config.sealing_key
                )
            except SealError:
                log.warning("trunk %s: its password does not open with this key", trunk.id)
            else:
                password = opened or ""
        return Credentials(name, password)

    async def _resolve(self, host: str) -> str:
        cached = self._resolved.get(host)
        if cached is not None:
            return cached
        infos = await self.loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        address = str(infos[0][4][0])
        self._resolved[host] = address
        return address

    async def _outbound(
        self,
        event: RequestReceived,
        channel: SipChannel,
        intent: CallIntent,
        trace: Trace,
        caller: SipUser,
    ) -> None:
        """A device calls an external number its checks let through (TERMS V5, V10,
        N13…): through the account's trunks, presenting the caller ID checked."""
        assert intent.e164 is not None
        assert intent.caller_id is not None
        await self._trunk_call(
            event, channel, trace, caller, from_number=intent.caller_id, to_number=intent.e164
        )

    async def _emergency(
        self,
        event: RequestReceived,
        channel: SipChannel,
        intent: CallIntent,
        trace: Trace,
        caller: SipUser,
    ) -> None:
        """An emergency call V7 let through (a location registered, the misrouting
        warning acknowledged, a country the operator serves, never from a mobile
        number). It presents a number the account holds (the one asked for, else the
        user's own, else the account's first: a caller-ID mistake must not stop it) and
        goes to the trunks with the number as dialled."""
        candidate = intent.caller_id
        log.warning(
            "EMERGENCY call %s: user %s (%s) dials %s from %s, location in %s",
            event.request.call_id,
            caller.sip_username,
            caller.id,
            intent.dialed,
            candidate,
            intent.emergency_caller.location_country,
        )
        await self._trunk_call(
            event,
            channel,
            trace,
            caller,
            from_number=candidate or caller.sip_username,
            to_number=intent.dialed,
        )

    async def _trunk_call(
        self,
        event: RequestReceived,
        channel: SipChannel,
        trace: Trace,
        caller: SipUser,
        *,
        from_number: str,
        to_number: str,
    ) -> None:
        """Bridge a device's call out through the account's trunks (503 without one)."""
        steps, _ = await self._trunk_steps(caller.account_id, to_number, from_number)
        if not steps:
            log.warning("call %s: no trunk can carry it", event.request.call_id)
            warning = '399 dialtone "trunk.none: no trunk can carry this call"'
            self._reply(event, channel, 503, (("Warning", warning),))
            return
        await self.bridge.start(
            event,
            channel,
            account_id=caller.account_id,
            direction="outbound",
            from_number=from_number,
            to_number=to_number,
            steps=steps,
            a_trace=trace,
            users={caller.id},
            user_id=caller.id,
            caller_user_id=caller.id,
        )

    async def _forward(
        self,
        event: RequestReceived,
        channel: SipChannel,
        route: routing_service.Route,
        trace: Trace,
        *,
        trunk_id: str | None,
    ) -> None:
        """Forward to an external number (TERMS V4: billed per minute; N10: never to an
        inactive endpoint). The caller ID shown is the forwarded number, which the
        account holds (V10)."""
        target = route.target
        assert target is not None
        # V5 again at call time (the account's permissions or the operator's lists may
        # have changed since the route was set), then N10: a trunk to carry it.
        account = await self._account_facts(route.account_id)
        steps, _ = await self._trunk_steps(route.account_id, target, route.number)
        intent = call_facts.forward_intent(account, target, trunks_available=bool(steps))
        outcome = setup_outcome(Action.FORWARD, intent)
        if outcome.refusal is not None:
            await self._refuse(
                event,
                channel,
                outcome.refusal.decision,
                account_id=route.account_id,
                actor=f"number:{route.number}",
                action="call.forward",
                source=trace["source"],
            )
            return
        await self.bridge.start(
            event,
            channel,
            account_id=route.account_id,
            direction="forward",
            from_number=_from_number(event.request, None),
            to_number=target,
            steps=steps,
            a_trace=trace,
            trunk_id=trunk_id,
        )

    # -- click-to-call ----------------------------------------------------------------

    async def click_to_call(
        self, account_id: str, user_id: str, to: str, caller_id: str | None = None
    ) -> str:
        """``POST /v1/calls``: ring the user's registered devices; when one answers, call
        ``to`` (an extension of the account or a number) and bridge them. Returns the
        call's id once the devices ring.

        Refusals raise DialtoneError: ``user.not_found``; the first refusal of the
        click-to-call checks (``policy.checklist.checks``: ``billing.suspended`` B10,
        ``concurrency.user_limit`` V2, ``caller_id.*`` V10/N13, ``emergency.*`` V7,
        ``destination.*`` V5/V6, ``call.destination_invalid``, ``fair_use.*`` F5,
        ``dnc.listed``/``calling_window.closed`` V12, ``billing.*`` B14/B15/B4);
        ``call.user_unreachable`` when the user has no registered device; ``trunk.none``;
        ``call.capacity`` when the RTP ports are exhausted.
        """
        target = to.strip()
        # The caller ID asked for is checked as given (V10), as before.
        setup = call_facts.Setup(Action.CLICK_TO_CALL, account_id, target, user_id, caller_id)
        intent, callee, _, user = await self._call_facts(setup, placer=True)
        assert user is not None
        if not user.can_take_calls:
            raise Conflict("call.user_unreachable", "This user cannot take calls.")
        intent = replace(
            intent, active_calls=self._active(user.id), channels=user.channels, now=self.now()
        )
        outcome = setup_outcome(Action.CLICK_TO_CALL, intent)
        if outcome.refusal is not None:
            raise outcome.refusal.decision.as_error()
        caller_id = intent.caller_id
        assert caller_id is not None
        e164 = None if outcome.go == "extension" else intent.e164
        shown = NameAddress(
            SipUri("sip", host=self.config.advertised_host, user=target),
            display_name="Click-to-call",
        )
        devices = self._device_destinations(user, shown)
        if not devices:
            raise Conflict("call.user_unreachable", "The user has no registered device.")
        if e164 is not None:
            steps, _ = await self._trunk_steps(account_id, e164, caller_id)
            if not steps:
                raise DialtoneError("trunk.none", "No trunk can carry this call.", status=503)
        caller_name = NameAddress(SipUri("sip", host=self.config.advertised_host, user=caller_id))

        async def destination(call: BridgedCall) -> list[Step]:
            if callee is not None:
                found = self._device_destinations(callee, caller_name)
                return [Step(found, self.config.no_answer_seconds)] if found else []
            assert e164 is not None
            steps, _ = await self._trunk_steps(account_id, e164, caller_id)
            return steps

        try:
            call = await self.bridge.originate(
                account_id=account_id,
                user_id=user.id,
                from_number=caller_id,
                to_number=e164 or target,
                devices=[Step(devices, self.config.no_answer_seconds)],
                destination=destination,
            )
        except PortsExhausted:
            raise DialtoneError(
                "call.capacity", "No media ports are free; try again later.", status=503
            ) from None
        if callee is not None:
            call.users.add(callee.id)
        log.info("click-to-call %s: %s -> %s", call.record_id, user.sip_username, to)
        return call.record_id

    def live_call(self, account_id: str, call_id: str) -> call_service.LiveCall | None:
        """The account's call ``call_id`` while it is in progress (ringing or answered),
        for ``GET /v1/calls/{id}``; None once its record is written (or never was).
        Runs on the event loop (the API calls it from its threads through anyio)."""
        for bridged in list(self.bridge.calls):
            if bridged.record_id == call_id and bridged.account_id == account_id:
                return self.bridge.live_view(bridged)
        return self.answering.live_call(account_id, call_id)

    async def object_to_recording(
        self, account_id: str, call_id: str, *, actor: str, user_id: str | None = None
    ) -> None:
        """``POST /v1/calls/{id}/recording/objection`` (TERMS V8, a party objects): the
        live call's recording stops at once and what was recorded is deleted; the
        objection goes on the audit log. ``user_id`` narrows to that user's calls.

        Raises ``call.not_found`` when the account (or the user) has no such call in
        progress, ``recording.not_recording`` when it is not being recorded."""
        call = self.bridge.live_call(call_id)
        if (
            call is None
            or call.account_id != account_id
            or (user_id is not None and user_id not in call.users)
        ):
            raise NotFound("call.not_found", f"No call {call_id} is in progress.")
        if not self.bridge.stop_recording(call):
            raise Conflict("recording.not_recording", f"Call {call_id} is not being recorded.")
        decision = recording.objection((call.from_number, call.to_number))
        await self._audit(
            AuditEntry.of_decision(
                decision,
                at=self.now(),
                account_id=account_id,
                actor=actor,
                action="call.recording",
                outcome="enforced",
                call_id=call.record_id,
            )
        )

    # -- transfer ---------------------------------------------------------------------

    async def _party_address(self, call: BridgedCall, leg: Leg | None, side: int) -> NameAddress:
        """How a party of ``call`` is shown to another: a user by extension (and name),
        anyone else by the call's number on that side (0 the caller, 1 the callee)."""
        host = self.config.advertised_host
        user_id = leg.user_id if leg is not None else None
        if user_id is not None:
            account_id = call.account_id

            def read(session: Session) -> tuple[str, str | None] | None:
                try:
                    user = user_service.get_user(session, account_id, user_id)
                except NotFound:
                    return None  # deleted since the call began
                return (user.extension or user.sip_username or user_id, user.name)

            found = await self._read(read)
            if found is not None:
                return NameAddress(SipUri("sip", host=host, user=found[0]), found[1])
        number = call.from_number if side == 0 else call.to_number
        return NameAddress(SipUri("sip", host=host, user=number))

    async def _transfer_steps(self, call: BridgedCall, transferor: Leg, target: Uri) -> list[Step]:
        """Where a REFER's Refer-To leads, seen from the call's account: a colleague's
        devices, or a number checked exactly as a direct call of the account would be
        (B10, V6, V5, F5, V12, B14/B15/B4, V10); a refusal raises ``TransferRefused``
        with its status and code for the transferor's NOTIFY, once on the audit log."""
        dialed = getattr(target, "user", None)
        if dialed is None:
            return []
        transferee = call.b if transferor is call.a else call.a
        return await self._checked_steps(
            call,
            dialed,
            transferor.user_id,
            shown=(transferee, 1 - transferor.side),
            referrer=await self._party_address(call, transferor, transferor.side),
        )

    async def _application_steps(self, call: BridgedCall, target: str) -> list[Step]:
        """Where an application's ``Bridge`` or ``Transfer`` leads: a user's devices
        ("user:<id>", when they can take a call, V2), a ring group's members
        ("group:<id>"), or a number (or extension) checked as a REFER's target is, on
        the one decision path (B10, V6, V5, F5, V12, B14/B15/B4, V10); a refusal raises
        ``TransferRefused`` with its status and code, once on the audit log."""
        account_id = call.account_id
        kind, _, ident = target.partition(":")
        if kind in ("user", "group") and ident:
            shown = await self._party_address(call, call.a, 0)  # the caller
            if kind == "group":
                try:
                    return await self._group_steps(account_id, ident, shown)
                except NotFound:
                    return []

            def read(session: Session) -> SipUser | None:
                try:
                    return _sip_user(user_service.get_user(session, account_id, ident), session)
                except NotFound:
                    return None

            callee = await self._read(read)
            if callee is None or not callee.can_take_calls:
                return []
            if call_setup.user_concurrency(self._active(callee.id), callee.channels).refused:
                return []
            found = self._device_destinations(callee, shown)
            return [Step(found, self.config.no_answer_seconds)] if found else []
        # The placer is the call's user (the number's holder): their trial minutes count.
        return await self._checked_steps(
            call, target, call.call.spec.user_id, shown=(call.a, 0), referrer=None
        )

    async def _checked_steps(
        self,
        call: BridgedCall,
        dialed: str,
        placer_id: str | None,
        *,
        shown: tuple[Leg | None, int],
        referrer: NameAddress | None,
    ) -> list[Step]:
        """A transfer's target (``dialed``: a number or an extension) seen from the
        call's account, through the policy decision path for the transfer action: a
        colleague's devices or the trunks; ``shown`` is the party the target talks to
        (a leg and its side), ``referrer`` who handed it over (Referred-By)."""
        account_id = call.account_id
        # The transferee is shown the call's number (V10); the placer's trial minutes
        # count (B14). V2 does not apply: no new call of a user begins.
        setup = call_facts.Setup(Action.TRANSFER, account_id, dialed, placer_id, call.to_number)
        intent, callee, _, _ = await self._call_facts(setup, channels=1)
        intent = replace(intent, now=self.now())
        outcome = setup_outcome(Action.TRANSFER, intent)
        if outcome.refusal is not None:
            refusal = outcome.refusal.decision
            log.info(
                "call %s: transfer to %s refused: %s", call.record_id, intent.e164, refusal.code
            )
            await self._audit(
                AuditEntry.of_decision(
                    refusal,
                    at=self.now(),
                    account_id=account_id,
                    actor=f"call:{call.record_id}",
                    action=outcome.audit_action,
                )
            )
            raise TransferRefused(outcome.sip_status(), refusal.code or "refused")
        if callee is not None:
            # The target talks to the transferee: it is shown the transferee, and the
            # transferor in Referred-By (RFC 3515 §2.4.2 with RFC 3892, RFC 5589 §6).
            party = await self._party_address(call, *shown)
            found = self._device_destinations(callee, party)
            if referrer is not None:
                found = [replace(d, extra_headers=(("Referred-By", str(referrer)),)) for d in found]
            return [Step(found, self.config.no_answer_seconds)] if found else []
        caller_id = intent.caller_id
        assert intent.e164 is not None
        assert caller_id is not None
        steps, _ = await self._trunk_steps(account_id, intent.e164, caller_id)
        return steps


class EngineFacts(NamedTuple):
    """An action's facts as the engine gathered them (``CallEngine._call_facts``), with
    what it acts on once they pass: the extension's user, the route of one of our
    numbers, the user placing the call (when asked for)."""

    intent: CallIntent
    callee: SipUser | None
    route: routing_service.Route | None
    placer: SipUser | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the engine does with an action once its facts are in: ``refusal``, the first
    refusing check, is put on the audit log as ``audit_action`` with ``inputs`` and
    answered (a SIP status, a transfer's NOTIFY, click-to-call's HTTP error); otherwise
    the call goes to ``go``: "extension" (a colleague's devices), "route" (one of our
    numbers, rung as an inbound call), "emergency" (the trunks, V7 passed) or "trunks"."""

    refusal: CheckResult | None
    go: str
    audit_action: str
    inputs: Mapping[str, object]

    def sip_status(self) -> int:
        """The SIP status the refusal is answered with."""
        assert self.refusal is not None
        return self.refusal.decision.sip_status()


_AUDIT_ACTION = {
    Action.DEVICE_CALL: "call.outbound",
    Action.CLICK_TO_CALL: "call.outbound",
    Action.FORWARD: "call.forward",
    Action.TRANSFER: "call.transfer",
    Action.INBOUND_CALL: "call.inbound",
}


def setup_outcome(action: Action, intent: CallIntent) -> Outcome:
    """The engine's decision for ``action`` on ``intent``: the checks of
    :func:`dialtone.policy.checklist.checks`, consumed up to the first refusal (nothing
    after it is evaluated), and where an allowed call goes. Every call path of the engine
    decides here; the dry run evaluates the same checks all through."""
    last: CheckResult | None = None
    for result in checks(action, intent):
        last = result
        if result.decision.refused:
            return _refusal(action, intent, result)
    if last is not None and last.name == "emergency":
        go = "emergency"
    elif intent.is_extension:
        go = "extension"
    elif intent.routed or action is Action.INBOUND_CALL:
        go = "route"
    else:
        go = "trunks"
    return Outcome(None, go, _AUDIT_ACTION[action], {})


def _refusal(action: Action, intent: CallIntent, result: CheckResult) -> Outcome:
    """A refusal with the audit inputs each check has always been recorded with."""
    name = result.name
    audit_action = _AUDIT_ACTION[action]
    inputs: dict[str, object] = {}
    if name == "emergency":
        audit_action = "call.emergency"
        inputs["caller_number"] = intent.caller_id
    elif action is Action.DEVICE_CALL:
        if name in ("billing_standing", "concurrency"):
            inputs["dialed"] = intent.dialed or None
        elif name == "dialling":
            inputs["country"] = intent.country
        elif name == "caller_id":
            inputs["number"] = intent.e164
    return Outcome(result, "", audit_action, inputs)


def not_rung(busy: Decision) -> tuple[str, int]:
    """Why a user's devices are not rung, and the SIP status that says it: 486 when the
    user already has as many calls as channels (``busy`` is TERMS V2's refusal), else 480
    (no registered device, or a user who cannot take calls)."""
    return ("busy (V2)", 486) if busy.refused else ("no registered device", 480)


def _asked_caller_id(request: Request, caller: SipUser) -> str | None:
    """The number a device asks to present (P-Asserted-Identity, else From) when it is a
    number rather than the user's own name or extension; None: the default applies."""
    asserted = request.headers.get("P-Asserted-Identity")
    user: str | None = getattr(request.from_.uri, "user", None)
    if asserted is not None:
        with contextlib.suppress(SipParseError):
            user = getattr(parse_name_address(asserted).uri, "user", None) or user
    if user is not None and user not in (caller.sip_username, caller.extension):
        return number_service.dialed_to_e164(user) or user
    return None


def _format(e164: str, style: str) -> str:
    return trunk_service.format_number(e164, style)


def _from_number(request: Request, caller: SipUser | None) -> str:
    if caller is not None:
        return caller.extension or caller.sip_username
    user = getattr(request.from_.uri, "user", None)
    if user:
        return number_service.dialed_to_e164(user) or user
    return str(request.from_.uri)


def _trunk_info(trunk: object | None) -> TrunkInfo | None:
    if trunk is None:
        return None
    return TrunkInfo(
        id=trunk.id,  # type: ignore[attr-defined]
        host=trunk.host,  # type: ignore[attr-defined]
        port=trunk.port,  # type: ignore[attr-defined]
        transport=trunk.transport,  # type: ignore[attr-defined]
        username=trunk.username,  # type: ignore[attr-defined]
        password_sealed=trunk.password_sealed,  # type: ignore[attr-defined]
        caller_id_format=trunk.caller_id_format,  # type: ignore[attr-defined]
        auth_username=trunk.auth_username,  # type: ignore[attr-defined]
    )


def _sip_user(user: object | None, session: Session) -> SipUser | None:
    if user is None:
        return None
    return SipUser(
        id=user.id,  # type: ignore[attr-defined]
        account_id=user.account_id,  # type: ignore[attr-defined]
        sip_username=user.sip_username or "",  # type: ignore[attr-defined]
        name=user.name,  # type: ignore[attr-defined]
        extension=user.extension,  # type: ignore[attr-defined]
        ha1_md5=user.ha1_md5,  # type: ignore[attr-defined]
        ha1_sha256=user.ha1_sha256,  # type: ignore[attr-defined]
        channels=user_service.channels_for(session, user),  # type: ignore[arg-type]
        can_take_calls=user_service.can_take_calls(user),  # type: ignore[arg-type]
    )
