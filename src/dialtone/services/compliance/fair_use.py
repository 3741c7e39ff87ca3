"""Fair use: measures from the call records (TERMS F1 and V13: very short calls) and
the F5 sanction (suspension of the unlimited plan, remedy, termination).

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
from dialtone.core.moments import MomentError, parse_month
from dialtone.policy import dialing_patterns, fraud
from dialtone.policy.decision import Decision
from dialtone.policy.lifecycle import add_months
from dialtone.services.accounts import audit
from dialtone.services.accounts.accounts import get_account
from dialtone.services.telephony import registrations
from dialtone.store.models import Account, CallRecord, User


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
        first = parse_month(month)  # 9999-12 would overflow below
    except MomentError as exc:
        raise DialtoneError("request.invalid", f"month: {exc}.") from None
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
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


# -- F5: suspension, remedy, termination ----------------------------------------------

SUSPENSION_RULES = ("F1", "F2", "F3", "F4", "V3", "V13")


def abuse_state(account: Account) -> fraud.AbuseState:
    """What F5 knows of ``account``."""
    return fraud.AbuseState(
        suspended_at=account.suspended_at,
        remedied=account.remedied_at is not None,
        terminated_at=account.plan_terminated_at,
    )


def suspend(
    session: Session,
    account_id: str,
    *,
    now: datetime,
    rule: str,
    reason: str,
    actor: str = "operator",
) -> Account:
    """F5: suspend the account's unlimited plan for 7 days, with a warning (on the audit
    log; sending it by email is not built), for the abuse ``rule`` found (F1, F2…).
    A suspension already running is kept as it is; a terminated plan stays terminated."""
    if rule not in SUSPENSION_RULES:
        raise DialtoneError(
            "request.invalid", f"rule must be one of {', '.join(SUSPENSION_RULES)}."
        )
    account = get_account(session, account_id)
    state = abuse_state(account)
    if state.terminated_at is not None or fraud.sanction(True, state, now) in (
        "suspended",
        "terminate",
    ):
        # A running suspension keeps its first 7 days; one run out unremedied is the
        # review's to terminate, not a reason to start the 7 days again.
        return account
    account.suspended_at = now
    account.suspension_rule = rule
    account.remedied_at = None
    ends = now + fraud.SUSPENSION
    audit.record_enforcement(
        session,
        "fair_use.suspended",
        f"Warning: the unlimited plan is suspended until {ends.isoformat()} for abuse "
        f"({rule}: {reason}). Remedy it before then or the plan is terminated.",
        at=now,
        account_id=account.id,
        actor=actor,
        action="account.suspend",
        rule_found=rule,
        suspended_until=ends.isoformat(),
    )
    session.flush()
    return account


def remedy(session: Session, account_id: str, *, now: datetime, actor: str = "operator") -> Account:
    """F5: the abuse behind a suspension is remedied: at the end of its 7 days the plan
    resumes instead of being terminated."""
    account = get_account(session, account_id)
    if account.suspended_at is None or account.plan_terminated_at is not None:
        raise DialtoneError(
            "request.invalid", "Only a running suspension can be remedied.", status=409
        )
    if account.remedied_at is None:
        account.remedied_at = now
    session.flush()
    return account


def reinstate(session: Session, account_id: str, *, actor: str = "operator") -> Account:
    """Clear a suspension or termination (the operator moved the account to another
    plan, or the finding was wrong)."""
    account = get_account(session, account_id)
    account.suspended_at = None
    account.suspension_rule = None
    account.remedied_at = None
    account.plan_terminated_at = None
    session.flush()
    return account


def review(session: Session, now: datetime, *, actor: str = "scheduler:fair-use") -> list[str]:
    """F5, run by the scheduler: terminate the plan of every account whose suspension
    ran its 7 days unremedied, dated when it was due (so a late or repeated run gives
    the same end state). Returns the accounts terminated now."""
    rows = session.scalars(
        select(Account).where(
            Account.suspended_at.is_not(None),
            Account.remedied_at.is_(None),
            Account.plan_terminated_at.is_(None),
        )
    ).all()
    terminated = []
    for account in rows:
        if fraud.sanction(True, abuse_state(account), now) != "terminate":
            continue
        assert account.suspended_at is not None
        due = account.suspended_at + fraud.SUSPENSION
        account.plan_terminated_at = due
        audit.record_enforcement(
            session,
            "fair_use.terminated",
            f"The suspension ended {due.isoformat()} without the abuse remedied: "
            "the unlimited plan is terminated.",
            at=now,
            account_id=account.id,
            actor=actor,
            action="account.terminate_plan",
            rule_found=account.suspension_rule,
            due_at=due.isoformat(),
        )
        terminated.append(account.id)
    session.flush()
    return terminated


# -- F3, F4, V3: calling patterns and what sits behind a user -------------------------


@dataclass(frozen=True, slots=True)
class PatternFinding:
    """One check of the month's calling patterns (or of the devices now registered)."""

    check: str
    decision: Decision


