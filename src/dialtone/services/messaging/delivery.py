"""How a message moves once stored: taken for sending, its parts accepted by a carrier,
its delivery receipts, retries and expiry. The runtime that talks SMPP calls these, each
in a transaction it commits before it acts on the result.

A message's status follows its parts: ``sent`` once every part was accepted by the
carrier (a submit_sm_resp with a message id), ``delivered`` once every part's receipt
says so, ``undelivered`` as soon as one part's receipt says it will not be, ``expired``
when a part expired or the validity period ran out first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dialtone.services.messaging import notices
from dialtone.services.messaging.messages import FINAL_STATES
from dialtone.store.messaging_models import Message, MessagePart

PartOutcome = Literal["delivered", "undelivered", "expired", "sent"]


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


def requeue_interrupted(session: Session, now: datetime) -> int:
    """At start: messages left ``sending`` by a stop go back to the queue (their parts
    already accepted are kept and not sent again)."""
    result = session.execute(
        update(Message)
        .where(Message.status == "sending")
        .values(status="queued", next_attempt_at=now, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def accepted_parts(session: Session, message_id: str) -> dict[int, MessagePart]:
    """The parts of a message a carrier already accepted, by sequence number."""
    rows = session.scalars(select(MessagePart).where(MessagePart.message_id == message_id))
    return {r.seq: r for r in rows if r.carrier_message_id is not None}


def record_part(
    session: Session,
    message_id: str,
    part: Submitted,
    *,
    carrier_id: str,
    now: datetime,
) -> None:
    """A carrier accepted one part (its submit_sm_resp); the message is ``sent`` once
    all parts are."""
    session.add(
        MessagePart(
            message_id=message_id,
            seq=part.seq,
            total=part.total,
            carrier_id=carrier_id,
            carrier_message_id=part.carrier_message_id,
            status="sent",
            submitted_at=now,
        )
    )
    session.flush()
    message = session.get(Message, message_id)
    if message is None:
        return
    message.carrier_id = carrier_id
    message.updated_at = now
    if len(accepted_parts(session, message_id)) >= part.total and message.status == "sending":
        message.status = "sent"
        message.sent_at = now
        notices.status_changed(session, message, now)


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
    part = session.scalar(
        select(MessagePart).where(
            MessagePart.carrier_id == carrier_id,
            MessagePart.carrier_message_id == carrier_message_id,
        )
    )
    if part is None:
        return None
    part.status = outcome
    part.error = error
    if outcome != "sent":
        part.done_at = now
    message = session.get(Message, part.message_id)
    if message is None or message.status in FINAL_STATES:
        return message
    outcomes = [
        p.status
        for p in session.scalars(select(MessagePart).where(MessagePart.message_id == message.id))
    ]
    status = _message_status(outcomes, message.segments)
    if status != message.status:
        message.status = status
        message.updated_at = now
        if status in FINAL_STATES:
            message.done_at = now
            if status != "delivered":
                message.error_code = _FAILED_CODES[status]
                message.error_message = error
        notices.status_changed(session, message, now)
    return message


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
