"""How a message moves once stored: taken for sending, its parts accepted by a carrier,
its delivery receipts, retries and expiry. The runtime that talks SMPP calls these, each
in a transaction it commits before it acts on the result.

A message's status follows its parts: ``sent`` once every part was accepted by the
carrier (a submit_sm_resp with a message id) or is in doubt (below), ``delivered`` once
every part's receipt says so, ``undelivered`` as soon as one part's receipt says it will
not be, ``expired`` when a part expired or the validity period ran out first.

Exactly once across a crash (issue 15): a part's intent is committed before its
submit_sm is written (``record_intent``: a part ``submitting``, no carrier id yet), and
completed by its submit_sm_resp (``record_part``) or withdrawn when the carrier refused it
(``withdraw_intent``: a refused part never reached the carrier as a message). A part
still ``submitting`` at a restart is in doubt: its bytes almost surely left, so it is
counted as sent, with no carrier id, and never sent again (``requeue_interrupted``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.services.messaging import notices
from dialtone.services.messaging import part_sql as sql
from dialtone.services.messaging.messages import FINAL_STATES
from dialtone.store.messaging_models import Message, MessagePart

PartOutcome = Literal["delivered", "undelivered", "expired", "sent"]

SUBMITTING = sql.SUBMITTING
IN_DOUBT = "in doubt after a restart: no carrier id, no receipt will match"


@dataclass(frozen=True, slots=True)
class PartsKnown:
    """A message's parts as a take found them."""

    done: set[int]  # accepted, or in doubt: not to send again
    intended: set[int]  # an intent standing (``submitting``)


@dataclass(frozen=True, slots=True)
class Submitted:
    """One part a carrier accepted."""

    seq: int
    total: int
    carrier_message_id: str


def take_due(session: Session, now: datetime, limit: int = 500) -> list[Message]:
    """Queued messages due now, marked ``sending`` (oldest first); the caller commits
    before sending them, so a restart finds them as they were left."""
    rows = list(
        session.scalars(
            select(Message)
            .where(
                Message.status == "queued",
                Message.next_attempt_at <= now,
                Message.direction == "outbound",
            )
            .order_by(Message.next_attempt_at, Message.created_at)
            .limit(limit)
        )
    )
    for row in rows:
        row.status = "sending"
        row.attempts += 1
        row.next_attempt_at = None
        row.updated_at = now
    return rows


@dataclass(frozen=True, slots=True)
class Restarted:
    """What ``requeue_interrupted`` found: messages queued again, parts in doubt, and
    messages ``sent`` because their last parts were in doubt."""

    requeued: int
    in_doubt: int
    sent: int


def requeue_interrupted(session: Session, now: datetime) -> Restarted:
    """At start: parts left ``submitting`` by a stop are in doubt, counted as sent (their
    submit_sm was written, or about to be, when the process died: sending them again
    would repeat them); then each message left ``sending`` is ``sent`` when every part is
    accepted or in doubt, else goes back to the queue (its accepted and in-doubt parts
    are kept and not sent again)."""
    doubtful = list(
        session.scalars(
            select(MessagePart)
            .join(Message, Message.id == MessagePart.message_id)
            .where(MessagePart.status == SUBMITTING, Message.status == "sending")
        )
    )
    for part in doubtful:
        part.status = "sent"
        part.error = IN_DOUBT
    session.flush()
    requeued = sent = 0
    for message in session.scalars(select(Message).where(Message.status == "sending")):
        parts = accepted_parts(session, message.id)
        total = max((p.total for p in parts.values()), default=message.segments)
        message.updated_at = now
        if parts and len(parts) >= total:
            message.status = "sent"
            message.sent_at = now
            if message.carrier_id is None:
                message.carrier_id = next(iter(parts.values())).carrier_id
            notices.status_changed(session, message, now)
            sent += 1
        else:
            message.status = "queued"
            message.next_attempt_at = now
            requeued += 1
    session.flush()
    return Restarted(requeued=requeued, in_doubt=len(doubtful), sent=sent)


