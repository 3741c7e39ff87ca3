"""What the parts of the call engine share: its configuration, the store read through the
look-up cache, refusals answered once on the audit log, a setup's facts gathered in one
thread hop (``EngineContext.gather_facts``), and the small readers of the store's rows
(``sip_user``, ``trunk_info``) and of a request (``from_number``, ``asked_caller_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy.orm import Session, sessionmaker

from dialtone.logs import LOG_IDS, LogIds
from dialtone.policy import (
    call_setup,
    destinations,
    emergency,
)
from dialtone.policy.checklist import CallIntent
from dialtone.policy.decision import Decision
from dialtone.services import call_facts
from dialtone.services.accounts.audit import AuditEntry
from dialtone.services.numbering import numbers as number_service
from dialtone.services.telephony import routing as routing_service
from dialtone.services.telephony import trunks as trunk_service
from dialtone.services.telephony import users as user_service
from dialtone.sip.edge import ClientSource, client_source
from dialtone.sip.endpoint import RequestReceived
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import parse_name_address
from dialtone.sip.message import Request, make_response
from dialtone.store.db import transaction
from dialtone.store.models import Account

from .answering import CallHandler
from .audit_writer import AuditWriter
from .auth import SipUser
from .b2bua import (
    Bridge,
    RecordingSetup,
    Trace,
)
from .lookups import LookupCache
from .registrar import Registrar
from .shared import LiveCalls
from .shared.in_process import NoOtherWorkers
from .tasks import TaskSet
from .transports import SipChannel

log = logging.getLogger("dialtone.engine")
T = TypeVar("T")


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
    # Issue 19: the SIP edges (IP, port) whose X-Dialtone-Source is believed.
    edges: frozenset[tuple[str, int]] = frozenset()


def trace_of(
    kind: str,
    ident: str | None,
    channel: SipChannel,
    source: tuple[str, int],
    ua: str | None,
    *,
    transport: str | None = None,
) -> Trace:
    """A leg's trace (TERMS V11): who, from where (``transport`` when the client's differs
    from the channel's, behind an edge), with what."""
    return {
        "kind": kind,
        "id": ident,
        "source": f"{transport or channel.name}:{source[0]}:{source[1]}",
        "user_agent": ua,
    }


def client_of(event: RequestReceived, channel: SipChannel, config: EngineConfig) -> ClientSource:
    """The client a request came from: the packet's source, or behind a configured edge the
    address the edge reported (``sip.edge.client_source``, issue 19)."""
    return client_source(event.request, event.source, channel.name, config.edges)


class EngineFacts(NamedTuple):
    """An action's facts as the engine gathered them (``EngineContext.gather_facts``), with
    what it acts on once they pass: the extension's user, the route of one of our
    numbers, the user placing the call (when asked for)."""

    intent: CallIntent
    callee: SipUser | None
    route: routing_service.Route | None
    placer: SipUser | None = None


def asked_caller_id(request: Request, caller: SipUser) -> str | None:
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


def format_number(e164: str, style: str) -> str:
    return trunk_service.format_number(e164, style)


def from_number(request: Request, caller: SipUser | None) -> str:
    if caller is not None:
        return caller.extension or caller.sip_username
    user = getattr(request.from_.uri, "user", None)
    if user:
        return number_service.dialed_to_e164(user) or user
    return str(request.from_.uri)


def trunk_info(trunk: object | None) -> TrunkInfo | None:
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


def sip_user(user: object | None, session: Session) -> SipUser | None:
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


