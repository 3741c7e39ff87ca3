"""The binds to the carriers' SMSCs (issue 15): one per enabled carrier, dialtone as the
ESME, and the choice of bind for each submit_sm.

Each bind is a task that connects, binds (transceiver or transmitter), stays bound (the
session sends enquire_link) and, when the connection ends or the bind fails, tries again
after a back-off of 1 s doubling to 60 s (back to 1 s once bound). Its state is written
to the carrier's row (``bind_state``, ``bind_error``). The carrier table is read again
every ``scan_seconds`` (or at ``scan()``): new carriers bind, changed ones bind again,
disabled or removed ones unbind.

A submit_sm waits for its bind's rate (``throughput`` a second) and window (``window``
outstanding), then for its ``Intent`` to be committed (the dispatcher's record that the
part is about to leave, on this carrier), and only then is written; any answer but an
acceptance withdraws the intent before anything else is tried. ESME_RTHROTTLED pauses
the bind ``throttle_pause`` seconds and the same submit_sm is tried again on it, up to
``throttle_retries`` times; then, like any temporary error (RMSGQFUL, RSYSERR, the
connection lost, no answer), the next carrier that takes the recipient is tried
(``carriers_for``'s order). A permanent error (RINVDSTADR, RINVSRCADR, ...) ends there:
another carrier would refuse it too.

deliver_sm from a carrier (receipts and inbound messages) goes to ``on_deliver``, which
answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.messaging import carriers as carrier_service
from dialtone.smpp.constants import CommandStatus
from dialtone.smpp.outcome import SubmitOutcome, status_name, submit_outcome
from dialtone.smpp.pdu import (
    Bind,
    BindKind,
    DataSm,
    DeliverSm,
    Outbind,
    Pdu,
    SubmitSm,
    SubmitSmResp,
)
from dialtone.smpp.session import Role, SessionSettings
from dialtone.store.db import transaction
from dialtone.store.messaging_models import SmppCarrier
from dialtone.store.sealed import SealError

from .db_work import DbWork
from .smpp_link import SmppLink, SmppRequestFailed
from .tasks import TaskSet
from .throttle import RateLimit

log = logging.getLogger("dialtone.smpp.carriers")

BIND_KINDS = {"transceiver": BindKind.TRANSCEIVER, "transmitter": BindKind.TRANSMITTER}
OnDeliver = Callable[[str, SmppLink, Pdu], None]


@dataclass(frozen=True, slots=True)
class BindSettings:
    """How every carrier bind behaves (seconds)."""

    retry_base: float = 1.0
    retry_max: float = 60.0
    scan_seconds: float = 2.0
    connect_timeout: float = 10.0
    response_timeout: float = 15.0
    enquire_link_interval: float = 30.0
    throttle_pause: float = 1.0
    throttle_retries: int = 5


@dataclass(frozen=True, slots=True)
class CarrierSetup:
    """What a bind is made from; a carrier whose setup changed binds again."""

    carrier_id: str
    name: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str
    bind_type: str
    window: int
    throughput: int

    @classmethod
    def of(cls, row: SmppCarrier, key: bytes) -> CarrierSetup:
        return cls(
            carrier_id=row.id,
            name=row.name,
            host=row.host,
            port=row.port,
            system_id=row.system_id,
            password=carrier_service.password_of(row, key),
            system_type=row.system_type,
            bind_type=row.bind_type,
            window=row.window,
            throughput=row.throughput,
        )


# --- what a submit_sm came to -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """A carrier took the part: its message id, for the receipts."""

    carrier_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A carrier refused the part for good (a permanent status)."""

    carrier_id: str
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class Unavailable:
    """No carrier took the part now: none bound for the recipient, or each one tried
    failed temporarily. ``routable``: some enabled carrier takes the recipient."""

    reason: str
    routable: bool


SubmitResult = Accepted | Refused | Unavailable


class Intent(Protocol):
    """A part's durable record around its submit_sm (issue 15: each part reaches the
    carrier once, even across a kill -9)."""

    async def writing(self, carrier_id: str) -> None:
        """Committed before the submit_sm is written to ``carrier_id``'s bind."""

    async def withdrawn(self) -> None:
        """Committed when the submit_sm was answered with an error or never written: the
        part is not at the carrier."""