def parts_of(session: Session, message_ids: Collection[str]) -> dict[str, PartsKnown]:
    """For each message, its parts not to send again (``accepted_parts``' sequence
    numbers) and those with an intent standing (``submitting``), in one query."""
    found = {message_id: PartsKnown(set(), set()) for message_id in message_ids}
    if not found:
        return found
    for message_id, seq, status in session.execute(
        select(MessagePart.message_id, MessagePart.seq, MessagePart.status).where(
            MessagePart.message_id.in_(list(found))
        )
    ):
        known = found[message_id]
        (known.intended if status == SUBMITTING else known.done).add(seq)
    return found


def accepted_parts(session: Session, message_id: str) -> dict[int, MessagePart]:
    """The parts of a message not to send again, by sequence number: those a carrier
    accepted, and those in doubt after a restart (``sent`` without a carrier id)."""
    rows = session.scalars(select(MessagePart).where(MessagePart.message_id == message_id))
    return {r.seq: r for r in rows if r.status != SUBMITTING}


def _part(session: Session, message_id: str, seq: int) -> MessagePart | None:
    return session.scalar(
        select(MessagePart).where(MessagePart.message_id == message_id, MessagePart.seq == seq)
    )


def record_intent(
    session: Session,
    message_id: str,
    seq: int,
    total: int,
    *,
    carrier_id: str,
    now: datetime,
    new: bool = False,
) -> None:
    """Part ``seq`` is about to be written to ``carrier_id``'s bind: committed
    ``submitting`` first, so a restart knows it may have left (issue 15: each part
    reaches the carrier once). Again for the same part (another carrier, a throttled
    retry) it moves. ``new``: the caller knows no row stands for the part (one
    statement, not two)."""
    record_intents(session, [IntentRecord(message_id, seq, total, carrier_id, now, new)])


@dataclass(frozen=True, slots=True)
class IntentRecord:
    """``record_intent``'s arguments."""

    message_id: str
    seq: int
    total: int
    carrier_id: str
    now: datetime
    new: bool


def record_intents(session: Session, intents: list[IntentRecord]) -> list[None]:
    """``record_intent`` for many parts: the new ones in one statement."""
    fresh = [i for i in intents if i.new]
    for i in intents:
        if i.new:
            continue
        moved = sql.run(
            session,
            sql.MOVE_INTENT,
            p_message=i.message_id,
            p_seq=i.seq,
            p_carrier=i.carrier_id,
            p_at=i.now,
        )
        if moved.rowcount:
            sql.forget_parts(session, {i.message_id})
            continue
        part = _part(session, i.message_id, i.seq)
        if part is not None:
            raise ValueError(f"part {i.seq} of {i.message_id} is already {part.status}")
        fresh.append(i)  # none stood after all
    sql.run_many(
        session,
        sql.NEW_PART,
        [
            {
                "p_message": i.message_id,
                "p_seq": i.seq,
                "p_total": i.total,
                "p_carrier": i.carrier_id,
                "p_carrier_message": None,
                "p_status": SUBMITTING,
                "p_at": i.now,
            }
            for i in fresh
        ],
    )
    return [None] * len(intents)


def withdraw_intent(session: Session, message_id: str, seq: int) -> None:
    """The carrier answered part ``seq``'s submit_sm with an error (or it could not be
    written): it is not at the carrier, so it may be sent again."""
    if sql.run(session, sql.WITHDRAW_INTENT, p_message=message_id, p_seq=seq).rowcount:
        sql.forget_parts(session, {message_id})


@dataclass(frozen=True, slots=True)
class Acceptance:
    """A carrier's submit_sm_resp with a message id: part ``part`` of ``message_id`` is
    ``carrier_id``'s."""

    message_id: str
    part: Submitted
    carrier_id: str
    now: datetime


def record_part(
    session: Session,
    message_id: str,
    part: Submitted,
    *,
    carrier_id: str,
    now: datetime,
) -> None:
    """A carrier accepted one part (its submit_sm_resp): its intent, if any, completed
    with the carrier's id; the message is ``sent`` once all parts are."""
    record_parts(session, [Acceptance(message_id, part, carrier_id, now)])


