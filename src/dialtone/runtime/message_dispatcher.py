"""Sending the stored messages (issue 15, item 2): the loop that takes what is due and
puts each part on a carrier's bind.

Messages are taken (``delivery.take_due``: marked ``sending``) in a transaction that
commits before any part is sent; each message's parts go in order, those a carrier
already accepted (or in doubt, below) skipped (``accepted_parts``: a message retried, or
interrupted by a restart, sends only what is missing). Before each submit_sm is written,
the part's intent is committed (``delivery.record_intent``: ``submitting``, the carrier,
no carrier id), by group commit with the other parts and records of the moment; its
submit_sm_resp completes it (``record_part``) before the message's next part goes, or an
error answer withdraws it (``withdraw_intent``). No carrier, or only temporary errors:
the message goes back to the queue (``sms.no_carrier``) for ``retry_seconds``; a
permanent refusal fails it (``sms.carrier_refused``).

The loop wakes on ``wake()`` (the API or the SMPP server stored a message; thread-safe)
and every ``poll_seconds``; every ``expire_seconds`` it expires what outlived its
validity and what was left of long inbound messages. At start
(``delivery.requeue_interrupted``), parts a stop left ``submitting`` are in doubt and
counted as sent, never sent again, and messages left ``sending`` are ``sent`` when all
their parts are accepted or in doubt, else queued again.

Exactly once, and where it is not (issue 15): the submit_sm of a part in doubt
was written when the process died (the kernel still sends what was written) or was about
to be. Only the second case is a loss: a kill -9 between the intent's commit and the
socket write. The rate was waited for and a place in the bind's window held
(``SmppLink.reserve``) before the commit, so that gap is the database thread waking the
loop and the sends resuming: measured at 0.8 ms median, 3.6 ms at p99 (200 parts/s, an
in-process SMSC, a loaded 2-core machine), about 2 % of the time during such a burst;
a kill landing there loses that batch's intents (about ten parts). The duplicate window
this replaces was every part in flight plus its record's commit, at every kill during a
burst (2 to 3 messages sent twice per kill in the interop test). We prefer the rare
loss: a repeat reaches the recipient and is billed by the carrier, a loss is a part
kept visible as in doubt (its error says so; no receipt will match it), and a kill
during a burst now loses nothing some 49 times in 50 where it always repeated parts.
Unanswered submit_sm (a time-out, a lost link in a living process) are still sent
again: that repeat is outside this record's reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from dialtone.core.sms_encoding import SmsEncodingError
from dialtone.core.sms_parts import split_message
from dialtone.services.messaging import delivery
from dialtone.smpp.constants import (
    ESM_UDHI,
    REGISTERED_DELIVERY_RECEIPT,
    Npi,
    Ton,
)
from dialtone.smpp.pdu import SubmitSm
from dialtone.store.messaging_models import Message

from . import message_writes as writes
from .carrier_inbound import Hook, Hooks
from .db_work import DbWork, Deposed
from .smpp_carriers import Accepted, Intent, Refused, SubmitResult
from .tasks import TaskSet

log = logging.getLogger("dialtone.smpp.dispatch")


class Carriers(Protocol):
    """What the dispatcher needs of the carrier binds (``smpp_carriers.CarrierBinds``)."""

    @property
    def any_bound(self) -> bool: ...

    async def submit(self, recipient: str, body: SubmitSm, intent: Intent) -> SubmitResult: ...


@dataclass(frozen=True, slots=True)
class Job:
    """One message taken for sending, and the parts a carrier already has."""

    message_id: str
    sender: str
    recipient: str
    body: str
    done: frozenset[int]
    intended: frozenset[int] = frozenset()  # parts with an intent standing

    @property
    def reference(self) -> int:
        """The concatenation reference: the same for every attempt at this message, so
        parts sent in different attempts still join on the handset."""
        return int(self.message_id[-2:], 16) if _hex(self.message_id[-2:]) else 0


def _hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """Seconds."""

    poll_seconds: float = 0.25
    expire_seconds: float = 5.0
    retry_seconds: float = 1.0  # temporary errors: the binds come back in about that
    unroutable_retry_seconds: float = 30.0  # no enabled carrier takes the recipient
    take_limit: int = 500
    in_flight: int = 2000  # messages being sent at once (the binds' windows bound the wire)
    stop_grace: float = 3.0


def source_address(sender: str) -> tuple[str, int, int]:
    """submit_sm's source_addr, its TON and NPI: an E.164 number international without
    its ``+``, an alphanumeric sender ID as such (TON 5, M6)."""
    digits = sender.lstrip("+")
    if digits.isdigit():
        return digits, Ton.INTERNATIONAL, Npi.ISDN
    return sender, Ton.ALPHANUMERIC, Npi.UNKNOWN


def submits(job: Job) -> list[tuple[int, int, SubmitSm]]:
    """TERMS M1: the submit_sm of each part not yet accepted, as (seq, total, body):
    the parts ``count_segments`` counted and rating billed, with a receipt asked for."""
    split = split_message(job.body, job.reference)
    total = len(split.parts)
    source, source_ton, source_npi = source_address(job.sender)
    out: list[tuple[int, int, SubmitSm]] = []
    for seq, part in enumerate(split.parts, start=1):
        if seq in job.done:
            continue
        body = SubmitSm(
            source_addr=source,
            destination_addr=job.recipient.lstrip("+"),
            short_message=part.short_message,
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            dest_addr_ton=Ton.INTERNATIONAL,
            dest_addr_npi=Npi.ISDN,
            esm_class=ESM_UDHI if part.udhi else 0,
            data_coding=split.data_coding,
            registered_delivery=REGISTERED_DELIVERY_RECEIPT,
        )
        out.append((seq, total, body))
    return out


def _take(limit: int, now: datetime) -> Callable[[Session], list[Job]]:
    def take(session: Session) -> list[Job]:
        messages = delivery.take_due(session, now, limit=limit)
        # A message taken for the first time has no parts yet: only retries are read.
        parts = delivery.parts_of(session, [m.id for m in messages if m.attempts > 1])
        none = delivery.PartsKnown(set(), set())
        return [
            Job(
                m.id,
                m.sender,
                m.recipient,
                m.body,
                frozenset(parts.get(m.id, none).done),
                frozenset(parts.get(m.id, none).intended),
            )
            for m in messages
        ]

    return take


def _fenced(work: DbWork, take: Callable[[Session], list[Job]]) -> Callable[[Session], list[Job]]:
    """``take`` in a transaction that first checks the lease is still ours (issue 19)."""

    def fenced(session: Session) -> list[Job]:
        work.fenced(session)
        return take(session)

    return fenced


class MessageDispatcher:
    """Takes due messages and sends their parts through the carriers."""

    def __init__(
        self,
        *,
        work: DbWork,
        carriers: Carriers,
        settings: DispatchSettings | None = None,
        on_receipt: Hook | None = None,
        on_inbound: Hook | None = None,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self.work = work
        # Issue 19: whether this worker's leader tenure is still valid (its monotonic
        # deadline): checked before each take and around each part's intent, so a leader
        # paused past its lease sends nothing its successor may send.
        self.leading = leading
        self.carriers = carriers
        self.settings = settings or DispatchSettings()
        self.hooks = Hooks(on_receipt, on_inbound)
        self.now = wallclock
        # More to expire with the messages (the inbound side's stale parts).
        self.also_expire: Callable[[], Awaitable[None]] | None = None
        self.loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()
        self._active = 0  # messages being sent
        self._freed = asyncio.Event()
        self._sending = TaskSet(log, "message sending")
        self._main: asyncio.Task[None] | None = None
        self.sent_parts = 0

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> int:
        """Put back in the queue what a stop left ``sending``; start the loop. How many
        messages were put back."""
        now = self.now()
        restarted = await self.work.run(lambda s: delivery.requeue_interrupted(s, now))
        if restarted.requeued:
            log.info("%d message(s) interrupted by the last stop queued again", restarted.requeued)
        if restarted.in_doubt:
            log.warning(
                "%d part(s) were being written at the last stop: counted as sent, not sent"
                " again (%d message(s) sent by them)",
                restarted.in_doubt,
                restarted.sent,
            )
        self._main = self.loop.create_task(self._run())
        return restarted.requeued

    def wake(self) -> None:
        """Look for due messages now. Callable from any thread."""
        self.loop.call_soon_threadsafe(self._woken.set)

    async def close(self) -> None:
        """Stop taking messages; let those being sent finish for ``stop_grace`` seconds
        (the others stay ``sending`` and are queued again at the next start)."""
        if self._main is not None:
            self._main.cancel()
            await asyncio.gather(self._main, return_exceptions=True)
        await self._sending.wait(self.settings.stop_grace)
        self._sending.cancel()
        await self._sending.wait(1.0)

    # -- the loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        settings = self.settings
        next_expiry = self.loop.time() + settings.expire_seconds
        while True:
            if self.loop.time() >= next_expiry:
                next_expiry = self.loop.time() + settings.expire_seconds
                await self._expire()
            # Cleared before the take: a wake during it makes the wait below return.
            self._woken.clear()
            try:
                taken = await self._take_some()
            except Deposed:
                taken = 0  # the lease keeper stops this dispatcher
            except Exception:
                log.exception("taking due messages failed")
                taken = 0
            if taken >= settings.take_limit:
                continue  # more may be due: no wait
            timeout = max(0.0, min(settings.poll_seconds, next_expiry - self.loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout)

    async def _take_some(self) -> int:
        if not self.carriers.any_bound:
            return 0  # they wait queued, untouched; a bind coming up wakes the loop
        if not self.leading():
            return 0
        limit = min(self.settings.take_limit, self.settings.in_flight - self._active)
        if limit <= 0:
            self._freed.clear()
            await self._freed.wait()  # taken only what can be sent at once
            return 0
        jobs = await self.work.run(_fenced(self.work, _take(limit, self.now())))
        self._active += len(jobs)
        for job in jobs:
            self._sending.spawn(self._send(job))
        return len(jobs)

    async def _expire(self) -> None:
        now = self.now()
        try:
            expired = await self.work.run(lambda s: delivery.expire_overdue(s, now))
        except Exception:
            log.exception("expiring messages failed")
            return
        for message in expired:
            self.hooks.on_receipt(message)
        if self.also_expire is not None:
            await self.also_expire()

    # -- one message ----------------------------------------------------------------------

    async def _send(self, job: Job) -> None:
        try:
            await self._send_parts(job)
        except asyncio.CancelledError:
            raise
        except Deposed:
            # Left as it is (``sending``): the new leader puts it back in the queue.
            log.warning("message %s: not sent, this worker no longer leads", job.message_id)
        except Exception as exc:
            log.exception("message %s: sending failed", job.message_id)
            await self._failed(job, "sms.no_carrier", f"internal error: {exc}", retry=True)
        finally:
            self._active -= 1
            self._freed.set()

    async def _send_parts(self, job: Job) -> None:
        try:
            parts = submits(job)
        except SmsEncodingError as exc:
            await self._failed(job, "sms.invalid_encoding", str(exc), retry=False)
            return
        for seq, total, body in parts:
            result = await self.carriers.submit(
                job.recipient, body, _PartIntent(self, job, seq, total)
            )
            if isinstance(result, Accepted):
                await self._record(job, seq, total, result)
                continue
            if isinstance(result, Refused):
                await self._failed(job, "sms.carrier_refused", result.reason, retry=False)
                return
            delay = None if result.routable else self.settings.unroutable_retry_seconds
            await self._failed(job, "sms.no_carrier", result.reason, retry=True, delay=delay)
            return

    async def _record(self, job: Job, seq: int, total: int, accepted: Accepted) -> None:
        part = delivery.Submitted(seq, total, accepted.message_id)
        acceptance = delivery.Acceptance(job.message_id, part, accepted.carrier_id, self.now())
        await self.work.run_grouped(writes.ACCEPTANCES, acceptance)
        self.sent_parts += 1

    async def _failed(
        self, job: Job, code: str, reason: str, *, retry: bool, delay: float | None = None
    ) -> None:
        now = self.now()
        retry_in = timedelta(seconds=delay or self.settings.retry_seconds) if retry else None

        def write(session: Session) -> Message | None:
            return delivery.record_failure(
                session, job.message_id, code=code, reason=reason, now=now, retry_in=retry_in
            )

        message = await self.work.run(write)
        if message is not None and message.status in ("failed", "expired"):
            log.info("message %s %s: %s (%s)", job.message_id, message.status, code, reason)
            self.hooks.on_receipt(message)


class _PartIntent:
    """One part's intent, written through the dispatcher's group commit."""

    __slots__ = ("dispatcher", "message_id", "seq", "standing", "total")

    def __init__(self, dispatcher: MessageDispatcher, job: Job, seq: int, total: int):
        self.dispatcher = dispatcher
        self.message_id = job.message_id
        self.seq = seq
        self.total = total
        # Whether a row stands for this part: a new part's intent is one INSERT.
        self.standing = seq in job.intended

    async def writing(self, carrier_id: str) -> None:
        intent = delivery.IntentRecord(
            self.message_id,
            self.seq,
            self.total,
            carrier_id,
            self.dispatcher.now(),
            new=not self.standing,
        )

        if not self.dispatcher.leading():
            raise Deposed("this worker's leader tenure ended")
        # Before the commit: should it fail or be cancelled after all, the next write
        # takes the general path (an UPDATE, then an INSERT when none stood).
        self.standing = True
        await self.dispatcher.work.run_grouped(writes.INTENTS, intent)
        if not self.dispatcher.leading():
            # Paused during the commit past the tenure: the part stays in doubt (counted
            # as sent by the new leader, never sent twice) rather than written now.
            raise Deposed("this worker's leader tenure ended")

    async def withdrawn(self) -> None:
        await self.dispatcher.work.run(
            lambda session: delivery.withdraw_intent(session, self.message_id, self.seq)
        )
        self.standing = False
