"""AI agents: the account's agent profiles (TERMS A1) with the numbers routed to them and
their knowledge entries; creating and changing one; and the reports of the calls they
answered, whose summaries and transcripts are labelled AI- and machine-generated (A4, V9).

Writes go through the services ``/v1/agents`` calls, with its permissions
(``agents.read``, ``agents.write``, ``agent_reports.read``). An operator acting in an
account that opted out of AI quality monitoring reads none of its reports (A8).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.api.deps import RecordingKeyDep, SessionDep
from dialtone.dashboard.forms import FormDep, flag, text
from dialtone.dashboard.monitoring import monitoring_allowed, monitoring_refused
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.agents import knowledge, profiles, reports, templates
from dialtone.services.agents.profiles import ProfileChanges
from dialtone.store.agent_models import AgentProfileRow
from dialtone.store.models import PhoneNumber

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE = 50
AGENT_SAVED = notice("agents.saved", "The agent is saved.")
AGENT_DELETED = notice(
    "agents.deleted", "The agent is deleted; numbers routed to it answer with their greeting."
)
ENTRY_ADDED = notice("agents.entry_added", "The knowledge entry is added.")
ENTRY_DELETED = notice("agents.entry_deleted", "The knowledge entry is deleted.")

# What the pages call a purpose (A1) and a report's outcome.
PURPOSES: dict[str, str] = {
    "sales": "Sales",
    "marketing": "Marketing",
    "customer_service": "Customer service",
    "technical_support": "Technical support",
    "custom": "Custom",
}
OUTCOMES: dict[str, str] = {
    "booked": "Appointment booked",
    "message": "Message taken",
    "transferred": "Transferred",
    "answered": "Answered",
    "abandoned": "Abandoned",
}
SPEAKERS: dict[str, str] = {"caller": "Caller", "agent": "AI agent"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def routed_numbers(session: Session, account_id: str) -> dict[str, list[str]]:
    """The account's numbers whose route is an agent, by agent id."""
    rows = session.execute(
        select(PhoneNumber.route_target, PhoneNumber.number)
        .where(PhoneNumber.account_id == account_id, PhoneNumber.route_kind == "agent")
        .order_by(PhoneNumber.number)
    )
    out: dict[str, list[str]] = {}
    for target, number in rows:
        out.setdefault(target or "", []).append(number)
    return out


def _languages(value: str) -> list[str]:
    """``en-US, fr-FR`` as the list a profile keeps (the service checks each)."""
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


def _changes(form: Any, *, creating: bool) -> ProfileChanges:
    """The profile fields of the create or edit form (what is left empty on create comes
    from the purpose's template, as over the API)."""
    values: dict[str, Any] = {"name": text(form, "name")}
    for name in ("business_name", "purpose", "timezone", "greeting", "instructions"):
        value = text(form, name)
        if value or not creating:
            values[name] = value
    languages = _languages(text(form, "languages"))
    if languages or not creating:
        values["languages"] = languages
    if not creating:
        values["take_messages"] = flag(form, "take_messages")
    return ProfileChanges(**values)


def _described(row: AgentProfileRow) -> dict[str, Any]:
    return profiles.described(row)


@router.get("/agents", response_class=HTMLResponse)
def agent_list(
    request: Request, session: SessionDep, viewer: Annotated[Viewer, needs("agents.read")]
) -> HTMLResponse:
    """The account's agents: purpose, languages, the numbers routed to each."""
    account_id = viewer.account.id
    context: dict[str, Any] = {
        "title": viewer.t("AI agents"),
        "agents": [_described(row) for row in profiles.list_profiles(session, account_id)],
        "numbers": routed_numbers(session, account_id),
        "purposes": PURPOSES,
        "template_purposes": templates.PURPOSES,
        "reports_shown": viewer.can("agent_reports.read") and not monitoring_refused(viewer),
    }
    return page(request, viewer, "agents.html", context)


@router.post("/agents")
def create_agent(
    session: SessionDep,
    key: RecordingKeyDep,
    viewer: Annotated[Viewer, needs("agents.write")],
    form: FormDep,
) -> Response:
    """A new agent from its purpose's template (A1), as ``POST /v1/agents``."""
    row = profiles.create_profile(
        session, viewer.account.id, _changes(form, creating=True), now=datetime.now(UTC), key=key
    )
    return back_to(f"/console/agents/{row.id}", AGENT_SAVED)


