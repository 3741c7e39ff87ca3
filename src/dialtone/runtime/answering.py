"""The call handler: the SIP transaction user that answers calls to held numbers.

It answers an INVITE to a number an account holds (100, 180, 200 with SDP), plays the
number's greeting, records the caller, and on BYE commits the CDR *before* answering 200
(a crash never loses an acknowledged call). OPTIONS gets 200; a number nobody holds 404;
a CANCEL before the answer 487; a call longer than the limit ends with our own BYE.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from dialtone.call.application import Application, VoicemailBox
from dialtone.call.apps.answering import Greeting, Voicemail
from dialtone.call.call import Call, CallSpec
from dialtone.call.context import CallSettings
from dialtone.services.ids import new_id
from dialtone.services.numbering import numbers as number_service
from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony.greetings import default_greeting_path
from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    MessageRejected,
    Output,
    RequestReceived,
    SipEndpoint,
)
from dialtone.sip.message import Request, make_response
from dialtone.sip.transaction import (
    InviteServerTransaction,
    ResponseReceived,
    ServerTransaction,
    TransactionTimedOut,
)
from dialtone.store.db import transaction

from .call_driver import CallDriver, Driven, live_view
from .cdr_writer import CdrWriter
from .media import RtpPortPool
from .sealing import recording_file
from .tasks import TaskSet

log = logging.getLogger("dialtone.calls")
T = TypeVar("T")


class Channel(Protocol):
    """The transport a call's signalling travels on (see ``runtime.transports``)."""

    endpoint: SipEndpoint

    def dispatch(self, outputs: list[Output]) -> None: ...


@dataclass(frozen=True, slots=True)
class AnswerTarget:
    """What an answered call plays and where it records: a number's greeting, or a
    user's voicemail box (then the recording becomes a voicemail message)."""

    account_id: str
    to_number: str
    greeting_path: Path
    recordings_dir: Path
    voicemail_user_id: str | None = None
    voicemail: bool = False
    max_seconds: float | None = None
    from_number: str | None = None
    legs: tuple[dict[str, str | None], ...] = ()
    # The user whose device placed the call (counted by V2, the record's
    # ``caller_user_id``); None for a caller from outside.
    user_id: str | None = None
    # "internal" for a device's call to a colleague sent to voicemail (as when answered).
    direction: str = "inbound"
    # The user the call record names when it is not ``user_id`` (who placed the call,
    # counted by V2): the owner of the voicemail box a call was sent to.
    record_user_id: str | None = None
    # When the caller's INVITE arrived, for a call that rang devices before voicemail.
    started_at: datetime | None = None
    # The carrier trunk the call came in through (None: a device's or a public caller's).
    trunk_id: str | None = None
    # The application that runs the call (a number's TwiML), made for its spec; None:
    # the greeting, voicemail, or an application of ``CallHandler.applications``.
    application: Callable[[CallSpec], Application] | None = None


@dataclass(slots=True)
class CallConfig:
    """What the call handler needs from the settings."""

    advertised_host: str
    rtp_host: str
    recordings_dir: Path
    greetings_dir: Path
    codecs: tuple[str, ...] = ("PCMA", "PCMU")
    ring_seconds: float = 0.5
    max_call_seconds: float = 3600.0
    cdr_commit_window: float = 0.015
    # TERMS D5: recordings are sealed with this key as they are written (None: plain WAV).
    recording_key: bytes | None = None
    # Issue 19: the worker whose mark a recording under way carries (sealing.claim).
    worker_id: str | None = None


