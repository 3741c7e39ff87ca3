"""F1/V13 measured from the call records: days with more than 60 outbound calls under
15 s per user, and the month that allows suspension."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import accounts, audit
from dialtone.services.compliance import fair_use
from dialtone.services.telephony import calls, registrations, users
from dialtone.services.telephony.calls import CallOutcome

from ..conftest import REALM, T0


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


# -- F5 ------------------------------------------------------------------------------

WEEK = timedelta(days=7)


def test_f5_suspend_warns_once_and_keeps_the_first_seven_days(
    session: Session, account: str
) -> None:
    fair_use.suspend(session, account, now=T0, rule="F1", reason="3 short-call days")
    again = fair_use.suspend(session, account, now=T0 + timedelta(days=3), rule="F2", reason="x")
    assert (again.suspended_at, again.suspension_rule) == (T0, "F1")
    events, _ = audit.list_events(session, account)
    assert [(e.code, e.outcome, e.action) for e in events] == [
        ("fair_use.suspended", "enforced", "account.suspend")
    ]
    assert "Warning" in events[0].message
    with pytest.raises(DialtoneError):
        fair_use.suspend(session, account, now=T0, rule="Z9", reason="x")


@pytest.mark.parametrize(
    ("remedied", "run_at", "terminated"),
    [
        (False, T0 + WEEK - timedelta(seconds=1), False),  # just under the 7 days
        (False, T0 + WEEK, True),  # at
        (False, T0 + WEEK * 3, True),  # after two weeks of downtime: same end state
        (True, T0 + WEEK, False),  # remedied in time: the plan resumes
    ],
)
def test_f5_review_terminates_an_unremedied_suspension_when_it_was_due(
    session: Session, account: str, remedied: bool, run_at: datetime, terminated: bool
) -> None:
    fair_use.suspend(session, account, now=T0, rule="F1", reason="x")
    if remedied:
        fair_use.remedy(session, account, now=T0 + timedelta(days=2))
    first = fair_use.review(session, run_at)
    second = fair_use.review(session, run_at)
    row = accounts.get_account(session, account)
    assert first == ([account] if terminated else [])
    assert second == []  # idempotent
    assert row.plan_terminated_at == (T0 + WEEK if terminated else None)
    assert fair_use.abuse_state(row).terminated_at == row.plan_terminated_at


def test_f5_reinstate_clears_everything_and_remedy_needs_a_suspension(
    session: Session, account: str
) -> None:
    with pytest.raises(DialtoneError):
        fair_use.remedy(session, account, now=T0)
    fair_use.suspend(session, account, now=T0, rule="F2", reason="x")
    fair_use.review(session, T0 + WEEK)
    # Terminated: a new finding does not restart anything until the operator reinstates.
    fair_use.suspend(session, account, now=T0 + WEEK * 2, rule="F1", reason="x")
    row = accounts.get_account(session, account)
    assert row.plan_terminated_at == T0 + WEEK
    fair_use.reinstate(session, account)
    assert fair_use.abuse_state(row) == fair_use.fraud.AbuseState()


# -- F3, F4, V3 measured ------------------------------------------------------------


def test_pattern_report_finds_sequential_dialling_redials_and_a_pbx(
    session: Session, account: str
) -> None:
    user = users.create_user(session, account, name="Ann", now=T0, realm=REALM)
    start = datetime(2026, 11, 10, 9, tzinfo=UTC)
    sequential = [
        CallOutcome(
            account_id=account,
            direction="outbound",
            from_number="+33123456789",
            to_number=f"+3361234560{i}",
            started_at=start + timedelta(minutes=i),
            answered_at=None,
            ended_at=start + timedelta(minutes=i, seconds=5),
            status="no-answer",
            hangup_cause="timeout",
            sip_call_id=f"seq-{i}",
            sip_local_tag="t",
            user_id=user.id,
        )
        for i in range(10)
    ]
    for outcome in sequential:
        calls.record_call(session, outcome)
    registrations.replace_bindings(
        session,
        user,
        [
            registrations.Binding(
                contact="sip:ann@192.0.2.7",
                source="udp:192.0.2.7:5060",
                transport="udp",
                user_agent="Asterisk PBX 20.5.0",
                call_id="c",
                cseq=1,
                expires_at=T0 + timedelta(days=365),
            )
        ],
        now=T0,
    )
    findings = {
        f.check: f.decision for f in fair_use.pattern_report(session, account, "2026-11", now=T0)
    }
    assert (findings["autodialing"].code, findings["autodialing"].rule) == (
        "fair_use.autodialing",
        "F4",
    )
    assert findings["redial"].allowed
    access = findings[f"access:{user.id}"]
    assert (access.code, access.rule) == ("access.shared_or_pbx", "V3")
    # A month without calls finds nothing of F3/F4.
    quiet = {
        f.check: f.decision for f in fair_use.pattern_report(session, account, "2026-10", now=T0)
    }
    assert quiet["autodialing"].allowed
    assert quiet["redial"].allowed


def test_f2_usage_rate_against_five_times_the_average(
    session: Session, account: str, other_account: str
) -> None:
    # Nine quiet accounts and one busy one: the busy account's usage rate is more than 5
    # times the average of all (itself included, so it takes more than 5 accounts); a
    # quiet one is far under.
    quiet = [
        accounts.create_account(session, f"Quiet {i}", now=T0).account.id for i in range(8)
    ] + [other_account]
    now = datetime(2026, 11, 30, tzinfo=UTC)
    for n, owner in enumerate(quiet):
        for outcome in _calls(owner, 10 + n, 1, seconds=60):
            calls.record_call(session, outcome)
    for outcome in _calls(account, 20, 40, seconds=3600):
        calls.record_call(session, outcome)
    busy = fair_use.usage_report(session, account, now=now)
    assert (busy.code, busy.rule) == ("fair_use.usage_excessive", "F2")
    assert fair_use.usage_report(session, quiet[0], now=now).allowed
    rates = fair_use.usage_rates(session, now=now)
    assert rates[account] > 5 * sum(rates.values()) / len(rates)
