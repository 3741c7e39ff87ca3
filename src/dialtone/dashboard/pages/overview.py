"""The overview: live calls, today's calls, minutes against the plan's included minutes,
credits, open invoices, and charts over the last 30 days. Updated live (``/console/live``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from dialtone.api.deps import SessionDep, SettingsDep
from dialtone.core.errors import NotFound
from dialtone.dashboard import charts
from dialtone.dashboard.live_calls import live_from_thread, recent
from dialtone.dashboard.render import page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.telephony import call_stats
from dialtone.settings import Settings

router = APIRouter(prefix="/console", include_in_schema=False)

CHART_DAYS = 30


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("calls.read")],
) -> HTMLResponse:
    """The account at a glance."""
    now = datetime.now(UTC)
    own = viewer.check("calls.read").narrow("calls.read")
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = call_stats.totals_since(session, viewer.account.id, midnight, user_id=own)
    days = call_stats.per_day(session, viewer.account.id, until=now, days=CHART_DAYS, user_id=own)
    t = viewer.t
    label = "%d/%m" if viewer.language == "fr" else "%m-%d"
    calls_chart = charts.bar_chart(
        t("Calls per day"), [charts.Bar(d.day.strftime(label), d.calls) for d in days]
    )
    minutes_chart = charts.bar_chart(
        t("Minutes per day"),
        [charts.Bar(d.day.strftime(label), Decimal(d.billed_seconds) / 60) for d in days],
        unit=" min",
    )
    context: dict[str, Any] = {
        "title": t("Overview"),
        "live": live_from_thread(request, viewer),
        "recent": recent(session, viewer),
        "today": today,
        "days": days,
        "charts": [
            (t("Calls per day"), calls_chart),
            (t("Minutes per day"), minutes_chart),
            *_money_charts(session, settings, viewer, now, label),
        ],
        "billing": _billing(session, viewer, now) if viewer.can("billing.read") else None,
    }
    return page(request, viewer, "overview.html", context)


def _money_charts(
    session: Session, settings: Settings, viewer: Viewer, now: datetime, label: str
) -> list[tuple[str, str]]:
    """Spend per day (rated usage: B4, B5, B16) and availability per month (S4)."""
    from dialtone.api.v1 import sla as sla_api  # noqa: PLC0415
    from dialtone.services.billing import overview as billing_overview  # noqa: PLC0415

    if not viewer.can("billing.read"):
        return []
    found: list[tuple[str, str]] = []
    t = viewer.t
    try:
        spend = billing_overview.spend_per_day(
            session, viewer.account.id, until=now, days=CHART_DAYS
        )
        found.append(
            (
                t("Spend per day"),
                charts.bar_chart(
                    t("Spend per day"),
                    [charts.Bar(d.day.strftime(label), d.amount) for d in spend.days],
                    unit=f" {spend.currency}",
                ),
            )
        )
    except NotFound:  # an account dialtone does not bill
        pass
    months = billing_overview.availability_per_month(
        session,
        now=now,
        months=6,
        tz=sla_api.default_zone(settings),
        zones=sla_api.location_zones(settings),
    )
    found.append(
        (
            t("Availability per month"),
            charts.bar_chart(
                t("Availability per month"),
                [charts.Bar(m.month, m.availability) for m in months],
                unit=" %",
            ),
        )
    )
    return found


def _billing(session: Session, viewer: Viewer, now: datetime) -> dict[str, Any] | None:
    """The plan's figures of the overview (None for an account without a subscription)."""
    from dialtone.services.billing import overview as billing_overview  # noqa: PLC0415

    try:
        return billing_overview.figures(session, viewer.account.id, now=now)
    except NotFound:
        return None
