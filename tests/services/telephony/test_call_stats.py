"""The overview's counts: calls per UTC day (each call on the day it started, midnight
exact), since a moment, for the account or one user (D1), and never another account's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy.orm import Session

from dialtone.services.ids import new_id
from dialtone.services.telephony import call_stats
from dialtone.services.telephony.call_stats import CallTotals, DayOfCalls
from dialtone.store.models import CallRecord
from tests.database import query_plan

UNTIL = datetime(2026, 11, 10, 15, 30, tzinfo=UTC)
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
_serial = count()


def _call(
    session: Session,
    account: str,
    started: datetime,
    *,
    answered: bool = True,
    billed: int = 60,
    user: str | None = None,
    caller_user: str | None = None,
) -> None:
    n = next(_serial)
    session.add(
        CallRecord(
            id=f"CA{n:032d}",
            account_id=account,
            direction="inbound",
            from_number="+33100000000",
            to_number="+33184000001",
            started_at=started,
            answered_at=started + timedelta(seconds=3) if answered else None,
            ended_at=started + timedelta(seconds=3 + billed),
            duration=Decimal(billed),
            billed_seconds=billed if answered else 0,
            billing_increment="60/60",
            status="completed" if answered else "no-answer",
            hangup_cause="normal",
            sip_call_id=f"call-{n}",
            sip_local_tag="t",
            user_id=user,
            caller_user_id=caller_user,
        )
    )
    session.flush()


@pytest.mark.parametrize(
    ("started", "day"),
    [
        (datetime(2026, 11, 10, 0, 0, tzinfo=UTC), 2),  # midnight: the day it opens
        (datetime(2026, 11, 9, 23, 59, 59, 999_999, tzinfo=UTC), 1),
        (datetime(2026, 11, 8, 0, 0, tzinfo=UTC), 0),  # the first day shown
        (datetime(2026, 11, 10, 15, 29, tzinfo=UTC), 2),
    ],
)
def test_a_call_counts_on_the_utc_day_it_started(
    session: Session, account: str, started: datetime, day: int
) -> None:
    _call(session, account, started, billed=120)
    days = call_stats.per_day(session, account, until=UNTIL, days=3)
    assert [d.day.isoformat() for d in days] == ["2026-11-08", "2026-11-09", "2026-11-10"]
    expected = [DayOfCalls(d.day, 0, 0, 0) for d in days]
    expected[day] = DayOfCalls(days[day].day, 1, 1, 120)
    assert days == expected


def test_calls_before_the_first_day_are_left_out(session: Session, account: str) -> None:
    _call(session, account, datetime(2026, 11, 7, 23, 59, 59, tzinfo=UTC))
    days = call_stats.per_day(session, account, until=UNTIL, days=3)
    assert sum(d.calls for d in days) == 0


def test_days_are_counted_apart_with_answered_and_billed(session: Session, account: str) -> None:
    """Several days in one statement: each day its own sums (SQLite's CAST(date AS DATE)
    is a year, which once put every day into one)."""
    for offset, answered, billed in [(0, True, 60), (0, False, 0), (1, True, 180), (3, True, 30)]:
        started = datetime(2026, 11, 6 + offset, 10, tzinfo=UTC)
        _call(session, account, started, answered=answered, billed=billed)
    days = call_stats.per_day(session, account, until=UNTIL, days=5)
    assert [(d.day.day, d.calls, d.answered, d.billed_seconds) for d in days] == [
        (6, 2, 1, 60),
        (7, 1, 1, 180),
        (8, 0, 0, 0),
        (9, 1, 1, 30),
        (10, 0, 0, 0),
    ]


def test_a_user_sees_the_calls_they_took_or_placed(
    session: Session, account: str, other_account: str
) -> None:
    """D1: a role limited to its own calls counts those it took or placed, nothing else,
    and no account counts another's."""
    morning = datetime(2026, 11, 10, 9, tzinfo=UTC)
    _call(session, account, morning, user="USa")
    _call(session, account, morning, user="USb", caller_user="USa")
    _call(session, account, morning, user="USb")
    _call(session, other_account, morning, user="USa")
    for user, calls in [(None, 3), ("USa", 2), ("USb", 2), ("USc", 0)]:
        days = call_stats.per_day(session, account, until=UNTIL, days=1, user_id=user)
        assert days[0].calls == calls, user
        totals = call_stats.totals_since(session, account, morning, user_id=user)
        assert totals.calls == calls, user


