"""The audit log: every refusal and enforcement action of the terms engine on the
account, newest first, with its rule, code and message (as ``/v1/audit`` gives it),
filtered by rule, code, outcome and day, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dialtone.api.deps import SessionDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard.render import page
from dialtone.dashboard.viewer import OperatorDep, Viewer, needs
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
    filters = AuditFilters(rule, code, outcome, since, until, before)
    return _audit_page(request, session, viewer, viewer.account.id, filters)


@router.get("/accounts/audit", response_class=HTMLResponse)
def every_accounts_audit_log(
    request: Request,
    *,
    session: SessionDep,
    viewer: OperatorDep,
    rule: str | None = None,
    code: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """The operator's audit log of every account (and of the platform itself), newest
    first, with the account each event is about."""
    filters = AuditFilters(rule, code, outcome, since, until, before)
    return _audit_page(request, session, viewer, None, filters)


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What the audit log is narrowed to, as the query string gave it."""

    rule: str | None
    code: str | None
    outcome: str | None
    since: str | None
    until: str | None
    before: str | None


def _audit_page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    account_id: str | None,
    filters: AuditFilters,
) -> HTMLResponse:
    query = {
        "rule": (filters.rule or "").strip()[:8],
        "code": (filters.code or "").strip()[:60],
        "outcome": filters.outcome if filters.outcome in audit.OUTCOMES else "",
        "since": filters.since or "",
        "until": filters.until or "",
    }
    last_day = _day(filters.until, "until")
    rows, cursor = audit.list_events(
        session,
        account_id,
        rule=query["rule"] or None,
        code=query["code"] or None,
        outcome=query["outcome"] or None,
        since=_day(filters.since, "since"),
        until=last_day + timedelta(days=1) if last_day else None,
        limit=PAGE,
        before=filters.before or None,
    )
    kept = {k: v for k, v in query.items() if v}
    context: dict[str, Any] = {
        "title": viewer.t("Audit log"),
        "rows": [(row, audit.details_of(row)) for row in rows],
        "cursor": cursor,
        "query": query,
        "next_query": urlencode(kept),
        "filtered": bool(kept) or bool(filters.before),
        "outcomes": audit.OUTCOMES,
        "every_account": account_id is None,
        "here": request.url.path,
    }
    return page(request, viewer, "audit.html", context)