class _NoIntent:
    async def writing(self, carrier_id: str) -> None:
        pass

    async def withdrawn(self) -> None:
        pass


NO_INTENT: Intent = _NoIntent()


class _Temporary(Exception):
    """This bind cannot take the part now; the next carrier may."""


# --- one bind -----------------------------------------------------------------------


class CarrierBind:
    """One carrier's bind and its task."""

    def __init__(self, setup: CarrierSetup, owner: CarrierBinds) -> None:
        self.setup = setup
        self.owner = owner
        self.link: SmppLink | None = None
        self.rate = RateLimit(setup.throughput, burst=max(1, setup.throughput // 10))
        self.task: asyncio.Task[None] | None = None
        self.state = "connecting"

    @property
    def carrier_id(self) -> str:
        return self.setup.carrier_id

    @property
    def bound(self) -> bool:
        link = self.link
        return link is not None and link.bound.is_set() and not link.closed.is_set()

    async def run(self) -> None:
        """Bind, stay bound, bind again: until cancelled."""
        settings = self.owner.settings
        delay = settings.retry_base
        try:
            while True:
                error = await self._session()
                if error is None:  # was bound, then the connection ended
                    delay = settings.retry_base
                    error = "the connection ended"
                await self.owner.store_state(self, "failed", error)
                log.warning(
                    "carrier %s (%s): %s; binding again in %.0f s",
                    self.setup.name,
                    self.carrier_id,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.retry_max)
        finally:
            if self.link is not None:
                self.link.close()

    async def _session(self) -> str | None:
        """One connection: None once it was bound and ended, else why it never bound."""
        settings = self.owner.settings
        loop = asyncio.get_running_loop()
        setup = self.setup
        session_settings = SessionSettings(
            window=setup.window,
            response_timeout=settings.response_timeout,
            enquire_link_interval=settings.enquire_link_interval,
            session_init_timeout=settings.response_timeout + settings.connect_timeout,
        )
        where = f"{setup.host}:{setup.port}"
        try:
            _, link = await asyncio.wait_for(
                loop.create_connection(
                    lambda: SmppLink(Role.ESME, self.owner.handler, settings=session_settings),
                    setup.host,
                    setup.port,
                ),
                settings.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            return f"cannot connect to {where} ({exc or 'timeout'})"
        link.context = self.carrier_id
        self.link = link
        bind = Bind(BIND_KINDS[setup.bind_type], setup.system_id, setup.password, setup.system_type)
        try:
            answer = await link.request(bind)
        except SmppRequestFailed as exc:
            link.close()
            return f"bind to {where} unanswered ({exc})"
        if answer.command_status != CommandStatus.ESME_ROK or not link.bound.is_set():
            link.close()
            return f"bind to {where} refused ({status_name(answer.command_status)})"
        self.state = "bound"
        log.info("carrier %s (%s): bound at %s", setup.name, self.carrier_id, where)
        await self.owner.store_state(self, "bound", None)
        self.owner.on_bound()
        await link.closed.wait()
        return None

    async def submit(self, body: SubmitSm, intent: Intent = NO_INTENT) -> str:
        """Send one submit_sm on this bind at its rate, ESME_RTHROTTLED retried here:
        the carrier's message id. ``intent`` is committed just before each write: after
        the rate wait, with a place in the window held, so the write follows the commit
        at once (a kill between the two loses the part); withdrawn after each answer
        that is not an acceptance. Raises ``_Temporary``
        (try the next carrier) or :class:`_Permanent` (no carrier will take it)."""
        settings = self.owner.settings
        loop = asyncio.get_running_loop()
        for _ in range(settings.throttle_retries + 1):
            wait = self.rate.reserve(loop.time())
            if wait > 0:
                await asyncio.sleep(wait)
            link = self.link
            if link is None or not self.bound:
                raise _Temporary("not bound")
            try:
                await link.reserve()
            except SmppRequestFailed as exc:
                raise _Temporary(str(exc)) from None
            try:
                await intent.writing(self.carrier_id)
            except asyncio.CancelledError:
                link.release()
                # A stop: the commit may still land, the write will not happen.
                with contextlib.suppress(Exception):
                    await asyncio.shield(intent.withdrawn())
                raise
            except BaseException:
                link.release()
                raise
            try:
                # The window's place was held through the commit: written at once.
                answer = await link.request(body, reserved=True)
            except SmppRequestFailed as exc:
                # Unanswered (a time-out, the link lost): it may be at the carrier, but
                # it is retried as before: silence is more often a lost write than a
                # lost answer, and a living process prefers a rare repeat to a loss.
                await intent.withdrawn()
                raise _Temporary(str(exc)) from None
            outcome = submit_outcome(answer.command_id, answer.command_status)
            if outcome is SubmitOutcome.ACCEPTED:
                message_id = answer.body.message_id if isinstance(answer.body, SubmitSmResp) else ""
                if message_id:
                    return message_id
            await intent.withdrawn()
            if outcome is SubmitOutcome.ACCEPTED:
                # No id, no receipt to match: as good as not taken for our records.
                raise _Temporary("accepted without a message id")
            if outcome is SubmitOutcome.THROTTLED:
                self.rate.pause(loop.time() + settings.throttle_pause)
                continue
            reason = status_name(answer.command_status)
            if outcome is SubmitOutcome.TEMPORARY:
                raise _Temporary(reason)
            raise _Permanent(answer.command_status, reason)
        raise _Temporary(f"still throttled after {settings.throttle_retries} retries")


class _Permanent(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _not_taken(carrier_id: str, link: SmppLink, pdu: Pdu) -> None:
    """Before anyone takes deliver_sm: a temporary error, so the SMSC sends it again."""
    del carrier_id
    link.respond(pdu, CommandStatus.ESME_RX_T_APPN)


# --- every bind ---------------------------------------------------------------------


class _CarrierLinks:
    """The link handler of every carrier connection: deliver_sm (and data_sm) go to
    ``on_deliver``; an SMSC never binds to us."""

    def __init__(self, owner: CarrierBinds) -> None:
        self.owner = owner

    def on_bind(self, link: SmppLink, pdu: Pdu) -> None:  # pragma: no cover - ESME side
        link.respond(pdu, CommandStatus.ESME_RINVCMDID)

    def on_request(self, link: SmppLink, pdu: Pdu) -> None:
        carrier_id = link.context if isinstance(link.context, str) else ""
        if isinstance(pdu.body, DeliverSm | DataSm):
            self.owner.on_deliver(carrier_id, link, pdu)
        elif not isinstance(pdu.body, Outbind):  # outbind has no answer
            link.respond(pdu, CommandStatus.ESME_RINVCMDID)

    def on_closed(self, link: SmppLink) -> None:
        pass  # the bind's task is waiting on ``link.closed``


class CarrierBinds:
    """Every carrier bind of this process, kept to the carrier table."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        db: Executor,
        work: DbWork,
        key: bytes,
        on_deliver: OnDeliver | None = None,
        settings: BindSettings | None = None,
    ) -> None:
        self.sessions = sessions
        self.db = db
        self.work = work
        self.key = key
        self.on_deliver: OnDeliver = on_deliver or _not_taken
        self.settings = settings or BindSettings()
        self.handler = _CarrierLinks(self)
        self.binds: dict[str, CarrierBind] = {}
        self.rows: list[SmppCarrier] = []
        self.tasks = TaskSet(log, "carrier bind")
        self._bound_listeners: list[Callable[[], None]] = []

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Keep the binds to the carrier table from now on (a scan every few seconds)."""
        self.tasks.spawn(self._scan_forever())

    async def _scan_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.scan_seconds)
            try:
                await self.scan()
            except Exception:
                log.exception("SMPP carriers: scan failed")

    async def scan(self) -> None:
        """Bind new carriers, bind again those changed, unbind those gone or disabled."""
        loop = asyncio.get_running_loop()
        rows, setups, unreadable = await loop.run_in_executor(self.db, self._read)
        for carrier_id, why in unreadable.items():
            if carrier_id not in self.binds:
                log.error("carrier %s: %s", carrier_id, why)
        self.rows = rows
        for carrier_id, bind in list(self.binds.items()):
            if setups.get(carrier_id) != bind.setup:
                await self._stop(carrier_id)
        for carrier_id, setup in setups.items():
            if carrier_id not in self.binds:
                bind = CarrierBind(setup, self)
                self.binds[carrier_id] = bind
                bind.task = self.tasks.spawn(bind.run())

    def _read(self) -> tuple[list[SmppCarrier], dict[str, CarrierSetup], dict[str, str]]:
        with transaction(self.sessions) as session:
            rows = carrier_service.list_carriers(session)
            setups: dict[str, CarrierSetup] = {}
            unreadable: dict[str, str] = {}
            for row in rows:
                if not row.enabled:
                    continue
                try:
                    setups[row.id] = CarrierSetup.of(row, self.key)
                except SealError:
                    unreadable[row.id] = "the password does not open with this server's key"
                    carrier_service.record_bind(
                        session, row.id, state="failed", error=unreadable[row.id]
                    )
            return rows, setups, unreadable

    async def _stop(self, carrier_id: str) -> None:
        bind = self.binds.pop(carrier_id, None)
        if bind is None:
            return
        if bind.task is not None:
            bind.task.cancel()
        if bind.link is not None and bind.bound:
            await bind.link.unbind(timeout=2.0)
        await self.store_state(bind, "stopped", None)

    async def close(self) -> None:
        """Unbind every carrier and stop their tasks."""
        self.tasks.cancel()
        links = [b.link for b in self.binds.values() if b.link is not None and b.bound]
        await asyncio.gather(*(link.unbind(timeout=2.0) for link in links))
        for bind in self.binds.values():
            if bind.link is not None:
                bind.link.close()
        await self.tasks.wait(2.0)
        with contextlib.suppress(Exception):
            await self.work.run(self._all_stopped(list(self.binds)))
        self.binds.clear()

    @staticmethod
    def _all_stopped(carrier_ids: list[str]) -> Callable[[Session], None]:
        def write(session: Session) -> None:
            for carrier_id in carrier_ids:
                carrier_service.record_bind(session, carrier_id, state="stopped", error=None)

        return write

    # -- state --------------------------------------------------------------------------

    def add_bound_listener(self, listener: Callable[[], None]) -> None:
        """``listener()`` is called whenever a carrier becomes bound (send what waits)."""
        self._bound_listeners.append(listener)

    def on_bound(self) -> None:
        for listener in self._bound_listeners:
            listener()

    async def store_state(self, bind: CarrierBind, state: str, error: str | None) -> None:
        bind.state = state
        carrier_id = bind.carrier_id

        def write(session: Session) -> None:
            carrier_service.record_bind(session, carrier_id, state=state, error=error)

        try:
            await self.work.run(write)
        except Exception:
            log.exception("carrier %s: bind state not stored", carrier_id)

    @property
    def any_bound(self) -> bool:
        return any(bind.bound for bind in self.binds.values())

    @property
    def enabled_count(self) -> int:
        return sum(1 for row in self.rows if row.enabled)

    # -- sending ------------------------------------------------------------------------

    def order_for(self, recipient: str) -> list[CarrierBind]:
        """The binds that take ``recipient``, in the order to try them."""
        ranked = carrier_service.carriers_for(self.rows, recipient)
        return [self.binds[row.id] for row in ranked if row.id in self.binds]

    async def submit(
        self, recipient: str, body: SubmitSm, intent: Intent = NO_INTENT
    ) -> SubmitResult:
        """Send ``body`` through the first carrier for ``recipient`` that takes it,
        ``intent`` committed before each write (``CarrierBind.submit``)."""
        binds = self.order_for(recipient)
        failures: list[str] = []
        for bind in binds:
            if not bind.bound:
                continue
            try:
                message_id = await bind.submit(body, intent)
            except _Temporary as exc:
                failures.append(f"{bind.setup.name}: {exc}")
                continue
            except _Permanent as exc:
                return Refused(bind.carrier_id, exc.status, f"{bind.setup.name}: {exc.reason}")
            return Accepted(bind.carrier_id, message_id)
        if not binds:
            return Unavailable("no enabled carrier takes this recipient", routable=False)
        if not failures:
            return Unavailable("no carrier for this recipient is bound", routable=True)
        return Unavailable("; ".join(failures), routable=True)