def record_parts(session: Session, accepted: list[Acceptance]) -> list[None]:
    """``record_part`` for many parts (of different messages) in a few statements."""
    rows = [
        {
            "p_message": a.message_id,
            "p_seq": a.part.seq,
            "p_total": a.part.total,
            "p_carrier": a.carrier_id,
            "p_carrier_message": a.part.carrier_message_id,
        }
        for a in accepted
    ]
    if sql.run_many(session, sql.ACCEPT_PART, rows).rowcount != len(rows):
        # A part accepted with no intent before it (the UPDATE is idempotent: again).
        for a, row in zip(accepted, rows, strict=True):
            if not sql.run(session, sql.ACCEPT_PART, **row).rowcount:
                sql.run(session, sql.NEW_PART, **row, p_status="sent", p_at=a.now)
    ids = {a.message_id for a in accepted}
    sql.forget_parts(session, ids)
    several = [a.message_id for a in accepted if a.part.total > 1]
    counts = sql.accepted_counts(session, several) if several else {}
    whole = {a.message_id for a in accepted if counts.get(a.message_id, 1) >= a.part.total}
    states = sql.message_states(session, whole) if whole else {}
    # One change per message, should several of its parts be in the batch (the last).
    last = {a.message_id: a for a in accepted}
    sent = [a for a in last.values() if states.get(a.message_id, ("", None))[0] == "sending"]
    sent_ids = {a.message_id for a in sent}
    others = [a for a in last.values() if a.message_id not in sent_ids]
    # A retry that got through: the temporary error it met before is no longer why.
    sql.run_many(
        session,
        sql.MESSAGE_SENT,
        [{"m_id": a.message_id, "m_at": a.now, "m_carrier": a.carrier_id} for a in sent],
    )
    # Parts still to come, or not being sent: only the carrier changes.
    sql.run_many(
        session,
        sql.MESSAGE_CARRIER,
        [{"m_id": a.message_id, "m_at": a.now, "m_carrier": a.carrier_id} for a in others],
    )
    sql.forget(session, ids)
    for a in sent:
        if states[a.message_id][1]:  # a status callback
            message = session.get(Message, a.message_id)
            assert message is not None
            notices.status_changed(session, message, a.now)
    return [None] * len(accepted)


def record_failure(
    session: Session,
    message_id: str,
    *,
    code: str,
    reason: str,
    now: datetime,
    retry_in: timedelta | None,
) -> Message | None:
    """Sending failed: back to the queue after ``retry_in`` (a temporary error, no
    carrier bound), or ``failed`` for good (``retry_in`` None, or past the validity)."""
    message = session.get(Message, message_id)
    if message is None or message.status in FINAL_STATES:
        return message
    message.updated_at = now
    if retry_in is not None and now + retry_in < message.expires_at:
        message.status = "queued"
        message.next_attempt_at = now + retry_in
        message.error_code, message.error_message = code, reason[:500]
        return message
    message.status = "expired" if retry_in is not None else "failed"
    message.error_code, message.error_message = code, reason[:500]
    message.done_at = now
    notices.status_changed(session, message, now)
    return message


@dataclass(frozen=True, slots=True)
class ReceiptIn:
    """A carrier's delivery receipt for the part it knows as ``carrier_message_id``."""

    carrier_id: str
    carrier_message_id: str
    outcome: PartOutcome
    error: str | None
    now: datetime


def record_receipt(
    session: Session,
    carrier_id: str,
    carrier_message_id: str,
    outcome: PartOutcome,
    *,
    error: str | None,
    now: datetime,
) -> Message | None:
    """A delivery receipt for one part; the message it belongs to (its status moved as
    its parts say), or None when no part has this carrier message id."""
    [message] = record_receipts(
        session, [ReceiptIn(carrier_id, carrier_message_id, outcome, error, now)]
    )
    return message


