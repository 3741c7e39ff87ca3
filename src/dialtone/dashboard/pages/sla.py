"""SLA: the platform's incidents, a month's availability per location (S1) and for the
whole service (S4), and the account's credit claims with the form to make one. Reads
need ``billing.read`` and a claim ``sla.claim``, as on ``/v1/sla``; months are read in
the zones ``/v1/sla`` uses (its ``default_zone`` and ``location_zones``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.deps import SessionDep, SettingsDep
from dialtone.api.v1 import sla as sla_api
from dialtone.core.errors import DialtoneError
from dialtone.core.moments import EARLIEST_YEAR, LATEST_YEAR
from dialtone.dashboard.forms import FormDep, optional, text
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.billing import overview as billing_overview
from dialtone.services.billing import sla, subscriptions

router = APIRouter(prefix="/console", include_in_schema=False)

HOME = "/console/sla"
CLAIMED = notice("sla.claimed", "Your claim is recorded: the credit reduces your next invoice.")
HISTORY_MONTHS = 6
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(value: str | None, field: str) -> tuple[int, int] | None:
    """``YYYY-MM`` as (year, month); None when empty; ``sla.invalid`` when malformed."""
    if not value:
        return None
    found = _MONTH.match(value.strip())
    if found:
        year, month = int(found.group(1)), int(found.group(2))
        if EARLIEST_YEAR <= year <= LATEST_YEAR and 1 <= month <= 12:
            return year, month
    raise DialtoneError("sla.invalid", f"{field}: a month as YYYY-MM.")


@router.get("/sla", response_class=HTMLResponse)
def sla_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs(sla_api.READ)],
    month: str | None = None,
) -> HTMLResponse:
    """Incidents and availability of a month (this one unless ``month=YYYY-MM``), the
    last months' availability, and the account's claims."""
    now = sla_api.now()
    tz = sla_api.default_zone(settings)
    zones = sla_api.location_zones(settings)
    local = now.astimezone(tz)
    year, number = _month(month, "month") or (local.year, local.month)
    report = sla.monthly_report(session, year, number, tz, now=now, zones=zones)
    sub = subscriptions.find_subscription(session, viewer.account.id)
    context: dict[str, Any] = {
        "title": viewer.t("SLA"),
        "month": report.month,
        "report": report,
        "incidents": sla.incidents_in_month(session, year, number, tz),
        "history": billing_overview.availability_per_month(
            session, now=now, months=HISTORY_MONTHS, tz=tz, zones=zones
        ),
        "claims": sla.list_claims(session, viewer.account.id),
        "currency": sub.currency if sub is not None else "EUR",
        "may_claim": viewer.can(sla_api.CLAIM),
        "zone": str(tz),
    }
    return page(request, viewer, "sla.html", context)


@router.post("/sla/claims")
def claim(
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs(sla_api.CLAIM)],
    form: FormDep,
) -> Response:
    """Claim an SLA credit (``POST /v1/sla/claims``): S1 for one location's month, S4
    for the whole service's."""
    when = _month(text(form, "month"), "month")
    if when is None:
        raise DialtoneError("sla.invalid", "month: a month as YYYY-MM.")
    sla.claim(
        session,
        viewer.account.id,
        text(form, "rule"),
        when[0],
        when[1],
        location=optional(form, "location"),
        tz=sla_api.default_zone(settings),
        zones=sla_api.location_zones(settings),
        now=sla_api.now(),
    )
    return back_to(HOME, CLAIMED)