class EngineContext:
    """What every part of the engine shares: the channels, the store (reads through the
    look-up cache), the audit log, the registrar, the two seams calls run on, the clock;
    and the one way a call setup's facts are gathered (``gather_facts``)."""

    def __init__(
        self,
        *,
        channels: dict[str, SipChannel],
        sessions: sessionmaker[Session],
        reads: Executor,
        config: EngineConfig,
        registrar: Registrar,
        bridge: Bridge,
        answering: CallHandler,
        audit: AuditWriter,
        wallclock: Callable[[], datetime],
        live: LiveCalls | None = None,
    ) -> None:
        self.channels = channels
        self.sessions = sessions
        self.reads = reads
        self.config = config
        self.registrar = registrar
        self.bridge = bridge
        self.answering = answering
        self.audit = audit
        self.now = wallclock
        self.background = TaskSet(log, "engine")
        self.lookups = LookupCache(config.lookup_cache_seconds)
        # The users' live calls on the other workers (issue 19; none in process).
        self.live: LiveCalls = live if live is not None else NoOtherWorkers()
        if live is not None:
            answering.driver.on_users_changed = live.changed
            live.attach(self.active, self.local_counts)

    # -- plumbing ---------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def read(self, fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with transaction(self.sessions) as session:
                return fn(session)

        return await self.loop.run_in_executor(self.reads, run)

    async def cached(self, key: tuple[object, ...], fn: Callable[[Session], T]) -> T:
        """``read`` through the look-up cache: the same question within its lifetime
        gets the same answer without a trip to the database."""
        return await self.lookups.fetch(key, lambda: self.read(fn))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.background.spawn(coro)

    def reply(
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

    async def refuse(
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
        if account_id is not None and LOG_IDS.get() is None:
            # A setup refused before it became a call: the rest of this task's lines
            # (its own context) name the account (dialtone.logs).
            LOG_IDS.set(LogIds(account_id=account_id))
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
        await self.put_on_record(entry)
        self.reply(event, channel, refusal.sip_status(), call_setup.sip_headers(refusal))

    async def refuse_call(
        self,
        event: RequestReceived,
        channel: SipChannel,
        refusal: Decision,
        caller: SipUser,
        call_action: str = "call.outbound",
        **inputs: Any,
    ) -> None:
        """Refuse a device's call, on record with the user as the actor."""
        await self.refuse(
            event,
            channel,
            refusal,
            account_id=caller.account_id,
            actor=f"user:{caller.id}",
            action=call_action,
            **inputs,
        )

    async def put_on_record(self, entry: AuditEntry) -> None:
        """Put ``entry`` on record; a failure is logged, never raised (the refusal it
        records still happens)."""
        try:
            await self.audit.write(entry)
        except Exception:
            log.exception("audit entry not written: %s %s", entry.code, entry.actor)

    def active_calls(self, user_id: str) -> int:
        """The user's calls in progress on every worker (TERMS V2), for the dry run (on
        the API's threads)."""
        return self.active(user_id) + self.live.elsewhere_blocking(user_id)

    async def active_everywhere(self, user_id: str) -> int:
        """The user's calls in progress on this worker and the others (TERMS V2): what
        every V2 check of a call setup reads. The others' count is bounded by the shared
        state's timeout, and 0 while it is degraded."""
        return (await self.active_of([user_id]))[0]

    async def active_of(self, user_ids: list[str]) -> list[int]:
        """``active_everywhere`` of several users in one question (a ring group)."""
        elsewhere = await self.live.elsewhere(user_ids)
        return [self.active(u) + n for u, n in zip(user_ids, elsewhere, strict=True)]

    @property
    def operator(self) -> call_facts.OperatorPolicy:
        """The operator's side of the checks, from the settings (V5, V6, V7)."""
        config = self.config
        return call_facts.OperatorPolicy(
            config.destinations, config.default_country, config.emergency_countries
        )

    async def account_facts(self, account_id: str) -> call_facts.AccountFacts:
        """The account's side of every call's facts (cached like every look-up)."""
        operator = self.operator
        return await self.cached(
            ("account_facts", account_id),
            lambda s: call_facts.account_facts(s, account_id, operator),
        )

    async def gather_facts(
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
        account_key = ("account_facts", setup.account_id)
        operator = self.operator
        now = self.now()
        user_id = setup.user_id

        async def load() -> tuple[EngineFacts, bool]:
            known, account = self.lookups.get(account_key)

            def read(session: Session) -> tuple[call_facts.Gathered, EngineFacts]:
                placing = None
                if placer and user_id is not None:
                    placing = sip_user(
                        user_service.get_user(session, setup.account_id, user_id), session
                    )
                facts = (
                    cast(call_facts.AccountFacts, account)
                    if known
                    else call_facts.account_facts(session, setup.account_id, operator)
                )
                gathered = call_facts.gather(session, setup, facts, now=now, channels=channels)
                callee = sip_user(gathered.callee, session)
                return gathered, EngineFacts(gathered.intent, callee, gathered.route, placing)

            gathered, value = await self.read(read)
            if not known:
                self.lookups.put(account_key, gathered.account)
            return value, gathered.fresh or placer

        # Setups that ask the same at once share one read (a burst when the entry expires
        # was hundreds of reads); a read of something kept fresh is shared, never kept.
        value, _ = await self.lookups.fetch(key, load, keep=lambda got: not got[1])
        return value

    async def recording_setup(self, account_id: str) -> RecordingSetup | None:
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

        return await self.cached(("recording", account_id), read)

    def active(self, user_id: str) -> int:
        """The user's calls in progress on this worker."""
        return self.bridge.active_calls_of(user_id) + self.answering.active_calls_of(user_id)

    def local_counts(self) -> dict[str, int]:
        """``active`` of every user with a call on this worker, in one pass over the calls
        (the shared state's heartbeat): what the bridge and the answering machine count."""
        counts: dict[str, int] = {}
        for driven in self.answering.driver.calls.values():
            call = driven.call
            if call.ended:
                continue
            for user in call.users:
                counts[user] = counts.get(user, 0) + 1
            caller = call.spec.caller_user_id
            if driven.owner == "answering" and caller is not None:
                counts[caller] = counts.get(caller, 0) + 1
        return counts
