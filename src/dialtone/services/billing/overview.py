"""The billing figures the console shows (issue 18): the subscription and what is left of
it this period (B1, B4), invoices not yet paid, spend per day and availability per month.

Read from the same functions ``GET /v1/billing`` uses (``rating.included_left``,
``rating.credit_balance``; ``GET /v1/billing`` itself calls :func:`summary`) and from the
SLA service's monthly report (S1, S4): the console shows the API's numbers, not a
second sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.services.billing import rating, sla, subscriptions
from dialtone.store.models import Invoice, RatedLine

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Summary:
    """The subscription as ``GET /v1/billing`` gives it: plan, period, included seconds
    left per zone this period (B1), prepaid credits (B4), and notice given (B12)."""

    plan: str
    currency: str
    country: str
    accesses: int
    period_start: datetime
    period_end: datetime
    commitment_end: datetime | None
    included_seconds: int
    included_seconds_left: dict[str, int]
    credits: Decimal
    termination_requested_at: datetime | None
    ends_at: datetime | None

    @property
    def included_minutes(self) -> Decimal:
        return Decimal(self.included_seconds) / 60

    @property
    def left_minutes(self) -> Decimal:
        return (Decimal(sum(self.included_seconds_left.values())) / 60).quantize(Decimal("0.1"))

    @property
    def used_minutes(self) -> Decimal:
        used = max(0, self.included_seconds - sum(self.included_seconds_left.values()))
        return (Decimal(used) / 60).quantize(Decimal("0.1"))


def summary(session: Session, account_id: str, *, now: datetime) -> Summary:
    """The account's subscription at ``now`` (B1, B4, B12).

    Raises ``NotFound`` for an account without a subscription."""
    sub = subscriptions.get_subscription(session, account_id)
    period = subscriptions.current_period(sub, now)
    ctx = rating.context(session, sub)
    left = rating.included_left(session, sub, ctx, period, [None])
    plan = ctx.plan
    # Included minutes are per access, pooled across the account (B1); a trial's are not.
    allowed = sum(
        minutes * 60 * (1 if plan.trial else sub.accesses)
        for minutes in plan.included_minutes.values()
    )
    return Summary(
        plan=sub.plan_code,
        currency=sub.currency,
        country=sub.country,
        accesses=sub.accesses,
        period_start=period[0],
        period_end=period[1],
        commitment_end=sub.commitment_end,
        included_seconds=allowed,
        included_seconds_left=left,
        credits=rating.credit_balance(session, account_id, sub.currency),
        termination_requested_at=sub.termination_requested_at,
        ends_at=sub.ends_at,
    )


def figures(session: Session, account_id: str, *, now: datetime) -> dict[str, Any]:
    """The plan, its period, included minutes (allowed, used, left), credits, and the
    issued invoices not yet paid (how many, how much).

    Raises ``NotFound`` for an account without a subscription."""
    found = summary(session, account_id, now=now)
    open_count, open_total = session.execute(
        select(func.count(Invoice.id), func.coalesce(func.sum(Invoice.total), 0)).where(
            Invoice.account_id == account_id,
            Invoice.kind == "invoice",
            Invoice.status == "issued",
        )
    ).one()
    return {
        "plan": found.plan,
        "currency": found.currency,
        "period_start": found.period_start,
        "period_end": found.period_end,
        "included_minutes": found.included_minutes,
        "used_minutes": found.used_minutes,
        "left_minutes": found.left_minutes,
        "credits": found.credits,
        "open_invoices": int(open_count),
        "open_total": Decimal(open_total).quantize(_CENT),
    }


# Charts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaySpend:
    """What the usage of one UTC day cost (B2–B5, B16)."""

    day: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Spend:
    """Spend per day in the subscription's currency, oldest day first."""

    currency: str
    days: tuple[DaySpend, ...]


def spend_per_day(session: Session, account_id: str, *, until: datetime, days: int = 30) -> Spend:
    """The rated usage of the last ``days`` UTC days up to ``until``'s day, oldest first,
    days without usage as zeros.

    A day's spend is what its rated lines cost the customer: overage billed on the
    invoice (B5), prepaid credits drawn (B4) and telemarketing penalties (B16); minutes
    taken from the included buckets (B1) cost nothing more. Only lines already rated
    count (the billing job and the draft invoice rate usage). Raises ``NotFound`` for an
    account without a subscription."""
    sub = subscriptions.get_subscription(session, account_id)
    last = until.date()
    first = last - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=until.tzinfo)
    # date() itself, not CAST(... AS DATE): SQLite gives a cast to DATE numeric affinity,
    # which turns '2026-03-05' into 2026 and every day into one group.
    day = func.date(RatedLine.started_at)
    query = (
        select(
            day,
            func.coalesce(func.sum(RatedLine.overage + RatedLine.credits + RatedLine.penalty), 0),
        )
        .where(
            RatedLine.account_id == account_id,
            RatedLine.currency == sub.currency,
            RatedLine.status == "rated",
            RatedLine.started_at >= start,
        )
        .group_by(day)
    )
    found: dict[date, Decimal] = {}
    for when, amount in session.execute(query):
        on = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        # SQLite sums NUMERIC as a float: back to cents, which is what is shown.
        found[on] = Decimal(str(amount)).quantize(_CENT)
    spent = tuple(
        DaySpend(first + timedelta(days=n), found.get(first + timedelta(days=n), Decimal("0.00")))
        for n in range(days)
    )
    return Spend(sub.currency, spent)


@dataclass(frozen=True, slots=True)
class MonthAvailability:
    """A calendar month's availability of the whole service (S4), percent; the current
    month so far."""

    month: str
    year: int
    number: int
    availability: Decimal


def _months_back(now: datetime, months: int) -> list[tuple[int, int]]:
    year, month = now.year, now.month
    found = []
    for _ in range(months):
        found.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def availability_per_month(
    session: Session,
    *,
    now: datetime,
    months: int = 6,
    tz: ZoneInfo | None = None,
    zones: Mapping[str, ZoneInfo] | None = None,
) -> list[MonthAvailability]:
    """The service's availability (S4: all locations, overlaps counted once) for the
    last ``months`` calendar months in ``tz`` (UTC by default), oldest first, the
    current month so far (open incidents count until ``now``)."""
    zone = tz or ZoneInfo("UTC")
    local = now.astimezone(zone)
    found = []
    for year, month in _months_back(local, months):
        report = sla.monthly_report(session, year, month, zone, now=now, zones=zones)
        found.append(MonthAvailability(report.month, year, month, report.availability))
    return found