def pattern_report(
    session: Session, account_id: str, month: str, *, now: datetime
) -> list[PatternFinding]:
    """The month's outbound attempts against F4 (sequential or machine-paced dialling,
    overlapping attempts) and F3 (hang-up-and-redial), and each user's current
    registrations against V3 (a PBX or dialer behind a user, one user's access shared
    by many places). Measured for the operator, who decides on F5."""
    get_account(session, account_id)
    start, end = _month_bounds(month)
    rows = session.execute(
        select(
            CallRecord.started_at,
            CallRecord.to_number,
            CallRecord.duration,
            CallRecord.answered_at,
            CallRecord.user_id,
        )
        .where(
            CallRecord.account_id == account_id,
            CallRecord.direction == "outbound",
            CallRecord.started_at >= start,
            CallRecord.started_at < end,
        )
        .order_by(CallRecord.started_at)
    ).all()
    attempts = [
        dialing_patterns.Attempt(
            at=started.astimezone(UTC),
            to=to,
            duration_seconds=Decimal(duration),
            answered=answered is not None,
            user_id=user_id,
        )
        for started, to, duration, answered, user_id in rows
    ]
    findings = [
        PatternFinding("autodialing", dialing_patterns.autodialing(attempts)),
        PatternFinding("redial", dialing_patterns.redial_pattern(attempts)),
        PatternFinding("usage", usage_report(session, account_id, now=now)),
    ]
    by_user: dict[str, list[dialing_patterns.Registration]] = {}
    for row in registrations.list_registrations(session, account_id, now=now):
        by_user.setdefault(row.user_id, []).append(
            dialing_patterns.Registration(row.user_agent, row.source, row.contact)
        )
    for user_id, devices in sorted(by_user.items()):
        decision = dialing_patterns.shared_or_pbx(devices, user_id=user_id)
        findings.append(PatternFinding(f"access:{user_id}", decision))
    return findings


# -- F2: usage rate against all unlimited customers -----------------------------------

USAGE_MONTHS = 6


def usage_rates(
    session: Session, *, now: datetime, months: int = USAGE_MONTHS
) -> dict[str, Decimal]:
    """F2: each account's average usage rate over the last ``months`` months: the time
    its users spent in calls they placed, over the period, averaged over its users (an
    account without users counts one). Every plan is an unlimited one here."""
    start = add_months(now, -months)
    period = Decimal(str((now - start).total_seconds()))
    placed = dict(
        session.execute(
            select(CallRecord.account_id, func.coalesce(func.sum(CallRecord.duration), 0))
            .where(
                CallRecord.direction == "outbound",
                CallRecord.started_at >= start,
                CallRecord.started_at < now,
            )
            .group_by(CallRecord.account_id)
        ).all()
    )
    people = dict(
        session.execute(select(User.account_id, func.count()).group_by(User.account_id)).all()
    )
    accounts = session.scalars(select(Account.id).where(Account.closed_at.is_(None))).all()
    return {
        account_id: fraud.usage_rate(Decimal(str(placed.get(account_id, 0))), period)
        / max(int(people.get(account_id, 0)), 1)
        for account_id in accounts
    }


def usage_report(
    session: Session, account_id: str, *, now: datetime, months: int = USAGE_MONTHS
) -> Decision:
    """F2 for one account: its usage rate against 5 times the average of all unlimited
    customers over the last 6 months."""
    get_account(session, account_id)
    rates = usage_rates(session, now=now, months=months)
    average = sum(rates.values(), Decimal(0)) / max(len(rates), 1)
    return fraud.usage_reasonable(rates.get(account_id, Decimal(0)), average)