def test_totals_since_a_moment(session: Session, account: str) -> None:
    midnight = datetime(2026, 11, 10, tzinfo=UTC)
    _call(session, account, midnight - timedelta(microseconds=1))
    _call(session, account, midnight, billed=90)
    _call(session, account, midnight + timedelta(hours=3), answered=False)
    totals = call_stats.totals_since(session, account, midnight)
    assert totals == CallTotals(2, 1, 90)
    assert totals.billed_minutes == Decimal("1.5")


def test_the_counts_are_read_from_the_covering_index(session: Session, account: str) -> None:
    """The overview's 50 ms with 100,000 records rests on never reading the table's rows."""
    plan = query_plan(
        session,
        "SELECT count(*), count(answered_at), sum(billed_seconds)"
        " FROM call_records WHERE account_id = :a AND started_at >= :s"
        " AND started_at < :e AND (user_id = :u OR caller_user_id = :u)",
        {"a": account, "s": "2026-11-01", "e": "2026-11-02", "u": "USa"},
    )
    # SQLite's words for an index read alone, and PostgreSQL's.
    covering = ("COVERING INDEX", "Index Only Scan using")
    assert any(f"{c} ix_call_records_account_totals" in plan for c in covering), plan


def _cdr(
    session: Session,
    account: str,
    started: datetime,
    *,
    answered: bool = True,
    billed: int = 60,
    user: str | None = None,
    caller: str | None = None,
) -> None:
    session.add(
        CallRecord(
            id=new_id("CA"),
            account_id=account,
            direction="inbound",
            from_number="+33100000000",
            to_number="+33200000000",
            started_at=started,
            answered_at=started if answered else None,
            ended_at=started + timedelta(seconds=billed),
            duration=Decimal(billed if answered else 0),
            billed_seconds=billed if answered else 0,
            billing_increment="60/60",
            status="completed" if answered else "no-answer",
            hangup_cause="normal",
            sip_call_id=new_id("SIP"),
            sip_local_tag="t",
            user_id=user,
            caller_user_id=caller,
        )
    )
    session.flush()


def test_totals_count_from_the_moment_on(
    session: Session, account: str, other_account: str
) -> None:
    midnight = NOON.replace(hour=0)
    _cdr(session, account, midnight - timedelta(seconds=1))
    _cdr(session, account, midnight)
    _cdr(session, account, NOON, answered=False)
    _cdr(session, other_account, NOON)
    totals = call_stats.totals_since(session, account, midnight)
    assert (totals.calls, totals.answered, totals.billed_seconds) == (2, 1, 60)
    assert totals.billed_minutes == Decimal("1.0")


def test_a_user_counts_the_calls_they_took_or_placed(session: Session, account: str) -> None:
    _cdr(session, account, NOON, user="US-a")
    _cdr(session, account, NOON, caller="US-a")
    _cdr(session, account, NOON, user="US-b")
    assert call_stats.totals_since(session, account, NOON, user_id="US-a").calls == 2


def test_per_day_fills_days_without_calls(session: Session, account: str) -> None:
    _cdr(session, account, NOON - timedelta(days=2), billed=120)
    _cdr(session, account, NOON - timedelta(days=2, hours=1))
    _cdr(session, account, NOON)
    _cdr(session, account, NOON - timedelta(days=3))  # before the window
    days = call_stats.per_day(session, account, until=NOON, days=3)
    assert [d.day.isoformat() for d in days] == ["2026-12-05", "2026-12-06", "2026-12-07"]
    assert [(d.calls, d.billed_seconds) for d in days] == [(2, 180), (0, 0), (1, 60)]
