"""Service levels: incidents per location, monthly availability, and the credits a
customer claims for them (TERMS S1, S4).

The arithmetic is :mod:`dialtone.rating.sla`; this module keeps the incidents, turns the
platform's health checks into incidents, and records claims. A claim is an
:class:`~dialtone.store.models.SlaClaim` row: the next invoice turns every unapplied claim
into an ``sla_credit`` line (:func:`dialtone.services.billing.invoicing.issue`), which is how S1's
"credits only reduce future payments" holds.

Decisions, where the terms leave room:

- **Locations.** An incident is the operator's, at one location (a site or point of
  presence such as ``paris-1``), not an account's. The subscription records no location,
  so an S1 claim names the location it is for; a location without incidents simply has
  nothing due. The location's time zone is the caller's to pass (the "SLA top band"
  decision counts in the location's local calendar month).
- **A month is claimed once it is over**, so the count is final: a claim while the month
  runs is refused (``sla.month_open``) rather than locking in a partial count, since a
  month is claimed only once per rule and location (``sla.already_claimed``).
- **S1's value.** A service day is a thirtieth of a month's price of the accesses
  (``rating.sla.S1_DAYS_PER_PERIOD``); a month is the period's price divided by the
  months the period covers (12 for an annual plan). The accesses are the subscription's
  at the moment of the claim, all of them unless the caller says how many are at the
  location (locations are never combined, S1).
- **S4's invoice.** "That month's invoice" is the issued invoice whose period contains the
  first instant of the month (the invoice that billed the service on the 1st), its
  charges before tax (the credit line is taxed like them, so the customer gets the
  percentage of what they paid), divided by the months its period covers for annual
  plans. No such invoice: nothing is due.
- **S4 exclusions.** Trials are judged on the current plan; AI products (transcription
  and analytics, AI voice agents, chatbots, eSIM) are the plan codes in
  :data:`AI_PRODUCTS` unless the caller says otherwise.
- **Health checks.** The first failed check at a location opens an incident (cause
  ``platform``, source ``health_check``) starting at that check; the first successful check
  closes it at that check. Downtime is thus counted from detection to recovery, to the
  check interval; repeated checks change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, cast, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.rating import sla as rules
from dialtone.rating.invoice import CREDIT_KINDS
from dialtone.services.billing.subscriptions import get_subscription, plan_of
from dialtone.services.ids import new_id
from dialtone.store.models import Invoice, SlaClaim, SlaIncident, Subscription

IncidentSource = Literal["reported", "health_check"]
SOURCES: frozenset[str] = frozenset(get_args(IncidentSource))
HEALTH_CHECK_CAUSE: rules.IncidentCause = "platform"
# S4 names these products as carrying no SLA; an operator's catalogue uses these codes.
AI_PRODUCTS: frozenset[str] = frozenset(
    {"transcription", "analytics", "ai_voice_agent", "chatbot", "esim"}
)
MAX_LOCATION = 80  # the column's width
MAX_LISTED = 1000


@dataclass(frozen=True, slots=True)
class LocationMonth:
    """One location's month: S1 downtime and day credits, and the location's own
    availability counted as S4 counts it (its causes, this location only)."""

    location: str
    downtime_minutes: int
    s1_days: int
    availability: Decimal


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """A month's service levels: per location (S1) and for the service as a whole (S4:
    all locations together, overlaps counted once)."""

    month: str
    availability: Decimal
    s4_percent: Decimal
    locations: tuple[LocationMonth, ...]


def _invalid(message: str) -> DialtoneError:
    return DialtoneError("sla.invalid", message)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _invalid(f"{name} needs a time zone")
    return moment.astimezone(UTC)


def _location(location: str) -> str:
    location = location.strip()
    if not location or len(location) > MAX_LOCATION:
        raise _invalid(f"A location is named in 1 to {MAX_LOCATION} characters.")
    return location


def _month_key(year: int, month: int) -> str:
    if not 1 <= month <= 12 or not 2000 <= year <= 9999:
        raise _invalid("The month is a year from 2000 and a month from 1 to 12.")
    return f"{year:04d}-{month:02d}"


# Incidents -------------------------------------------------------------------------


def report_incident(
    session: Session,
    *,
    location: str,
    start: datetime,
    end: datetime | None,
    cause: str,
    now: datetime,
    source: str = "reported",
    note: str = "",
) -> SlaIncident:
    """Record downtime at ``location`` (S4: incidents can be reported 24/7); ``end`` None
    while it lasts. ``cause`` is one of ``rating.sla.ALL_CAUSES``: S1 and S4 each leave out
    the causes they exclude when counting."""
    start, now = _aware(start, "start"), _aware(now, "now")
    if end is not None and _aware(end, "end") < start:
        raise _invalid("An incident cannot end before it starts.")
    if cause not in rules.ALL_CAUSES:
        raise _invalid(f"Causes are {', '.join(sorted(rules.ALL_CAUSES))}.")
    if source not in SOURCES:
        raise _invalid(f"Sources are {', '.join(sorted(SOURCES))}.")
    # Incidents are reported, not forecast: a future one would count before it happened.
    if start > now or (end is not None and end > now):
        raise _invalid("An incident is reported once it has started, with a past end.")
    row = SlaIncident(
        id=new_id("SI"),
        location=_location(location),
        start=start,
        end=end,
        cause=cause,
        source=source,
        note=note,
    )
    session.add(row)
    session.flush()
    return row


def close_incident(session: Session, incident_id: str, end: datetime) -> SlaIncident:
    """Record when an open incident ended (S4's restore). A closed incident is not
    re-closed: a second end would silently change what was counted."""
    row = session.get(SlaIncident, incident_id)
    if row is None:
        raise NotFound("sla.incident_not_found", f"No incident {incident_id}.")
    if row.end is not None:
        raise DialtoneError(
            "sla.incident_closed", f"The incident ended at {row.end.isoformat()}.", status=409
        )
    if _aware(end, "end") < row.start:
        raise _invalid("An incident cannot end before it starts.")
    row.end = end
    session.flush()
    return row


def record_health(session: Session, location: str, ok: bool, at: datetime) -> SlaIncident | None:
    """The health-check hook (S1, S4): a failed check opens an incident at ``location``
    (source ``health_check``, cause ``platform``) unless one is open; a successful check
    closes the open one at ``at``. Idempotent: repeating a check changes nothing.

    Returns the incident opened, kept open or closed; None when all is well. Incidents
    reported by hand are left to the operator."""
    location = _location(location)
    at = _aware(at, "at")
    open_row = session.scalar(
        select(SlaIncident)
        .where(
            SlaIncident.location == location,
            SlaIncident.source == "health_check",
            SlaIncident.end.is_(None),
        )
        .order_by(SlaIncident.start)
        .limit(1)
    )
    if ok:
        if open_row is None:
            return None
        # A success older than the failure (checks delivered out of order) ends nothing.
        if at >= open_row.start:
            open_row.end = at
            session.flush()
        return open_row
    if open_row is not None:
        # The run started at its earliest failed check, whatever order they arrive in.
        if at < open_row.start:
            open_row.start = at
            session.flush()
        return open_row
    row = SlaIncident(
        id=new_id("SI"),
        location=location,
        start=at,
        end=None,
        cause=HEALTH_CHECK_CAUSE,
        source="health_check",
        note="opened by a failed health check",
    )
    session.add(row)
    session.flush()
    return row


def incidents_between(
    session: Session, start: datetime, end: datetime, *, location: str | None = None
) -> list[SlaIncident]:
    """Incidents overlapping ``[start, end)`` (open ones included), by start and location."""
    query = select(SlaIncident).where(
        SlaIncident.start < end, or_(SlaIncident.end.is_(None), SlaIncident.end > start)
    )
    if location is not None:
        query = query.where(SlaIncident.location == location)
    return list(
        session.scalars(query.order_by(SlaIncident.start, SlaIncident.location, SlaIncident.id))
    )


def incidents_in_month(
    session: Session, year: int, month: int, tz: ZoneInfo, *, location: str | None = None
) -> list[SlaIncident]:
    """Incidents overlapping the calendar month ``year-month`` read in ``tz``."""
    start, end = rules.local_month_bounds(year, month, tz)
    return incidents_between(session, start, end, location=location)


def list_incidents(
    session: Session, *, location: str | None = None, limit: int = MAX_LISTED
) -> list[SlaIncident]:
    """The latest incidents, newest first."""
    query = select(SlaIncident)
    if location is not None:
        query = query.where(SlaIncident.location == location)
    return list(
        session.scalars(
            query.order_by(SlaIncident.start.desc(), SlaIncident.location, SlaIncident.id).limit(
                limit
            )
        )
    )


def _as_rated(rows: Iterable[SlaIncident], now: datetime) -> list[rules.Incident]:
    """Stored incidents as the arithmetic's; an open incident lasts until ``now``."""
    found = []
    for row in rows:
        end = row.end if row.end is not None else max(row.start, now)
        cause = cast(rules.IncidentCause, row.cause)  # checked when recorded
        found.append(rules.Incident(row.location, row.start, end, cause))
    return found


# Availability ----------------------------------------------------------------------


def monthly_report(
    session: Session,
    year: int,
    month: int,
    tz: ZoneInfo,
    *,
    now: datetime,
    zones: Mapping[str, ZoneInfo] | None = None,
) -> MonthlyReport:
    """The month ``year-month`` so far: per location its S1 downtime (whole minutes, in
    the location's local month: ``zones``, else ``tz``), S1 days and availability; and
    S4's availability of the whole service in ``tz``, with the percent it would credit.
    Open incidents count until ``now``."""
    key = _month_key(year, month)
    now = _aware(now, "now")
    zones = zones or {}
    start, end = rules.local_month_bounds(year, month, tz)
    overall = _as_rated(incidents_between(session, start, end), now)
    locations = sorted({i.location for i in overall})
    # A location in a zone ahead of or behind ``tz`` may have incidents just outside it.
    for location, zone in zones.items():
        lo, hi = rules.local_month_bounds(year, month, zone)
        if location not in locations and incidents_between(session, lo, hi, location=location):
            locations.append(location)
    per_location = []
    for location in sorted(locations):
        lo, hi = rules.local_month_bounds(year, month, zones.get(location, tz))
        here = _as_rated(incidents_between(session, lo, hi, location=location), now)
        minutes = rules.downtime_minutes(here, location, lo, hi)
        per_location.append(
            LocationMonth(
                location,
                minutes,
                rules.s1_day_credits(minutes),
                rules.monthly_availability(here, lo, hi),
            )
        )
    availability = rules.monthly_availability(overall, start, end)
    return MonthlyReport(
        key, availability, rules.s4_credit_percent(availability), tuple(per_location)
    )


# Claims ----------------------------------------------------------------------------


def _refuse_twice(session: Session, account_id: str, rule: str, key: str, location: str) -> None:
    if session.scalar(
        select(SlaClaim.id).where(
            SlaClaim.account_id == account_id,
            SlaClaim.rule == rule,
            SlaClaim.month == key,
            SlaClaim.location == location,
        )
    ):
        where = f" at {location}" if location else ""
        raise DialtoneError(
            "sla.already_claimed",
            f"{rule} was already claimed for {key}{where}.",
            rule=rule,
            status=409,
        )


def _refuse_open_month(rule: str, key: str, month_end: datetime, now: datetime) -> None:
    if now < month_end:
        raise DialtoneError(
            "sla.month_open",
            f"{key} is not over: claim it from {month_end.isoformat()}.",
            rule=rule,
            status=409,
            details={"month_end": month_end.isoformat()},
        )


def _nothing_due(rule: str, message: str, **details: object) -> DialtoneError:
    return DialtoneError("sla.nothing_due", message, rule=rule, status=409, details=details)


def _late(rule: str, key: str) -> DialtoneError:
    window = "30 days" if rule == "S1" else "one month"
    return DialtoneError(
        "sla.claim_late",
        f"{rule} credits are claimed within {window} of the month's end; {key} is past it.",
        rule=rule,
        status=409,
    )


def _store(
    session: Session, account_id: str, *, rule: str, key: str, location: str, amount: Decimal,
    detail: str, now: datetime,
) -> SlaClaim:  # fmt: skip
    row = SlaClaim(
        id=new_id("SL"), account_id=account_id, rule=rule, month=key, location=location,
        claimed_at=now, amount=amount, detail=detail,
    )  # fmt: skip
    try:
        # A savepoint: a concurrent claim for the same month trips the unique constraint
        # and must answer 409, not poison the caller's transaction.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise DialtoneError(
            "sla.already_claimed", f"{rule} was already claimed for {key}.", rule=rule,
            status=409,
        ) from None  # fmt: skip
    return row