def record_receipts(session: Session, receipts: list[ReceiptIn]) -> list[Message | None]:
    """``record_receipt`` for many receipts, in a few statements: for each receipt, in
    order, the message as that receipt left it (a message two receipts of the batch
    move is returned twice, as each left it: the first of two parts delivered leaves it
    ``sent``). The messages returned are read outside the ORM's session
    (``sql.messages``): what reads them after the commit sees what was stored."""
    found = sql.parts_by_carrier_id(
        session, [(r.carrier_id, r.carrier_message_id) for r in receipts]
    )
    matched = [(r, found.get((r.carrier_id, r.carrier_message_id))) for r in receipts]
    ids = {part.message_id for _, part in matched if part is not None}
    messages = sql.messages(session, ids) if ids else {}
    several = [m.id for m in messages.values() if m.segments > 1]
    parts = sql.part_states(session, several) if several else {}
    changed: dict[str, Message] = {}
    returned: set[str] = set()
    results: list[Message | None] = []
    done_updates: list[dict[str, Any]] = []
    sent_updates: list[dict[str, Any]] = []
    for receipt, part in matched:
        if part is None:
            results.append(None)
            continue
        update = {"p_id": part.id, "p_status": receipt.outcome, "p_error": receipt.error}
        if receipt.outcome == "sent":
            sent_updates.append(update)
        else:
            done_updates.append(update | {"p_at": receipt.now})
        message = messages.get(part.message_id)
        if message is None:
            results.append(None)
            continue
        outcomes = parts.setdefault(message.id, {})
        outcomes[part.seq] = receipt.outcome
        if message.id in returned:  # an earlier receipt's result stays as it left it
            message = messages[message.id] = sql.copy(message)
        returned.add(message.id)
        results.append(message)
        if message.status in FINAL_STATES:
            continue
        status = _message_status(list(outcomes.values()), message.segments)
        if status == "sent" and message.status == "sending":
            # A receipt for an early part while later ones are still being sent: ``sent``
            # would keep a restart from sending them.
            continue
        if status != message.status:
            message.status = status
            message.updated_at = receipt.now
            if status in FINAL_STATES:
                message.done_at = receipt.now
                if status != "delivered":
                    message.error_code = _FAILED_CODES[status]
                    message.error_message = receipt.error
            changed[message.id] = message
            notices.status_changed(session, message, receipt.now)
    sql.run_many(session, sql.PART_OUTCOME, sent_updates)
    sql.run_many(session, sql.PART_OUTCOME_DONE, done_updates)
    sql.run_many(
        session,
        sql.MESSAGE_STATUS,
        [
            {
                "m_id": m.id,
                "m_status": m.status,
                "m_at": m.updated_at,
                "m_done_at": m.done_at,
                "m_error_code": m.error_code,
                "m_error_message": m.error_message,
                "m_owed": m.bind_notice_due_at,  # what a bind is owed (bind_notices)
            }
            for m in changed.values()
        ],
    )
    sql.forget_parts(session, ids)
    sql.forget(session, changed)
    return results


_FAILED_CODES = {"undelivered": "sms.undelivered", "expired": "sms.expired"}


def _message_status(outcomes: list[str], parts: int) -> str:
    if "undelivered" in outcomes:
        return "undelivered"
    if "expired" in outcomes:
        return "expired"
    if len(outcomes) >= parts and all(o == "delivered" for o in outcomes):
        return "delivered"
    return "sent"


def expire_overdue(session: Session, now: datetime) -> list[Message]:
    """Messages past their validity that never reached a final state: ``expired``."""
    rows = list(
        session.scalars(
            select(Message).where(
                Message.direction == "outbound",
                Message.status.in_(("queued", "sent")),
                Message.expires_at <= now,
            )
        )
    )
    for row in rows:
        row.status = "expired"
        row.error_code = "sms.expired"
        row.error_message = "not delivered within the validity period"
        row.done_at = row.updated_at = now
        notices.status_changed(session, row, now)
    return rows
