"""Calls: the history with filters (updated live), and one call with its leg chain (TERMS
V11), its recording and, for a call an AI agent answered, its transcript labelled
machine-generated (V9, A4). A role that reaches its own calls only sees those (D1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.audio import wav_response
from dialtone.api.deps import SessionDep
from dialtone.core.errors import DialtoneError, NotFound
from dialtone.dashboard.live_calls import live_from_thread
from dialtone.dashboard.monitoring import monitoring_allowed
from dialtone.dashboard.render import page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.agents import reports as agent_reports
from dialtone.services.telephony import calls

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE = 50
DIRECTIONS = ("inbound", "outbound", "internal")
STATUSES = ("completed", "no-answer", "busy", "failed", "canceled", "refused")


def _day(text: str | None, field: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(), tzinfo=UTC)
    except ValueError:
        raise DialtoneError("request.invalid", f"{field}: a date as YYYY-MM-DD.") from None


@router.get("/calls", response_class=HTMLResponse)
def call_list(
    request: Request,
    *,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("calls.read")],
    direction: str | None = None,
    status: str | None = None,
    number: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """The account's calls, newest first, filtered; the calls in progress above them."""
    where = calls.CallFilter(
        direction=direction if direction in DIRECTIONS else None,
        status=status if status in STATUSES else None,
        number=(number or "").strip()[:40] or None,
        since=_day(since, "since"),
        until=(day + timedelta(days=1)) if (day := _day(until, "until")) else None,
    )
    caller = viewer.check("calls.read")
    rows, cursor = calls.list_calls(
        session,
        viewer.account.id,
        limit=PAGE,
        before=before or None,
        user_id=caller.narrow("calls.read"),
        where=where,
    )
    filtered = any((where.direction, where.status, where.number, since, until, before))
    query = {
        "direction": direction or "",
        "status": status or "",
        "number": number or "",
        "since": since or "",
        "until": until or "",
    }
    context: dict[str, Any] = {
        "title": viewer.t("Calls"),
        "live": live_from_thread(request, viewer),
        "rows": rows,
        "cursor": cursor,
        "query": query,
        "next_query": "&".join(f"{k}={v}" for k, v in query.items() if v),
        "filtered": filtered,
        "directions": DIRECTIONS,
        "statuses": STATUSES,
    }
    return page(request, viewer, "calls.html", context)


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_detail(
    call_id: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("calls.read")],
) -> HTMLResponse:
    """One call: its facts, its leg chain (V11), its recording, its AI transcript."""
    caller = viewer.check("calls.read")
    row = calls.get_call(session, viewer.account.id, call_id)
    caller.check_parties("calls.read", calls.parties(row))
    report = agent_reports.report_for_call(session, row.id)
    if report is not None and report.account_id != viewer.account.id:
        report = None
    transcript: list[dict[str, Any]] = []
    if report is not None and viewer.can("agent_reports.read"):
        monitoring_allowed(viewer)
        transcript = json.loads(report.transcript or "[]")
    else:
        report = None
    context: dict[str, Any] = {
        "title": viewer.t("Call {id}", id=row.id),
        "call": row,
        "legs": calls.legs_of(row),
        "has_recording": bool(row.recording_path) and viewer.can("recordings.read"),
        "report": report,
        "transcript": transcript,
    }
    return page(request, viewer, "call.html", context)


@router.get("/calls/{call_id}/recording")
def call_recording(
    call_id: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("recordings.read")],
) -> Response:
    """The call's recording, to play in the page (for a user, of a call they took or
    placed: D1)."""
    caller = viewer.check("recordings.read")
    row = calls.get_call(session, viewer.account.id, call_id)
    caller.check_parties("recordings.read", calls.parties(row))
    if not row.recording_path or not Path(row.recording_path).is_file():
        raise NotFound("recording.not_found", f"Call {call_id} has no recording.")
    return wav_response(request, Path(row.recording_path), f"{row.id}.wav", inline=True)
