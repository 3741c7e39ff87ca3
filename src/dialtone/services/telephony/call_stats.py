"""Counts over an account's call records for the console's overview (issue 18): per day,
and since a moment. Each is one aggregate query over the ``(account_id, started_at)``
index, so the overview costs the same with 100 or 100,000 records in the period's
neighbourhood of the table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.store.models import CallRecord


@dataclass(frozen=True, slots=True)
class DayOfCalls:
    """The calls that started on one UTC day."""

    day: date
    calls: int
    answered: int
    billed_seconds: int


@dataclass(frozen=True, slots=True)
class CallTotals:
    """Calls since a moment: how many, how many answered, the seconds billed."""

    calls: int
    answered: int
    billed_seconds: int

    @property
    def billed_minutes(self) -> Decimal:
        return (Decimal(self.billed_seconds) / 60).quantize(Decimal("0.1"))


def _narrowed(query, account_id: str, user_id: str | None):  # type: ignore[no-untyped-def]
    query = query.where(CallRecord.account_id == account_id)
    if user_id is not None:
        # A role that reaches its own calls only (TERMS D1): taken or placed by the user.
        query = query.where(
            (CallRecord.user_id == user_id) | (CallRecord.caller_user_id == user_id)
        )
    return query


def totals_since(
    session: Session, account_id: str, since: datetime, *, user_id: str | None = None
) -> CallTotals:
    """Calls that started at or after ``since``."""
    query = _narrowed(
        select(
            func.count(CallRecord.id),
            func.count(CallRecord.answered_at),
            func.coalesce(func.sum(CallRecord.billed_seconds), 0),
        ),
        account_id,
        user_id,
    ).where(CallRecord.started_at >= since)
    calls, answered, billed = session.execute(query).one()
    return CallTotals(int(calls), int(answered), int(billed))


def per_day(
    session: Session,
    account_id: str,
    *,
    until: datetime,
    days: int,
    user_id: str | None = None,
) -> list[DayOfCalls]:
    """The last ``days`` UTC days up to ``until``'s day, oldest first, days without calls
    included (as zeros)."""
    last = until.date()
    first = last - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=until.tzinfo)
    day = func.date(CallRecord.started_at)
    query = (
        _narrowed(
            select(
                day,
                func.count(CallRecord.id),
                func.count(CallRecord.answered_at),
                func.coalesce(func.sum(CallRecord.billed_seconds), 0),
            ),
            account_id,
            user_id,
        )
        .where(CallRecord.started_at >= start)
        .group_by(day)
    )
    found: dict[date, DayOfCalls] = {}
    for when, calls, answered, billed in session.execute(query):
        on = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        found[on] = DayOfCalls(on, int(calls), int(answered), int(billed))
    return [
        found.get(first + timedelta(days=n), DayOfCalls(first + timedelta(days=n), 0, 0, 0))
        for n in range(days)
    ]