class CallHandler:
    """The answering machine: a greeting (the caller recorded) or voicemail, run as call
    applications on the call core (``dialtone.call``) by the ``CallDriver``. Looks up
    who holds a number; everything else is the core's."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        config: CallConfig,
        rtp_ports: RtpPortPool,
        db: ThreadPoolExecutor,
        reads: ThreadPoolExecutor | None = None,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_voicemail: Callable[[str, str], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.rtp_ports = rtp_ports
        self.db = db
        # SQLite in WAL mode reads alongside the writer: lookups need not queue behind CDRs.
        self.reads = reads or db
        self.now = wallclock
        self.cdrs = CdrWriter(sessions, db, window=config.cdr_commit_window)
        self.background = TaskSet(log, "call")
        self.driver = CallDriver(
            background=self.background,
            rtp_ports=rtp_ports,
            rtp_host=config.rtp_host,
            cdrs=self.cdrs,
            recording_key=config.recording_key,
            on_voicemail=on_voicemail,
            worker_id=config.worker_id,
        )
        self.settings = CallSettings(
            advertised_host=config.advertised_host,
            codecs=config.codecs,
            max_call_seconds=config.max_call_seconds,
            allow="",  # set per channel: what its endpoint accepts
        )
        # Numbers (E.164) whose calls run a call application instead of the greeting:
        # the seam the TwiML interpreter and the AI receptionist will use; the example
        # application of the tests plugs in here.
        self.applications: dict[str, Callable[[], Application]] = {}

    # -- plumbing ---------------------------------------------------------------------

    @property
    def calls(self) -> dict[str, Driven]:
        """The calls being answered, by record id."""
        return self.driver.owned("answering")

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def _read(self, fn: Callable[[], T]) -> T:
        return await self.loop.run_in_executor(self.reads, fn)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.background.spawn(coro)

    def _reply(
        self, channel: Channel, tx: ServerTransaction, request: Request, status: int
    ) -> None:
        tag = channel.endpoint.new_tag() if request.to.tag is None else None
        try:
            channel.dispatch(
                channel.endpoint.respond(
                    tx, make_response(request, status, to_tag=tag), self.loop.time()
                )
            )
        except ValueError as exc:
            log.debug("response not sent: %s", exc)

    # -- events -----------------------------------------------------------------------

    def handle(self, event: Output, channel: Channel) -> None:
        """Dispatch one endpoint event that arrived on ``channel``."""
        driver = self.driver
        if isinstance(event, RequestReceived):
            request = event.request
            if request.method == "INVITE" and request.to.tag is None:
                self._spawn(self._guarded_invite(event, channel, None))
                return
            driven = driver.by_request(request)
            if driven is None:
                self._reply(channel, event.transaction, request, 481)
            else:
                driver.feed(driven, event)
        elif isinstance(event, AckReceived):
            driven = driver.by_request(event.request)
            if driven is not None:
                driver.feed(driven, event)
        elif isinstance(event, CancelReceived):
            driven = driver.by_invite.get(id(event.invite))
            if driven is None:
                # Not a call we track yet (still looking the number up): refuse it now.
                self._reply(channel, event.invite, event.invite.request, 487)
            else:
                driver.feed(driven, event)
        elif isinstance(event, TransactionTimedOut):
            tx = event.transaction
            driven = driver.by_invite.get(id(tx))
            if driven is None and not isinstance(tx, ServerTransaction):
                driven = driver.by_response_to(tx.request)
            if driven is not None:
                driver.feed(driven, event)
        elif isinstance(event, ResponseReceived):
            driven = driver.by_response_to(event.transaction.request)
            if driven is not None:
                driver.feed(driven, event)
        elif isinstance(event, MessageRejected):
            log.info(
                "SIP message from %s:%d rejected (%s): %s",
                event.source[0],
                event.source[1],
                event.status or "dropped",
                event.reason,
            )

    def active_calls_of(self, user_id: str) -> int:
        """Answered-by-us calls a user placed (TERMS V2 counts them too)."""
        return sum(
            1
            for driven in self.driver.calls.values()
            if driven.owner == "answering"
            and driven.call.spec.caller_user_id == user_id
            and not driven.call.ended
        )

    def live_call(self, account_id: str, record_id: str) -> call_service.LiveCall | None:
        """The account's call ``record_id`` while we answer it (a greeting or voicemail),
        for ``GET /v1/calls/{id}``; None once its record is written."""
        driven = self.driver.calls.get(record_id)
        if driven is None or driven.call.spec.account_id != account_id:
            return None
        if driven.owner != "answering":
            return None
        return live_view(driven.call.facts())

    def live_calls(self, account_id: str | None) -> list[call_service.LiveCall]:
        """The calls we answer now (a greeting or voicemail) of the account (None: all)."""
        return [
            live_view(driven.call.facts())
            for driven in list(self.driver.calls.values())
            if driven.owner == "answering"
            and not driven.call.ended
            and (account_id is None or driven.call.spec.account_id == account_id)
        ]

    def owns(self, call_id: str, tag: str | None) -> bool:
        """Whether an in-dialog request with this Call-ID and To tag is one of our calls."""
        return (call_id, tag or "") in self.driver.legs

    def answer(self, event: RequestReceived, channel: Channel, target: AnswerTarget) -> None:
        """Answer an INVITE with ``target``'s prompt and recording (greeting or voicemail)."""
        self._spawn(self._guarded_invite(event, channel, target))

    async def _guarded_invite(
        self, event: RequestReceived, channel: Channel, target: AnswerTarget | None
    ) -> None:
        """Answer 500 when handling the INVITE fails (the store is down), so that a broken
        database never leaves a caller waiting."""
        try:
            await self._on_invite(event, channel, target)
        except Exception:
            log.exception("INVITE %s failed", event.request.call_id)
            tx = event.transaction
            if tx.last_status is None or tx.last_status < 200:
                self._reply(channel, tx, event.request, 500)

    async def _target_for(self, request: Request) -> AnswerTarget | None:
        dialed = request.uri.user
        holder = await self._read(lambda: self._lookup(dialed))
        if holder is None:
            return None
        account_id, e164, greeting = holder
        return AnswerTarget(
            account_id=account_id,
            to_number=e164,
            greeting_path=(self.config.greetings_dir / greeting)
            if greeting
            else default_greeting_path(),
            recordings_dir=self.config.recordings_dir / account_id,
        )

    def _lookup(self, dialed: str | None) -> tuple[str, str, str | None] | None:
        with transaction(self.sessions) as session:
            row = number_service.find_holder(session, dialed)
            return None if row is None else (row.account_id, row.number, row.greeting)

    async def _on_invite(
        self, event: RequestReceived, channel: Channel, target: AnswerTarget | None
    ) -> None:
        request = event.request
        tx = event.transaction
        assert isinstance(tx, InviteServerTransaction)
        started = self.now()
        # The loop's clock at the same moment: the core derives wall times from it.
        started_loop = self.loop.time()
        if target is None:
            target = await self._target_for(request)
        if target is None:
            log.info("INVITE to %s: no account holds it -> 404", request.uri.user)
            self._reply(channel, tx, request, 404)
            return
        record_id = new_id("CA")
        recording = str(recording_file(target.recordings_dir, record_id, self.config.recording_key))
        spec = CallSpec(
            record_id=record_id,
            account_id=target.account_id,
            direction=_direction(target),
            from_number=target.from_number or _caller(request),
            to_number=target.to_number,
            # A call that rang devices first started when its INVITE arrived.
            started_at=target.started_at or started,
            created_at=started,
            legs=target.legs,
            user_id=_record_user(target),
            caller_user_id=target.user_id,
            trunk_id=target.trunk_id,
            record_path=recording,
            voicemail=(target.voicemail_user_id, target.to_number) if target.voicemail else None,
            max_seconds=target.max_seconds,
        )
        application: Application
        factory = None if target.voicemail else self.applications.get(target.to_number)
        if target.application is not None:
            spec = replace(spec, listen_digits=True)
            application = target.application(spec)
        elif factory is not None:
            # Media through the relay: the application may bridge the caller.
            spec = replace(spec, listen_digits=True)
            application = factory()
        elif target.voicemail:
            box = VoicemailBox(
                target.voicemail_user_id,
                target.to_number,
                recording,
                str(target.greeting_path),
                target.max_seconds,
            )
            application = Voicemail(box)
        else:
            application = Greeting(str(target.greeting_path), self.config.ring_seconds)
        path = self.driver.path(channel)  # type: ignore[arg-type]
        settings = self.settings
        allow = ", ".join(sorted(channel.endpoint.policy.methods))
        if settings.allow != allow:
            settings = self.settings = replace(settings, allow=allow)
        call, actions = Call.incoming(
            spec,
            settings=settings,
            ids=self.driver.ids,
            application=application,
            event=event,
            path=path,
            now=started_loop,
            sides=2 if factory is not None or target.application is not None else 1,
        )
        self.driver.start(call, actions, owner="answering")

    async def shutdown(self) -> None:
        """End every live call (BYE to answered ones, 480 to ringing ones), CDRs committed."""
        await self.driver.shutdown("answering")
        await self.background.wait(timeout=5)
        await self.cdrs.close()


def _record_user(target: AnswerTarget | None) -> str | None:
    """The user a call record names: the voicemail box's owner, else who placed it."""
    if target is None:
        return None
    return target.record_user_id or target.user_id


def _direction(target: AnswerTarget | None) -> str:
    """The direction a call we answer is recorded with."""
    return "inbound" if target is None else target.direction


def _caller(request: Request) -> str:
    """The caller's number (From user part) as the CDR shows it."""
    uri = request.from_.uri
    user = getattr(uri, "user", None)
    if user:
        e164 = number_service.dialed_to_e164(user) if user.lstrip("+").isdigit() else None
        return e164 or user
    return str(uri)
