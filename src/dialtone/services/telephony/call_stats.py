"""Counts over an account's call records for the console's overview (issue 18): per day,
and since a moment. Each is one statement answered from the covering index
``ix_call_records_account_totals`` (account, start, answered, billed seconds, the two
users) without reading the table's rows: the overview stays within its 50 ms with
100,000 records in the account (benchmarks/console_overview.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import Executable, bindparam, func, literal, select, union_all
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
            func.count(),
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
    included (as zeros).

    One range per day, put together with UNION ALL: each range is a stretch of the
    covering index, summed where it lies. Grouping by a day computed from ``started_at``
    instead made the database sort every record of the period (four times slower on
    SQLite), and SQLite's ``CAST(date(...) AS DATE)`` is the year alone, a number: every
    day fell in one group."""
    last = until.date()
    first = last - timedelta(days=days - 1)
    values: dict[str, object] = {"account": account_id, "user": user_id}
    for n in range(days + 1):
        on = first + timedelta(days=n)
        values[f"from{n}"] = datetime(on.year, on.month, on.day, tzinfo=until.tzinfo)
    found = {
        int(n): (int(calls), int(answered), int(billed))
        for n, calls, answered, billed in session.execute(
            _per_day_statement(days, user_id is not None), values
        )
    }
    return [DayOfCalls(first + timedelta(days=n), *found.get(n, (0, 0, 0))) for n in range(days)]


@cache
def _per_day_statement(days: int, narrowed: bool) -> Executable:
    """The statement of :func:`per_day`, made once: 30 selects take longer to build than
    the database takes to answer them."""
    ranges = []
    for n in range(days):
        query = select(
            literal(n).label("n"),
            func.count(),
            func.count(CallRecord.answered_at),
            func.coalesce(func.sum(CallRecord.billed_seconds), 0),
        ).where(
            CallRecord.account_id == bindparam("account"),
            CallRecord.started_at >= bindparam(f"from{n}"),
            CallRecord.started_at < bindparam(f"from{n + 1}"),
        )
        if narrowed:
            query = query.where(
                (CallRecord.user_id == bindparam("user"))
                | (CallRecord.caller_user_id == bindparam("user"))
            )
        ranges.append(query)
    return union_all(*ranges)
