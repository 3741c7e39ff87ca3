"""Fair-use measures from the call records (TERMS F1 and V13: very short calls).

Days are calendar days in UTC. Outbound calls are those the account placed (devices'
calls out and click-to-call, direction ``outbound``); an unanswered one has duration 0
and counts as short.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy import fraud
from dialtone.policy.decision import Decision
from dialtone.services.accounts import get_account
from dialtone.store.models import CallRecord, User


@dataclass(frozen=True, slots=True)
class ShortCallDay:
    """One day of an account's outbound calls: how many were short, how many users it
    had, and whether the day counts under F1."""

    day: date
    short_calls: int
    users: int
    counts: bool


@dataclass(frozen=True, slots=True)
class ShortCallReport:
    """A month of F1: each day with short calls, and the month's decision."""

    month: str
    days: list[ShortCallDay]
    decision: Decision


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise DialtoneError("request.invalid", "month is YYYY-MM.") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def short_call_report(session: Session, account_id: str, month: str) -> ShortCallReport:
    """F1/V13 for ``month`` (``YYYY-MM``): the days with more than 60 outbound calls
    under 15 s per user, and whether the month allows suspension (3 such days)."""
    get_account(session, account_id)
    start, end = _month_bounds(month)
    durations = session.execute(
        select(CallRecord.started_at, CallRecord.duration).where(
            CallRecord.account_id == account_id,
            CallRecord.direction == "outbound",
            CallRecord.started_at >= start,
            CallRecord.started_at < end,
        )
    ).all()
    per_day = Counter(
        started.astimezone(UTC).date()
        for started, duration in durations
        if fraud.is_short_call(Decimal(duration))
    )
    users = (
        session.scalar(select(func.count()).select_from(User).where(User.account_id == account_id))
        or 0
    )
    days = [
        ShortCallDay(day, count, users, fraud.short_call_day(count, users))
        for day, count in sorted(per_day.items())
    ]
    decision = fraud.short_calls_month(sum(d.counts for d in days), month=month)
    return ShortCallReport(month, days, decision)
