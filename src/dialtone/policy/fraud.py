"""Fair use of unlimited calling (TERMS V13, F1, F2, F5).

- F1 (and V13, no high volume of very short calls): a day counts when the account
  placed, on average per user, more than 60 outbound calls (answered or not) shorter
  than 15 seconds; 3 or more such days in a calendar month allow suspension.
- F2: a user's usage rate is the share of time spent in calls they placed; the account
  uses an unlimited plan reasonably while its average stays under 5 times the average
  of all unlimited customers over the last 6 months.
- F5: on abuse, the unlimited plan is suspended for 7 days with a warning; if the abuse
  is not remedied by then, the plan is terminated.

All thresholds are arguments with the terms' values as defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from dialtone.policy.decision import ALLOWED, Decision, refuse

SHORT_CALL_SECONDS = Decimal(15)
SHORT_CALLS_PER_USER = 60
SHORT_CALL_DAYS_PER_MONTH = 3
USAGE_RATE_MULTIPLE = Decimal(5)
SUSPENSION = timedelta(days=7)


def is_short_call(duration_seconds: Decimal, limit: Decimal = SHORT_CALL_SECONDS) -> bool:
    """F1: an outbound call shorter than 15 seconds (an unanswered one lasts 0)."""
    return duration_seconds < limit


def short_call_day(short_calls: int, users: int, *, per_user: int = SHORT_CALLS_PER_USER) -> bool:
    """F1: whether a day counts: more than ``per_user`` short calls per user on average
    (an account without users has one, for the average)."""
    return Decimal(short_calls) / Decimal(max(users, 1)) > per_user


def short_calls_month(
    flagged_days: int, *, limit: int = SHORT_CALL_DAYS_PER_MONTH, month: str = ""
) -> Decision:
    """F1/V13: a month with ``limit`` or more flagged days allows suspension."""
    if flagged_days < limit:
        return ALLOWED
    return refuse(
        "fair_use.short_calls",
        f"{flagged_days} days this month with more than {SHORT_CALLS_PER_USER} calls under "
        f"{SHORT_CALL_SECONDS} s per user (the terms allow {limit - 1})",
        rule="F1",
        flagged_days=flagged_days,
        month=month,
    )


def usage_rate(call_seconds: Decimal, period_seconds: Decimal) -> Decimal:
    """F2: the share of ``period_seconds`` spent in calls a user placed."""
    if period_seconds <= 0:
        raise ValueError("the period must be longer than zero")
    return call_seconds / period_seconds


def usage_reasonable(
    account_rate: Decimal, all_unlimited_rate: Decimal, *, multiple: Decimal = USAGE_RATE_MULTIPLE
) -> Decision:
    """F2: an account's average usage rate under ``multiple`` times the average of all
    unlimited customers (both over the last 6 months) is reasonable use."""
    if all_unlimited_rate <= 0 or account_rate < multiple * all_unlimited_rate:
        return ALLOWED
    ratio = (account_rate / all_unlimited_rate).quantize(Decimal("0.01"))
    return refuse(
        "fair_use.usage_excessive",
        f"the account's usage rate is {ratio} times the average of unlimited plans "
        f"(reasonable: under {multiple})",
        ratio=str(ratio),
    )


Sanction = Literal["none", "suspend", "suspended", "terminate"]


@dataclass(frozen=True, slots=True)
class AbuseState:
    """Where an account stands under F5: when its unlimited plan was suspended (None:
    not suspended), whether the abuse has been remedied since, and when the plan was
    terminated (None: it was not)."""

    suspended_at: datetime | None = None
    remedied: bool = False
    terminated_at: datetime | None = None


def sanction(abusing: bool, state: AbuseState, now: datetime) -> Sanction:
    """F5: what to do now. Abuse found and no suspension running: suspend for 7 days,
    with a warning. A suspension running: wait its 7 days; at the end, terminate unless
    remedied (remedied: the suspension ends, "none")."""
    if state.suspended_at is None:
        return "suspend" if abusing else "none"
    if now - state.suspended_at < SUSPENSION:
        return "suspended"
    return "none" if state.remedied else "terminate"


def standing(state: AbuseState, now: datetime, *, suspension: timedelta = SUSPENSION) -> Decision:
    """F5 for an outbound call under the unlimited plan: refused with
    ``fair_use.suspended`` during the 7 days of a suspension, and with
    ``fair_use.terminated`` once the plan is terminated, or due to be (the suspension
    ran out unremedied: the refusal does not wait for the job that records it).
    Emergency calls never meet this check."""
    if state.terminated_at is not None:
        return refuse(
            "fair_use.terminated",
            "the unlimited plan was terminated for abuse (TERMS F5); outbound calls stop "
            "until the operator moves the account to another plan",
            terminated_at=state.terminated_at.isoformat(),
        )
    if state.suspended_at is None:
        return ALLOWED
    ends = state.suspended_at + suspension
    if now < ends:
        return refuse(
            "fair_use.suspended",
            f"the unlimited plan is suspended for abuse until {ends.isoformat()} (TERMS F5); "
            "remedy the abuse before then or the plan is terminated",
            suspended_until=ends.isoformat(),
        )
    if state.remedied:
        return ALLOWED
    return refuse(
        "fair_use.terminated",
        "the suspension ended without the abuse remedied: the unlimited plan is terminated "
        "(TERMS F5)",
        terminated_at=ends.isoformat(),
    )
