"""``/v1/sla``: the platform's incidents, monthly availability, and the account's SLA
credit claims (TERMS S1, S4).

Incidents are the operator's, per location (reported from the CLI or opened by the
health checks); every account sees them. A claim is S1 (service days for one location's
month, within 30 days) or S4 (a percentage of the month's invoice, within one month);
once accepted it reduces the account's next invoice as an ``sla_credit`` line.

Time zones: a location's calendar month is read in its zone from the operator's
``sla_location_timezones`` setting (location → IANA zone), other months in
``sla_timezone``; both default to UTC while the settings do not define them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep, permit
from dialtone.core.errors import DialtoneError
from dialtone.core.moments import EARLIEST_YEAR, LATEST_YEAR
from dialtone.services.billing import sla, subscriptions
from dialtone.settings import Settings
from dialtone.store.models import SlaClaim, SlaIncident

router = APIRouter(prefix="/v1/sla", tags=["sla"])

# Who may do what: reading is part of seeing the bill; a claim changes what the account
# will be invoiced, which is the administrator's (see the report for the permissions).
READ = "billing.read"
CLAIM = "sla.claim"


def now() -> datetime:
    """The moment a claim is made (a function, so tests can set the clock)."""
    return datetime.now(UTC)


def default_zone(settings: Settings) -> ZoneInfo:
    """The zone months are read in when no location says otherwise (S4's invoices)."""
    return ZoneInfo(getattr(settings, "sla_timezone", None) or "UTC")


def location_zones(settings: Settings) -> dict[str, ZoneInfo]:
    """Each location's zone: S1 counts downtime in the location's local month."""
    configured: dict[str, str] = getattr(settings, "sla_location_timezones", None) or {}
    return {location: ZoneInfo(zone) for location, zone in configured.items()}


class IncidentOut(BaseModel):
    id: str
    location: str
    start: datetime
    end: datetime | None = Field(description="Null while the incident lasts.")
    cause: str = Field(description="platform, maintenance, third_party_carrier…")
    source: str = Field(description="reported | health_check")
    note: str

    @classmethod
    def of(cls, row: SlaIncident) -> IncidentOut:
        return cls(
            id=row.id, location=row.location, start=row.start, end=row.end, cause=row.cause,
            source=row.source, note=row.note,
        )  # fmt: skip


class IncidentList(BaseModel):
    incidents: list[IncidentOut]


@router.get("/incidents", dependencies=[permit(READ)])
def list_incidents(
    session: SessionDep,
    settings: SettingsDep,
    year: int | None = Query(default=None, ge=EARLIEST_YEAR, le=LATEST_YEAR),
    month: int | None = Query(default=None, ge=1, le=12),
    location: str | None = Query(default=None, max_length=sla.MAX_LOCATION),
) -> IncidentList:
    """Incidents of the month ``year``/``month`` (both, or neither for the latest 1000),
    optionally at one ``location``."""
    if (year is None) != (month is None):
        raise DialtoneError("sla.invalid", "Give both year and month, or neither.")
    if year is not None and month is not None:
        zone = location_zones(settings).get(location or "", default_zone(settings))
        rows = sla.incidents_in_month(session, year, month, zone, location=location)
    else:
        rows = sla.list_incidents(session, location=location)
    return IncidentList(incidents=[IncidentOut.of(r) for r in rows])


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: Literal["S1", "S4"]
    year: int = Field(ge=EARLIEST_YEAR, le=LATEST_YEAR)
    month: int = Field(ge=1, le=12)
    location: str | None = Field(
        default=None, max_length=sla.MAX_LOCATION, description="S1 only: the location."
    )


class ClaimOut(BaseModel):
    id: str
    rule: str
    month: str = Field(description="YYYY-MM")
    location: str = Field(description="Empty for S4.")
    claimed_at: datetime
    amount: Decimal = Field(description="Credited on the next invoice, before tax.")
    currency: str
    detail: str
    invoice_id: str | None = Field(description="The invoice that credited it, once issued.")

    @classmethod
    def of(cls, row: SlaClaim, currency: str) -> ClaimOut:
        return cls(
            id=row.id, rule=row.rule, month=row.month, location=row.location,
            claimed_at=row.claimed_at, amount=row.amount, currency=currency, detail=row.detail,
            invoice_id=row.invoice_id,
        )  # fmt: skip


class ClaimList(BaseModel):
    claims: list[ClaimOut]


@router.post("/claims", dependencies=[permit(CLAIM)], status_code=status.HTTP_201_CREATED)
def claim(
    body: ClaimIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> ClaimOut:
    """Claim an SLA credit: S1 for one location's month (within 30 days of its end), S4
    for the month (within one month). The credit reduces the next invoice."""
    sub = subscriptions.get_subscription(session, account.id)
    row = sla.claim(
        session, account.id, body.rule, body.year, body.month, location=body.location,
        tz=default_zone(settings), zones=location_zones(settings), now=now(),
    )  # fmt: skip
    return ClaimOut.of(row, sub.currency)


@router.get("/claims", dependencies=[permit(READ)])
def list_claims(account: AccountDep, session: SessionDep) -> ClaimList:
    """The account's claims, newest first."""
    sub = subscriptions.find_subscription(session, account.id)
    currency = sub.currency if sub is not None else ""
    return ClaimList(
        claims=[ClaimOut.of(r, currency) for r in sla.list_claims(session, account.id)]
    )


class LocationOut(BaseModel):
    location: str
    downtime_minutes: int = Field(description="S1: whole minutes, the location's month.")
    s1_days: int = Field(description="S1: service days this downtime earns.")
    availability: Decimal = Field(description="Percent, S4's causes, this location only.")


class AvailabilityOut(BaseModel):
    month: str
    availability: Decimal = Field(description="S4: percent, all locations, unrounded.")
    s4_percent: Decimal = Field(description="S4: percent of the invoice it would credit.")
    locations: list[LocationOut]


@router.get("/availability", dependencies=[permit(READ)])
def availability(
    session: SessionDep,
    settings: SettingsDep,
    year: int = Query(ge=EARLIEST_YEAR, le=LATEST_YEAR),
    month: int = Query(ge=1, le=12),
) -> AvailabilityOut:
    """The month's availability so far (open incidents count until now): per location
    (S1) and for the service as a whole (S4)."""
    report = sla.monthly_report(
        session, year, month, default_zone(settings), now=now(),
        zones=location_zones(settings),
    )  # fmt: skip
    return AvailabilityOut(
        month=report.month,
        availability=report.availability,
        s4_percent=report.s4_percent,
        locations=[
            LocationOut(
                location=m.location,
                downtime_minutes=m.downtime_minutes,
                s1_days=m.s1_days,
                availability=m.availability,
            )
            for m in report.locations
        ],
    )
