"""The lists the Twilio-compatible API pages through (issue 16): messages, call
records, numbers, each with Twilio's filters, newest first (numbers in number order),
``offset`` rows on and one more than asked (so the page knows a next one exists).

Reads only: sending, buying and releasing go through the domains' own services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from dialtone.store.messaging_models import Message
from dialtone.store.models import CallRecord, PhoneNumber

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Slice:
    """Where a page lies: ``offset`` rows on, ``limit`` rows."""

    offset: int
    limit: int


def _page(session: Session, query: Select[T], where: Slice) -> tuple[list[T], bool]:
    rows = list(session.scalars(query.offset(where.offset).limit(where.limit + 1)))
    return rows[: where.limit], len(rows) > where.limit


def messages(
    session: Session,
    account_id: str,
    where: Slice,
    *,
    to: str | None = None,
    sender: str | None = None,
    sent_since: datetime | None = None,
    sent_until: datetime | None = None,
) -> tuple[list[Message], bool]:
    """The account's messages, newest first; ``sent_*`` bound the moment each was sent
    (its creation while not sent yet)."""
    query = select(Message).where(Message.account_id == account_id)
    if to is not None:
        query = query.where(Message.recipient == to)
    if sender is not None:
        query = query.where(Message.sender == sender)
    sent = func.coalesce(Message.sent_at, Message.created_at)
    if sent_since is not None:
        query = query.where(sent >= sent_since)
    if sent_until is not None:
        query = query.where(sent < sent_until)
    return _page(session, query.order_by(Message.created_at.desc(), Message.id.desc()), where)


def calls(
    session: Session,
    account_id: str,
    where: Slice,
    *,
    to: str | None = None,
    caller: str | None = None,
    statuses: tuple[str, ...] | None = None,
    started_since: datetime | None = None,
    started_until: datetime | None = None,
    user_id: str | None = None,
) -> tuple[list[CallRecord], bool]:
    """The account's call records, newest first (``user_id``: those that user took or
    placed, TERMS D1)."""
    query = select(CallRecord).where(CallRecord.account_id == account_id)
    if to is not None:
        query = query.where(CallRecord.to_number == to)
    if caller is not None:
        query = query.where(CallRecord.from_number == caller)
    if statuses is not None:
        query = query.where(CallRecord.status.in_(statuses))
    if started_since is not None:
        query = query.where(CallRecord.started_at >= started_since)
    if started_until is not None:
        query = query.where(CallRecord.started_at < started_until)
    if user_id is not None:
        query = query.where(
            or_(CallRecord.user_id == user_id, CallRecord.caller_user_id == user_id)
        )
    order = (CallRecord.started_at.desc(), CallRecord.id.desc())
    return _page(session, query.order_by(*order), where)


def numbers(
    session: Session,
    account_id: str,
    where: Slice,
    *,
    number: str | None = None,
    friendly_name: str | None = None,
) -> tuple[list[PhoneNumber], bool]:
    """The account's numbers in number order; ``number`` is a part of the number (its
    digits), ``friendly_name`` the exact name."""
    query = select(PhoneNumber).where(PhoneNumber.account_id == account_id)
    if number:
        query = query.where(PhoneNumber.number.contains(number, autoescape=True))
    if friendly_name is not None:
        query = query.where(PhoneNumber.friendly_name == friendly_name)
    return _page(session, query.order_by(PhoneNumber.number), where)
