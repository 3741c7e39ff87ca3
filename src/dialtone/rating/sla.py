"""SLA credits: service days per location (TERMS S1) and a share of the invoice (S4).

S1 (OO Annex A) promises 99.999 % per end-user location: a calendar month with 15
minutes or more of downtime at one location earns service days (15–30 min → 1, 31–60 → 2,
61–120 → 4, 121–240 → 6, 241 and more → 8). Locations are never combined; downtime is
counted in whole minutes in the location's local calendar month ("SLA top band"
decision); the claim must come within 30 days.

S4 (RG Annex 5 §3) targets a monthly availability above 99.95 %, computed from the
reported incidents: 5 % of that month's invoice for 99.5 %–99.95 %, 10 % for 99 %–99.5 %,
20 % below 99 %, on request within one month; never for AI products or trials.
Availability is not rounded before comparing ("SLA edges" decision).

Everything here is pure: the caller passes the incidents, the month's bounds and the
moment of the claim. Datetimes must be aware; they are compared as instants (UTC).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Literal, get_args
from zoneinfo import ZoneInfo

IncidentCause = Literal[
    "platform",
    "beyond_control",
    "customer",
    "third_party",
    "site_power",
    "site_internet",
    "customer_hardware",
    "third_party_carrier",
    "maintenance",
    "force_majeure",
    "outdated_app",
]
ALL_CAUSES: frozenset[IncidentCause] = frozenset(get_args(IncidentCause))

# S1 (OO Annex A §5) excludes (i) factors beyond reasonable control, (ii) any act or
# omission of the customer or of any third party, (iii) site power and internet
# failures, (iv) customer-owned hardware. Force majeure is beyond control by definition,
# a third-party carrier is a third party, and running an outdated app is the customer's
# omission, so those are out too. Maintenance is the provider's own doing and S1 does
# not exclude it: it counts as downtime.
S1_EXCLUDED: frozenset[IncidentCause] = frozenset(
    {
        "beyond_control",
        "customer",
        "third_party",
        "site_power",
        "site_internet",
        "customer_hardware",
        "third_party_carrier",
        "force_majeure",
        "outdated_app",
    }
)
# S4 (RG Annex 5 §3) excludes factors beyond reasonable control, naming hosts, internet
# access providers and carriers (so the site's internet and power too), acts or
# omissions of the customer or a third party, their equipment, apps and software,
# scheduled or emergency maintenance, force majeure and outdated apps: only the
# platform's own failures count.
S4_EXCLUDED: frozenset[IncidentCause] = S1_EXCLUDED | {"maintenance"}

# S1 bands: (least whole minutes of downtime, service days credited), highest first.
S1_BANDS: tuple[tuple[int, int], ...] = ((241, 8), (121, 6), (61, 4), (31, 2), (15, 1))
S1_DAYS_PER_PERIOD = 30  # a service day is a thirtieth of the monthly price
S1_CLAIM_WINDOW = timedelta(days=30)

# S4: strictly above the target no credit; at the target or below, the first band whose
# floor the availability reaches (floors inclusive, so 99.95 → 5, 99.5 → 5, 99 → 10).
S4_TARGET = Decimal("99.95")
S4_BANDS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal("99.5"), Decimal(5)),
    (Decimal(99), Decimal(10)),
    (Decimal(0), Decimal(20)),
)
S4_CLAIM_MONTHS = 1

MONEY_QUANTUM = Decimal("0.01")
_MINUTE = timedelta(minutes=1)
_MICROSECOND = timedelta(microseconds=1)
_HUNDRED = Decimal(100)
# Availability is compared unrounded: 40 digits keep the ratio of two microsecond counts
# over any month exact enough that no threshold is crossed by rounding.
_PRECISE = Context(prec=40)

SlaRule = Literal["S1", "S4"]
SlaReason = Literal[
    "downtime",  # S1: a band applied
    "below_threshold",  # S1: under 15 minutes
    "availability",  # S4: a band applied
    "target_met",  # S4: above 99.95 %
    "ai_product",  # S4: AI products carry no SLA
    "trial",  # S4: nor do trials
    "claim_late",  # claimed after the window closed
]


def _utc(moment: datetime, name: str) -> datetime:
    # Two datetimes sharing one ZoneInfo subtract as wall clocks, ignoring a DST change
    # between them; as UTC instants they subtract as elapsed time.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Incident:
    """A period of unavailability at one end-user location, with its cause (S1, S4)."""

    location: str
    start: datetime
    end: datetime
    cause: IncidentCause

    def __post_init__(self) -> None:
        if self.cause not in ALL_CAUSES:
            raise ValueError(f"unknown incident cause {self.cause!r}")
        if _utc(self.end, "end") < _utc(self.start, "start"):
            raise ValueError("an incident cannot end before it starts")


@dataclass(frozen=True, slots=True)
class SlaCredit:
    """A credit decision: the rule, why, and what it is worth. S1 credits service
    ``days`` (valued in ``amount``); S4 credits ``percent`` of the month's invoice."""

    rule: SlaRule
    reason: SlaReason
    amount: Decimal
    days: int = 0
    percent: Decimal = Decimal(0)