def _before_subscription(sub: Subscription, month_end: datetime) -> bool:
    return month_end <= sub.started_at


def claim_s1(
    session: Session,
    account_id: str,
    location: str,
    year: int,
    month: int,
    *,
    tz: ZoneInfo,
    now: datetime,
    accesses: int | None = None,
) -> SlaClaim:
    """TERMS S1: claim the service days owed for ``location``'s month ``year-month``, in
    the location's calendar (``tz``), at ``now``.

    Refused while the month runs (``sla.month_open``), after 30 days (``sla.claim_late``),
    when under 15 minutes of downtime or before the subscription (``sla.nothing_due``),
    and a second time (``sla.already_claimed``). The days are valued at a thirtieth of a
    month's price of ``accesses`` (the subscription's, by default) per day; the claim
    becomes a credit line on the next invoice."""
    location = _location(location)
    key = _month_key(year, month)
    now = _aware(now, "now")
    sub = get_subscription(session, account_id)
    plan = plan_of(sub)
    count = sub.accesses if accesses is None else accesses
    if not 1 <= count <= sub.accesses:
        raise _invalid(f"The accesses at a location are 1 to {sub.accesses}.")
    _refuse_twice(session, account_id, "S1", key, location)
    start, end = rules.local_month_bounds(year, month, tz)
    _refuse_open_month("S1", key, end, now)
    if not rules.s1_claim_open(end, now):
        raise _late("S1", key)
    if _before_subscription(sub, end):
        raise _nothing_due("S1", f"The subscription started after {key}.")
    # Downtime before the subscription started was nobody's loss on this account.
    counted_from = max(start, sub.started_at)
    incidents = _as_rated(incidents_between(session, counted_from, end, location=location), now)
    period_price = plan.access_price(sub.currency) * count
    # A service day is a thirtieth of a month; an annual period is 12 months of 30 days.
    days_per_period = rules.S1_DAYS_PER_PERIOD * plan.months_per_period
    credit = rules.s1_credit(
        incidents, location, counted_from, end, monthly_price=period_price, claimed_at=now,
        days_per_period=days_per_period,
    )  # fmt: skip
    minutes = rules.downtime_minutes(incidents, location, counted_from, end)
    if credit.amount <= 0:
        raise _nothing_due(
            "S1",
            f"{minutes} minute(s) of downtime at {location} in {key}: S1 credits from 15.",
            downtime_minutes=minutes,
        )
    detail = (
        f"{minutes} min of downtime at {location} in {key} ({tz}): {credit.days} "
        f"service day(s) × {count} access(es) at {plan.access_price(sub.currency)} "
        f"{sub.currency} per {days_per_period} days"
    )
    return _store(
        session, account_id, rule="S1", key=key, location=location, amount=credit.amount,
        detail=detail, now=now,
    )  # fmt: skip


