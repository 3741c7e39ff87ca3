"""The call engine: the SIP transaction user that decides what every request becomes.

An INVITE is first identified: a carrier trunk (by source address, TERMS V11), a public
caller dialing one of the platform's numbers, or a device, which must authenticate
(digest, 407). Then it is routed: the number's route (greeting, a user's devices, a ring
group, a forward, voicemail), a colleague's extension, or, from a device, an external
number through the account's trunks. The rules of call setup are decided on one path:
each action's facts are gathered once (``services.call_facts``, one thread hop) and run
through ``policy.checklist.checks`` up to the first refusal
(:func:`~dialtone.runtime.setup_decision.setup_outcome`), the order the dry run shows;
every refusal carries its reason code.

``CallEngine`` is the front the server uses; its parts each do one job:
``engine_context`` (what they share: the store, the cache, the audit log, a setup's
facts), ``register_handler`` (REGISTER), ``setup_decision`` (the checks' outcome),
``steps`` (who a call rings, as steps), ``routes`` (the call a route leads to) and
``entry_points`` (click-to-call, the API's live view and V8 objection, a REFER's or an
application's target).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dialtone.policy.checklist import Action
from dialtone.services import call_facts
from dialtone.services.numbering import numbers as number_service
from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony import routing as routing_service
from dialtone.services.telephony import trunks as trunk_service
from dialtone.services.telephony import users as user_service
from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    MessageRejected,
    Output,
    RequestReceived,
    StraySuccess,
)
from dialtone.sip.transaction import ResponseReceived, TransactionTimedOut

from .answering import CallHandler
from .audit_writer import AuditWriter
from .auth import Authenticator
from .b2bua import Bridge
from .engine_context import (
    EngineConfig,
    EngineContext,
    asked_caller_id,
    client_of,
    trace_of,
    trunk_info,
)
from .entry_points import EntryPoints
from .register_handler import Registrations
from .registrar import Registrar
from .routes import Router
from .setup_decision import setup_outcome
from .shared import LiveCalls
from .steps import Steps
from .tasks import TaskSet
from .transports import SipChannel

log = logging.getLogger("dialtone.engine")

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, REFER, NOTIFY"


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
        live: LiveCalls | None = None,
    ) -> None:
        self.ctx = EngineContext(
            channels=channels,
            sessions=sessions,
            reads=reads,
            config=config,
            registrar=registrar,
            bridge=bridge,
            answering=answering,
            audit=audit or AuditWriter(sessions, reads),
            wallclock=wallclock,
            live=live,
        )
        self.auth = authenticator
        self.registrations = Registrations(self.ctx, authenticator)
        self.steps = Steps(self.ctx)
        self.router = Router(self.ctx, self.steps)
        self.entries = EntryPoints(self.ctx, self.steps)
        bridge.resolve_transfer = self.entries.transfer_steps
        bridge.resolve_target = self.entries.application_steps
        bridge.recording_dir_for = self.ctx.recording_setup
        for channel in channels.values():
            channel.on_event = self.handle
            channel.on_closed = self._connection_closed

    # -- what the server and the API use ------------------------------------------------

    @property
    def config(self) -> EngineConfig:
        return self.ctx.config

    @property
    def registrar(self) -> Registrar:
        return self.ctx.registrar

    @property
    def bridge(self) -> Bridge:
        return self.ctx.bridge

    @property
    def answering(self) -> CallHandler:
        return self.ctx.answering

    @property
    def audit(self) -> AuditWriter:
        return self.ctx.audit

    @property
    def background(self) -> TaskSet:
        return self.ctx.background

    @property
    def operator(self) -> call_facts.OperatorPolicy:
        """The operator's side of the checks, from the settings (V5, V6, V7)."""
        return self.ctx.operator

    def active_calls(self, user_id: str) -> int:
        """The user's calls in progress on every worker (TERMS V2), for the dry run."""
        return self.ctx.active_calls(user_id)

    async def click_to_call(
        self, account_id: str, user_id: str, to: str, caller_id: str | None = None
    ) -> str:
        """``POST /v1/calls`` (see ``EntryPoints.click_to_call``)."""
        return await self.entries.click_to_call(account_id, user_id, to, caller_id)

    def live_call(self, account_id: str, call_id: str) -> call_service.LiveCall | None:
        """``GET /v1/calls/{id}`` of a call in progress (see ``EntryPoints.live_call``)."""
        return self.entries.live_call(account_id, call_id)

    def live_calls(self, account_id: str | None) -> list[call_service.LiveCall]:
        """The calls in progress of the account (None: all), for the web console."""
        return self.entries.live_calls(account_id)

    async def object_to_recording(
        self, account_id: str, call_id: str, *, actor: str, user_id: str | None = None
    ) -> None:
        """TERMS V8, a party objects (see ``EntryPoints.object_to_recording``)."""
        await self.entries.object_to_recording(account_id, call_id, actor=actor, user_id=user_id)

    # -- dispatch ---------------------------------------------------------------------

    def handle(self, event: Output, channel: SipChannel) -> None:
        """One endpoint event from ``channel``."""
        if isinstance(event, RequestReceived):
            self._on_request(event, channel)
        elif isinstance(event, AckReceived):
            request = event.request
            if self.ctx.bridge.owns(request.call_id, request.to.tag):
                self.ctx.bridge.on_ack(event)
            else:
                self.ctx.answering.handle(event, channel)
        elif isinstance(event, CancelReceived):
            if self.ctx.bridge.owns_invite(event.invite):
                self.ctx.bridge.on_cancel(event, channel)
            else:
                self.ctx.answering.handle(event, channel)
        elif isinstance(event, ResponseReceived):
            self.ctx.bridge.on_response(event)
        elif isinstance(event, StraySuccess):
            self.ctx.bridge.on_stray_success(event, channel)
        elif isinstance(event, TransactionTimedOut):
            if not self.ctx.bridge.on_timeout(event):
                self.ctx.answering.handle(event, channel)
        elif isinstance(event, MessageRejected):
            self.ctx.answering.handle(event, channel)

    def _on_request(self, event: RequestReceived, channel: SipChannel) -> None:
        request = event.request
        method = request.method
        to_tag = request.to.tag
        if to_tag is not None:
            if self.ctx.bridge.owns(request.call_id, to_tag):
                self.ctx.bridge.on_request(event, channel)
            else:
                self.ctx.answering.handle(event, channel)
            return
        if method == "OPTIONS":
            extra = (("Allow", ALLOW), ("Accept", "application/sdp"))
            self.ctx.reply(event, channel, 200, extra)
        elif method == "REGISTER":
            self.ctx.spawn(
                self._guarded(self.registrations.on_register(event, channel), event, channel)
            )
        elif method == "INVITE":
            self.ctx.spawn(self._guarded(self._on_invite(event, channel), event, channel))
        else:
            self.ctx.reply(event, channel, 481 if method in ("BYE", "INFO", "REFER") else 405)

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
                self.ctx.reply(event, channel, 500)

    def _connection_closed(self, peer: tuple[str, int], channel: SipChannel) -> None:
        self.ctx.spawn(self.ctx.registrar.connection_closed(peer, channel.name))

    # -- INVITE -----------------------------------------------------------------------

    async def _on_invite(self, event: RequestReceived, channel: SipChannel) -> None:
        request = event.request
        # Behind an edge, the caller's own address (issue 19): a trunk is known by it, a
        # device's failures are counted against it. From anyone else the packet's source.
        client = client_of(event, channel, self.ctx.config)
        source = client.address
        user_agent = request.headers.get("User-Agent")
        dialed = getattr(request.uri, "user", None)
        trunk = None
        if dialed is not None and dialed.startswith(trunk_service.CONTACT_PREFIX):
            # Sent to the contact a trunk registered (issue 13): that trunk's provider,
            # whatever the source address; the number called is in To.
            contact_user = dialed
            trunk = await self.ctx.cached(
                ("trunk-contact", contact_user),
                lambda s: trunk_info(trunk_service.trunk_for_contact(s, contact_user)),
            )
            dialed = getattr(request.to.uri, "user", None) if trunk is not None else None
        e164 = number_service.dialed_to_e164(dialed)
        if trunk is None:
            trunk = await self.ctx.cached(
                ("trunk", source[0], source[1]),
                lambda s: trunk_info(trunk_service.trunk_for_source(s, source[0], source[1])),
            )
        route = (
            await self.ctx.cached(("route", e164), lambda s: routing_service.route_for(s, e164))
            if e164
            else None
        )
        from_user = getattr(request.from_.uri, "user", None)
        is_device = from_user is not None and await self.ctx.cached(
            ("device", from_user),
            lambda s: user_service.find_sip_user(s, from_user) is not None,
        )
        credentials = "Proxy-Authorization" in request.headers
        if trunk is None and route is not None and not is_device and not credentials:
            # Carriers often send from another port than the one we send to. A looser
            # match by address alone is kept for calls to our own numbers from callers
            # that are not our devices: anything else from that address is challenged.
            trunk = await self.ctx.cached(
                ("trunk", source[0], None),
                lambda s: trunk_info(trunk_service.trunk_for_source(s, source[0])),
            )
        if trunk is not None:
            trace = trace_of(
                "trunk", trunk.id, channel, source, user_agent, transport=client.transport
            )
            if route is None:
                self.ctx.reply(event, channel, 404)
                return
            await self.router.apply_route(
                event, channel, route, trace, caller=None, trunk_id=trunk.id
            )
            return
        if route is not None and not is_device and not credentials:
            # A call from outside to one of the platform's numbers: like a carrier's.
            trace = trace_of(
                "public", None, channel, source, user_agent, transport=client.transport
            )
            await self.router.apply_route(event, channel, route, trace, caller=None)
            return
        outcome = await self.auth.authenticate(request, source[0])
        caller = outcome.user
        if caller is None:
            self.ctx.reply(event, channel, outcome.status, outcome.headers)
            return
        trace = trace_of("user", caller.id, channel, source, user_agent, transport=client.transport)
        trace["account"] = caller.account_id
        asked = asked_caller_id(request, caller)
        setup = call_facts.Setup(Action.DEVICE_CALL, caller.account_id, dialed, caller.id, asked)
        intent, callee, own_route, _ = await self.ctx.gather_facts(setup, channels=caller.channels)
        intent = replace(
            intent,
            active_calls=await self.ctx.active_everywhere(caller.id),
            channels=caller.channels,
            now=self.ctx.now(),
        )
        decided = setup_outcome(Action.DEVICE_CALL, intent)
        if decided.refusal is not None:
            await self.ctx.refuse_call(
                event,
                channel,
                decided.refusal.decision,
                caller,
                decided.audit_action,
                **decided.inputs,
            )
            return
        if decided.go == "emergency":
            await self.router.emergency(event, channel, intent, trace, caller)
        elif decided.go == "extension" and callee is not None:
            await self.router.ring_user(
                event, channel, callee, trace, caller=caller, direction="internal"
            )
        elif decided.go == "route" and own_route is not None:
            await self.router.apply_route(event, channel, own_route, trace, caller=caller)
        else:
            await self.router.outbound(event, channel, intent, trace, caller)
