"""The audit log: every refusal and enforcement action of the terms engine on the
account, newest first, with its rule, code and message (as ``/v1/audit`` gives it),
filtered by rule, code, outcome and day, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dialtone.api.deps import SessionDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard.render import page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.accounts import audit

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE = 50


def _day(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(), tzinfo=UTC)
    except ValueError:
        raise DialtoneError("request.invalid", f"{field}: a date as YYYY-MM-DD.") from None


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    *,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("audit.read")],
    rule: str | None = None,
    code: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """The account's audit events, newest first, filtered, ``PAGE`` at a time."""
    query = {
        "rule": (rule or "").strip()[:8],
        "code": (code or "").strip()[:60],
        "outcome": outcome if outcome in audit.OUTCOMES else "",
        "since": since or "",
        "until": until or "",
    }
    last_day = _day(until, "until")
    rows, cursor = audit.list_events(
        session,
        viewer.account.id,
        rule=query["rule"] or None,
        code=query["code"] or None,
        outcome=query["outcome"] or None,
        since=_day(since, "since"),
        until=last_day + timedelta(days=1) if last_day else None,
        limit=PAGE,
        before=before or None,
    )
    kept = {k: v for k, v in query.items() if v}
    context: dict[str, Any] = {
        "title": viewer.t("Audit log"),
        "rows": [(row, audit.details_of(row)) for row in rows],
        "cursor": cursor,
        "query": query,
        "next_query": urlencode(kept),
        "filtered": bool(kept) or bool(before),
        "outcomes": audit.OUTCOMES,
    }
    return page(request, viewer, "audit.html", context)