# Declared before ``/agents/{agent_id}``, which would take "reports" for an id.
@router.get("/agents/reports", response_class=HTMLResponse)
def report_list(
    request: Request,
    *,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("agent_reports.read")],
    agent_id: str | None = None,
    outcome: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """The reports of the calls the account's agents answered, newest first (A4)."""
    monitoring_allowed(viewer)
    account_id = viewer.account.id
    rows, cursor = reports.list_reports(
        session,
        account_id,
        agent_id=agent_id or None,
        outcome=outcome if outcome in OUTCOMES else None,
        limit=PAGE,
        before=before or None,
    )
    names = {row.id: row.name for row in profiles.list_profiles(session, account_id)}
    query = {"agent_id": agent_id or "", "outcome": outcome or ""}
    context: dict[str, Any] = {
        "title": viewer.t("AI agent reports"),
        "reports": rows,
        "names": names,
        "outcomes": OUTCOMES,
        "query": query,
        "next_query": "&".join(f"{k}={v}" for k, v in query.items() if v),
        "cursor": cursor,
    }
    return page(request, viewer, "agent_reports.html", context)


@router.get("/agents/reports/{report_id}", response_class=HTMLResponse)
def report_detail(
    report_id: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("agent_reports.read")],
) -> HTMLResponse:
    """One report: outcome, the summary labelled AI-generated (A4), the transcript with
    each line's label (A4, V9), the rules that answered (A3, A4), the call it is of."""
    monitoring_allowed(viewer)
    row = reports.get_report(session, viewer.account.id, report_id)
    names = {p.id: p.name for p in profiles.list_profiles(session, viewer.account.id)}
    context: dict[str, Any] = {
        "title": viewer.t("AI agent report {id}", id=row.id),
        "report": row,
        "agent_name": names.get(row.agent_id),
        "transcript": json.loads(row.transcript or "[]"),
        "guarded": json.loads(row.guarded or "[]"),
        "outcomes": OUTCOMES,
        "speakers": SPEAKERS,
        "call_shown": viewer.can("calls.read"),
    }
    return page(request, viewer, "agent_report.html", context)


@router.get("/agents/{agent_id}", response_class=HTMLResponse)
def agent_detail(
    agent_id: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("agents.read")],
) -> HTMLResponse:
    """One agent: its profile, the numbers routed to it, its knowledge entries."""
    account_id = viewer.account.id
    row = profiles.get_profile(session, account_id, agent_id)
    context: dict[str, Any] = {
        "title": row.name,
        "agent": _described(row),
        "numbers": routed_numbers(session, account_id).get(row.id, []),
        "entries": knowledge.list_entries(session, account_id, row.id),
        "purposes": PURPOSES,
        "weekdays": WEEKDAYS,
        "may_write": viewer.can("agents.write"),
        "reports_shown": viewer.can("agent_reports.read") and not monitoring_refused(viewer),
    }
    return page(request, viewer, "agent.html", context)


@router.post("/agents/{agent_id}")
def update_agent(
    agent_id: str,
    session: SessionDep,
    key: RecordingKeyDep,
    viewer: Annotated[Viewer, needs("agents.write")],
    form: FormDep,
) -> Response:
    """Change the agent's name, business, purpose, texts, languages, time zone and
    whether it takes messages (checked as on create, A1, A4)."""
    profiles.update_profile(
        session,
        viewer.account.id,
        agent_id,
        _changes(form, creating=False),
        now=datetime.now(UTC),
        key=key,
    )
    return back_to(f"/console/agents/{agent_id}", AGENT_SAVED)


@router.post("/agents/{agent_id}/delete")
def delete_agent(
    agent_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("agents.write")],
    form: FormDep,
) -> Response:
    """Remove the agent and its knowledge; its numbers go back to their greeting (N10)."""
    profiles.delete_profile(session, viewer.account.id, agent_id)
    return back_to("/console/agents", AGENT_DELETED)


@router.post("/agents/{agent_id}/knowledge")
def add_entry(
    agent_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("agents.write")],
    form: FormDep,
) -> Response:
    """One question and its answer, after the others."""
    knowledge.add_entry(
        session,
        viewer.account.id,
        agent_id,
        question=text(form, "question"),
        answer=text(form, "answer"),
        now=datetime.now(UTC),
    )
    return back_to(f"/console/agents/{agent_id}", ENTRY_ADDED)


@router.post("/agents/{agent_id}/knowledge/{entry_id}/delete")
def delete_entry(
    agent_id: str,
    entry_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("agents.write")],
    form: FormDep,
) -> Response:
    """Remove one knowledge entry."""
    knowledge.delete_entry(session, viewer.account.id, agent_id, entry_id)
    return back_to(f"/console/agents/{agent_id}", ENTRY_DELETED)
