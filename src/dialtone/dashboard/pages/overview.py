"""The overview: live calls, today's calls, minutes against the plan's included minutes,
credits, open invoices, and charts over the last 30 days. Updated live (``/console/live``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from dialtone.api.deps import SessionDep
from dialtone.core.errors import NotFound
from dialtone.dashboard import charts
from dialtone.dashboard.live_calls import live_from_thread, recent
from dialtone.dashboard.render import page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.telephony import call_stats

router = APIRouter(prefix="/console", include_in_schema=False)

CHART_DAYS = 30


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request, session: SessionDep, viewer: Annotated[Viewer, needs("calls.read")]
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
        "charts": [calls_chart, minutes_chart],
        "billing": _billing(session, viewer, now) if viewer.can("billing.read") else None,
    }
    return page(request, viewer, "overview.html", context)


def _billing(session: Session, viewer: Viewer, now: datetime) -> dict[str, Any] | None:
    """The plan's figures of the overview (None for an account without a subscription)."""
    from dialtone.services.billing import overview as billing_overview  # noqa: PLC0415

    try:
        return billing_overview.figures(session, viewer.account.id, now=now)
    except NotFound:
        return None


__all__ = ["router", "timedelta"]
