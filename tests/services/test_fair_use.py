"""F1/V13 measured from the call records: days with more than 60 outbound calls under
15 s per user, and the month that allows suspension."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services import calls, fair_use, users
from dialtone.services.calls import CallOutcome

from .conftest import REALM, T0


def _calls(
    account: str, day: int, count: int, *, seconds: float = 3, direction: str = "outbound"
) -> list[CallOutcome]:
    start = datetime(2026, 11, day, 9, tzinfo=UTC)
    return [
        CallOutcome(
            account_id=account,
            direction=direction,
            from_number="+33123456789",
            to_number="+33612345678",
            started_at=start + timedelta(seconds=i),
            answered_at=start + timedelta(seconds=i),
            ended_at=start + timedelta(seconds=i + seconds),
            status="completed",
            hangup_cause="caller-bye",
            sip_call_id=f"{day}-{direction}-{seconds}-{i}",
            sip_local_tag="t",
        )
        for i in range(count)
    ]


def test_short_call_days_and_the_month(session: Session, account: str) -> None:
    for name in ("Alice", "Bob"):
        users.create_user(session, account, name=name, now=T0, realm=REALM)
    outcomes = [
        *_calls(account, 2, 121),  # 60.5 per user: counts
        *_calls(account, 3, 120),  # 60 per user: does not
        *_calls(account, 4, 121, seconds=14.999),  # just under 15 s: short
        *_calls(account, 5, 200, seconds=15),  # at 15 s: not short
        *_calls(account, 6, 300, direction="inbound"),  # received calls do not count
    ]
    calls.record_calls(session, outcomes)
    report = fair_use.short_call_report(session, account, "2026-11")
    assert [(d.day.day, d.short_calls, d.counts) for d in report.days] == [
        (2, 121, True),
        (3, 120, False),
        (4, 121, True),
    ]
    assert report.decision.allowed  # two days: under three
    calls.record_calls(session, _calls(account, 30, 130, seconds=0))
    third = fair_use.short_call_report(session, account, "2026-11")
    assert (third.decision.code, third.decision.rule) == ("fair_use.short_calls", "F1")
    assert fair_use.short_call_report(session, account, "2026-12").days == []


@pytest.mark.parametrize("month", ["2026-13", "November", ""])
def test_month_format(session: Session, account: str, month: str) -> None:
    with pytest.raises(DialtoneError, match="YYYY-MM"):
        fair_use.short_call_report(session, account, month)