def _month(month_start: datetime, month_end: datetime) -> tuple[datetime, datetime]:
    start, end = _utc(month_start, "month_start"), _utc(month_end, "month_end")
    if end <= start:
        raise ValueError("month_end must come after month_start")
    return start, end


def _covered(incidents: Iterable[Incident], start: datetime, end: datetime) -> timedelta:
    """Time inside [start, end) covered by at least one incident: overlaps count once."""
    spans = sorted(
        (max(_utc(i.start, "start"), start), min(_utc(i.end, "end"), end)) for i in incidents
    )
    total = timedelta(0)
    run_start: datetime | None = None
    run_end = start
    for lo, hi in spans:
        if hi <= lo:
            continue  # outside the month, or empty
        if run_start is None or lo > run_end:
            if run_start is not None:
                total += run_end - run_start
            run_start, run_end = lo, hi
        else:
            run_end = max(run_end, hi)
    if run_start is not None:
        total += run_end - run_start
    return total


def local_month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month ``year-month`` in ``tz`` as ``[start, end)`` aware UTC instants
    (S1 counts downtime in the location's local calendar month). Across a DST change
    the month is an hour shorter or longer than its days times 24 h."""
    if not 1 <= month <= 12:
        raise ValueError("month must be 1..12")
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    start = datetime(year, month, 1, tzinfo=tz).astimezone(UTC)
    end = datetime(next_year, next_month, 1, tzinfo=tz).astimezone(UTC)
    return start, end


def downtime_minutes(
    incidents: Iterable[Incident], location: str, month_start: datetime, month_end: datetime
) -> int:
    """TERMS S1: whole minutes of downtime at ``location`` in ``[month_start, month_end)``.

    Only that location's incidents count (locations are never combined) and only causes
    S1 does not exclude (``S1_EXCLUDED``). Incidents are clipped to the month and
    overlapping ones merged, so no moment counts twice. Every started minute counts
    (ceiling of the exact total), in line with B2's rounding: 14 min 1 s is 15 minutes.
    """
    start, end = _month(month_start, month_end)
    counting = (i for i in incidents if i.location == location and i.cause not in S1_EXCLUDED)
    micros = _covered(counting, start, end) // _MICROSECOND
    return -(-micros // (_MINUTE // _MICROSECOND))


def s1_day_credits(minutes: int) -> int:
    """TERMS S1: service days credited for ``minutes`` of downtime at one location in
    one month: none below 15, then 1, 2, 4, 6 and 8 days from 15, 31, 61, 121 and 241
    minutes ("SLA top band": 241 and more → 8)."""
    if minutes < 0:
        raise ValueError("downtime cannot be negative")
    for floor, days in S1_BANDS:
        if minutes >= floor:
            return days
    return 0


def s1_credit_amount(
    days: int, monthly_price: Decimal, days_per_period: int = S1_DAYS_PER_PERIOD
) -> Decimal:
    """TERMS S1: the value of ``days`` credited service days, at ``monthly_price`` for
    ``days_per_period`` days, to the cent (half up). S1 credits only reduce future
    payments: this is an amount to deduct, never to refund."""
    if days < 0 or monthly_price < 0:
        raise ValueError("credited days and the monthly price cannot be negative")
    if days_per_period < 1:
        raise ValueError("a period has at least one day")
    value = monthly_price * days / days_per_period
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def monthly_availability(
    incidents: Iterable[Incident], month_start: datetime, month_end: datetime
) -> Decimal:
    """TERMS S4: the month's availability in percent (0–100), unrounded ("SLA edges").

    Computed from the reported incidents whose cause S4 does not exclude
    (``S4_EXCLUDED``), all locations together: S4 measures the service as a whole, so an
    outage at two locations at once is one outage. Exact to the microsecond.
    """
    start, end = _month(month_start, month_end)
    counting = (i for i in incidents if i.cause not in S4_EXCLUDED)
    down = _covered(counting, start, end) // _MICROSECOND
    total = (end - start) // _MICROSECOND
    return _PRECISE.divide(_PRECISE.multiply(_HUNDRED, Decimal(total - down)), Decimal(total))


def s4_credit_percent(
    availability: Decimal, *, ai_product: bool = False, trial: bool = False
) -> Decimal:
    """TERMS S4: percent of the month's invoice credited at ``availability`` percent.

    None above 99.95; 5 from 99.5 to 99.95, 10 from 99 to under 99.5, 20 below 99, both
    ends inclusive as the "SLA edges" decision says (99.95 → 5, 99.5 → 5, 99 → 10).
    AI products and trials carry no SLA: always 0.
    """
    if not Decimal(0) <= availability <= _HUNDRED:
        raise ValueError("availability is a percentage between 0 and 100")
    if ai_product or trial or availability > S4_TARGET:
        return Decimal(0)
    for floor, percent in S4_BANDS:
        if availability >= floor:
            return percent
    raise AssertionError("S4_BANDS must end at 0")  # pragma: no cover


def s4_credit_amount(percent: Decimal, month_invoice_total: Decimal) -> Decimal:
    """TERMS S4: ``percent`` of the month's invoice, to the cent (half up), credited on
    the next invoice (never refunded)."""
    if percent < 0 or month_invoice_total < 0:
        raise ValueError("the percent and the invoice total cannot be negative")
    value = month_invoice_total * percent / _HUNDRED
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def s1_claim_open(
    month_end: datetime, claimed_at: datetime, window: timedelta = S1_CLAIM_WINDOW
) -> bool:
    """TERMS S1: whether a claim at ``claimed_at`` is in time: within ``window`` (30 days,
    as elapsed time) of the end of the month it concerns, the last instant included.
    The terms set only a deadline, so a claim made before the month ends is in time."""
    return _utc(claimed_at, "claimed_at") - _utc(month_end, "month_end") <= window


def _add_months(moment: datetime, months: int) -> datetime:
    """Same wall-clock time ``months`` later, the day clamped to the month's last day."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def s4_claim_open(month_end: datetime, claimed_at: datetime, *, tz: tzinfo = UTC) -> bool:
    """TERMS S4: whether a claim at ``claimed_at`` is "within one month" of the month's
    end: until the same day of the next month (clamped to that month's last day) at the
    same time, inclusive. ``tz`` is the calendar the month is read in (UTC by default).
    Pass the invoice's zone: a Paris February ends 28 February 23:00 UTC, and its window
    runs to 1 April 00:00 in Paris, where read in UTC it would close on 28 March.
    A claim made before the month ends is in time."""
    local_end = _utc(month_end, "month_end").astimezone(tz)
    deadline = _add_months(local_end, S4_CLAIM_MONTHS)
    return _utc(claimed_at, "claimed_at") <= _utc(deadline, "deadline")


def s1_credit(
    incidents: Iterable[Incident],
    location: str,
    month_start: datetime,
    month_end: datetime,
    *,
    monthly_price: Decimal,
    claimed_at: datetime,
    days_per_period: int = S1_DAYS_PER_PERIOD,
) -> SlaCredit:
    """TERMS S1: the credit owed for one location's month, claimed at ``claimed_at``."""
    if not s1_claim_open(month_end, claimed_at):
        return SlaCredit("S1", "claim_late", Decimal("0.00"))
    minutes = downtime_minutes(incidents, location, month_start, month_end)
    days = s1_day_credits(minutes)
    if days == 0:
        return SlaCredit("S1", "below_threshold", Decimal("0.00"))
    amount = s1_credit_amount(days, monthly_price, days_per_period)
    return SlaCredit("S1", "downtime", amount, days=days)


def s4_credit(
    incidents: Iterable[Incident],
    month_start: datetime,
    month_end: datetime,
    *,
    month_invoice_total: Decimal,
    claimed_at: datetime,
    ai_product: bool = False,
    trial: bool = False,
    tz: tzinfo = UTC,
) -> SlaCredit:
    """TERMS S4: the credit owed for a month, claimed at ``claimed_at``."""
    if ai_product:
        return SlaCredit("S4", "ai_product", Decimal("0.00"))
    if trial:
        return SlaCredit("S4", "trial", Decimal("0.00"))
    if not s4_claim_open(month_end, claimed_at, tz=tz):
        return SlaCredit("S4", "claim_late", Decimal("0.00"))
    percent = s4_credit_percent(monthly_availability(incidents, month_start, month_end))
    if percent == 0:
        return SlaCredit("S4", "target_met", Decimal("0.00"))
    amount = s4_credit_amount(percent, month_invoice_total)
    return SlaCredit("S4", "availability", amount, percent=percent)
