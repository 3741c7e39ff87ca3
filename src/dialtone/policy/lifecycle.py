"""The lifecycle of a leased number (TERMS N6, N7, N8): what is due, given the facts and
``now``. The scheduler job acts on it; because every decision depends only on stored
dates and ``now``, running the job twice changes nothing the second time, and running it
late (after downtime) catches up with whatever fell due meanwhile.

- N6: a number deactivated for non-payment is revoked 21 days later (random numbers of
  Personal and Professional plans), 30 days later (custom or ported numbers, and random
  numbers of Business and Enterprise plans), 16 days later whatever the plan when an app
  store manages the subscription.
- N7: after an account closes, its numbers go to quarantine and may be leased to another
  customer only 6 months later.
- N8: a number with no traffic for 3 consecutive months may be reclaimed after at least
  7 days' notice. The notice counts from when it is actually given: after downtime the
  reclaim comes 7 days after the late notice, never without the full notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

PLANS = ("personal", "professional", "business", "enterprise")
NUMBER_KINDS = ("random", "custom", "ported")
QUARANTINE_MONTHS = 6
IDLE_MONTHS = 3
NOTICE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RevocationDelays:
    """N6's delays after deactivation, by case (the terms' values by default)."""

    small_plan_random: timedelta = timedelta(days=21)
    custom_ported_or_large_plan: timedelta = timedelta(days=30)
    app_store: timedelta = timedelta(days=16)


DEFAULT_DELAYS = RevocationDelays()


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar months, the day clamped to the target month's length."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    next_month = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=moment.tzinfo)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def revocation_delay(
    plan: str, kind: str, *, app_store: bool, delays: RevocationDelays = DEFAULT_DELAYS
) -> timedelta:
    """TERMS N6: how long after deactivation a number is revoked."""
    if app_store:
        return delays.app_store
    if kind == "random" and plan in ("personal", "professional"):
        return delays.small_plan_random
    return delays.custom_ported_or_large_plan


@dataclass(frozen=True, slots=True)
class NumberFacts:
    """What the lifecycle knows of a leased number and its account."""

    number: str
    kind: str
    plan: str
    app_store: bool
    account_status: str  # active, suspended or closed
    account_closed_at: datetime | None
    deactivated_at: datetime | None
    leased_at: datetime
    last_traffic_at: datetime | None
    reclaim_notice_at: datetime | None


Action = Literal["revoke_unpaid", "quarantine", "notify_idle", "reclaim_idle", "cancel_notice"]


@dataclass(frozen=True, slots=True)
class Due:
    """An action due on a number, the rule behind it and when it fell due."""

    action: Action
    rule: str
    due_at: datetime


def due(facts: NumberFacts, now: datetime, delays: RevocationDelays = DEFAULT_DELAYS) -> Due | None:
    """The lifecycle action due on a number at ``now`` (None: nothing)."""
    if facts.account_status == "closed":
        closed = facts.account_closed_at or now
        return Due("quarantine", "N7", closed)
    if facts.deactivated_at is not None:
        revoke_at = facts.deactivated_at + revocation_delay(
            facts.plan, facts.kind, app_store=facts.app_store, delays=delays
        )
        return Due("revoke_unpaid", "N6", revoke_at) if now >= revoke_at else None
    if facts.account_status != "active":
        return None
    last = max(facts.leased_at, facts.last_traffic_at or facts.leased_at)
    idle_since = add_months(last, IDLE_MONTHS)
    if facts.reclaim_notice_at is not None:
        if facts.last_traffic_at is not None and facts.last_traffic_at > facts.reclaim_notice_at:
            return Due("cancel_notice", "N8", facts.last_traffic_at)
        reclaim_at = facts.reclaim_notice_at + NOTICE
        return Due("reclaim_idle", "N8", reclaim_at) if now >= reclaim_at else None
    return Due("notify_idle", "N8", idle_since) if now >= idle_since else None


def quarantine_ends(released_at: datetime) -> datetime:
    """TERMS N7: when a number released by a closed account may be leased again."""
    return add_months(released_at, QUARANTINE_MONTHS)
