"""The overview's counts over call records (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from dialtone.services.ids import new_id
from dialtone.services.telephony import call_stats
from dialtone.store.models import CallRecord

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


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