def is_ai_product(plan_code: str) -> bool:
    """Whether a plan is one of the AI products S4 leaves without SLA."""
    return plan_code in AI_PRODUCTS


def month_invoice_base(
    session: Session, sub: Subscription, month_start: datetime
) -> tuple[Invoice | None, Decimal]:
    """TERMS S4's "that month's invoice": the issued invoice whose period contains
    ``month_start``, and its charges before tax (credit lines left out) for one month
    of its period."""
    invoice = session.scalar(
        select(Invoice)
        .where(
            Invoice.account_id == sub.account_id,
            Invoice.kind == "invoice",
            Invoice.issued_at.is_not(None),
            Invoice.period_start <= month_start,
            Invoice.period_end > month_start,
        )
        .order_by(Invoice.sequence.desc())
        .limit(1)
    )
    if invoice is None:
        return None, Decimal(0)
    charges = sum(
        (Decimal(ln.amount) for ln in invoice.lines if ln.kind not in CREDIT_KINDS), Decimal(0)
    )
    return invoice, charges / plan_of(sub).months_per_period


def claim_s4(
    session: Session,
    account_id: str,
    year: int,
    month: int,
    *,
    now: datetime,
    tz: ZoneInfo | None = None,
    ai_product: bool | None = None,
) -> SlaClaim:
    """TERMS S4: claim the percentage of the month's invoice owed for the service's
    availability in ``year-month`` (read in ``tz``, UTC by default), at ``now``.

    Refused for trials and AI products (``sla.not_covered``; ``ai_product`` None judges
    by the plan code), while the month runs, after one month (``sla.claim_late``), when
    availability is above 99.95 % or there is no invoice (``sla.nothing_due``), and a
    second time. The claim becomes a credit line on the next invoice."""
    key = _month_key(year, month)
    now = _aware(now, "now")
    zone = tz or ZoneInfo("UTC")
    sub = get_subscription(session, account_id)
    plan = plan_of(sub)
    if is_ai_product(sub.plan_code) if ai_product is None else ai_product:
        raise DialtoneError(
            "sla.not_covered", "AI products carry no S4 service level.", rule="S4", status=403,
            details={"reason": "ai_product"},
        )  # fmt: skip
    if plan.trial:
        raise DialtoneError(
            "sla.not_covered", "Trials carry no S4 service level.", rule="S4", status=403,
            details={"reason": "trial"},
        )  # fmt: skip
    _refuse_twice(session, account_id, "S4", key, "")
    start, end = rules.local_month_bounds(year, month, zone)
    _refuse_open_month("S4", key, end, now)
    if not rules.s4_claim_open(end, now, tz=zone):
        raise _late("S4", key)
    invoice, base = month_invoice_base(session, sub, start)
    if invoice is None:
        raise _nothing_due("S4", f"No invoice billed the service in {key}.")
    incidents = _as_rated(incidents_between(session, start, end), now)
    credit = rules.s4_credit(
        incidents, start, end, month_invoice_total=base, claimed_at=now, tz=zone
    )
    if credit.percent == 0:
        availability = rules.monthly_availability(incidents, start, end)
        raise _nothing_due(
            "S4",
            f"Availability in {key} was {availability:.4f} %: S4 credits from 99.95 % down.",
            availability=str(availability),
        )
    if credit.amount <= 0:
        raise _nothing_due("S4", f"Invoice {invoice.number} charged nothing for {key}.")
    detail = (
        f"{credit.percent} % of invoice {invoice.number} ({base.quantize(Decimal('0.01'))} "
        f"{sub.currency} before tax for the month) for {key}"
    )
    return _store(
        session, account_id, rule="S4", key=key, location="", amount=credit.amount,
        detail=detail, now=now,
    )  # fmt: skip


def claim(
    session: Session,
    account_id: str,
    rule: str,
    year: int,
    month: int,
    *,
    location: str | None,
    tz: ZoneInfo,
    zones: Mapping[str, ZoneInfo],
    now: datetime,
) -> SlaClaim:
    """A claim as a customer makes it (API and console): S1 names its location, whose
    month is read in its zone (``zones``, else ``tz``); S4 names none and is read in
    ``tz``. ``sla.invalid`` for any other rule or a location given to the wrong one."""
    if rule == "S1":
        if not location:
            raise _invalid("An S1 claim names its location.")
        zone = zones.get(location, tz)
        return claim_s1(session, account_id, location, year, month, tz=zone, now=now)
    if rule == "S4":
        if location:
            raise _invalid("S4 covers the whole service: no location.")
        return claim_s4(session, account_id, year, month, now=now, tz=tz)
    raise _invalid("A claim is S1 or S4.")


def list_claims(session: Session, account_id: str) -> list[SlaClaim]:
    """The account's claims, newest first (``invoice_id`` set once credited)."""
    return list(
        session.scalars(
            select(SlaClaim)
            .where(SlaClaim.account_id == account_id)
            .order_by(SlaClaim.claimed_at.desc(), SlaClaim.id)
        )
    )
