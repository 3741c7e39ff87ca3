"""Numbers: the account's numbers with their state, route, documents (TERMS N3) and
lifecycle notices (N6, N7, N8); one number with its route editor and greeting; the
identity documents, port-ins (N4) and port-outs (N5).

Every write calls what the matching ``/v1`` route calls, with the same permission: the
route through ``routing.set_route`` (N10, V5 checked there), documents through
``kyc.upload``, port-ins through ``porting.create``. The runtime reads routes through
its look-up cache, which the API does not invalidate either: entries live
``lookup_cache_seconds`` (1 s by default), so the next call after that follows the
new route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from dialtone.api.deps import RecordingKeyDep, SessionDep, SettingsDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard.forms import FormDep, optional, text
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.policy.decision import Decision
from dialtone.services.agents import profiles
from dialtone.services.numbering import kyc, lifecycle, numbers, porting
from dialtone.services.telephony import routing, users
from dialtone.services.telephony.greetings import MAX_GREETING_BYTES, store_greeting
from dialtone.store.models import PhoneNumber

router = APIRouter(prefix="/console", include_in_schema=False)

ROUTE_SAVED = notice("number.route_saved", "The route is saved: the next call follows it.")
GREETING_SAVED = notice("number.greeting_saved", "The greeting is saved.")
GREETING_RESET = notice("number.greeting_reset", "The number plays the built-in greeting.")
DOCUMENT_SENT = notice("kyc.document_sent", "The document is sent: it waits for review.")
PORT_IN_CREATED = notice("port_in.created", "The port-in request is created as a draft.")

# What each route kind is called on the page (the kinds are routing.KINDS).
KIND_LABELS: dict[str, str] = {
    "greeting": "Greeting",
    "user": "A user's devices",
    "group": "A ring group",
    "forward": "Forward to a number",
    "voicemail": "Voicemail",
    "agent": "An AI agent",
}

NOTICE_TEXTS: dict[str, str] = {
    "revoke_unpaid": "Deactivated for non-payment: revoked on {at} unless paid",
    "reclaim_idle": "No traffic for 3 months: reclaimed on {at} unless used",
    "quarantine": "The account is closed: the number goes to quarantine for 6 months",
}


@dataclass(frozen=True, slots=True)
class Targets:
    """The account's endpoints a route may lead to, by id: the names shown for them."""

    users: dict[str, str]
    groups: dict[str, str]
    agents: dict[str, str]

    def label(self, kind: str, target: str | None) -> str:
        """The route's target as a person reads it (the name, else the raw value)."""
        if target is None:
            return ""
        names = {"user": self.users, "voicemail": self.users, "group": self.groups}
        return names.get(kind, self.agents if kind == "agent" else {}).get(target, target)


def _targets(session: SessionDep, account_id: str) -> Targets:
    return Targets(
        users={u.id: u.name for u in users.list_users(session, account_id)},
        groups={g.id: g.name for g in routing.list_ring_groups(session, account_id)},
        agents={p.id: p.name for p in profiles.list_profiles(session, account_id)},
    )


def _state(row: PhoneNumber) -> str:
    """N6: deactivated numbers take no calls; N3: nor do those awaiting documents."""
    if row.deactivated_at is not None:
        return "deactivated"
    if row.activated_at is None:
        return "awaiting documents"
    return "active"


def _notices(viewer: Viewer, row: PhoneNumber) -> list[str]:
    return [
        viewer.t(NOTICE_TEXTS[n.action], at=_day(n.at)) + f" ({n.rule})"
        for n in lifecycle.notices(row, viewer.account)
    ]


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment is not None else ""


def _missing(decision: Decision) -> str:
    return "" if decision.allowed else f"{decision.message} ({decision.rule or decision.code})"


@router.get("/numbers", response_class=HTMLResponse)
def number_list(
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("numbers.read")],
) -> HTMLResponse:
    """The account's numbers with their state, route, documents and notices; the
    identity documents (N3), port-ins (N4) and port-outs (N5)."""
    account = viewer.account
    targets = _targets(session, account.id)
    status = kyc.status(session, account) if viewer.can("account.read") else None
    waiting = dict(status.waiting) if status is not None else {}
    rows = [
        {
            "row": row,
            "state": _state(row),
            "route": targets.label(row.route_kind, row.route_target),
            "kind_label": KIND_LABELS.get(row.route_kind, row.route_kind),
            "missing": _missing(waiting[row.number]) if row.number in waiting else "",
            "notices": _notices(viewer, row),
        }
        for row in numbers.list_numbers(session, account.id)
    ]
    context: dict[str, Any] = {
        "title": viewer.t("Numbers"),
        "rows": rows,
        "kyc": status,
        "kyc_kinds": kyc.KINDS,
        "port_ins": [
            (row, ", ".join(json.loads(row.numbers)))
            for row in porting.list_requests(session, account.id)
        ],
        "port_outs": (porting.port_outs(session, account.id) if viewer.can("audit.read") else None),
    }
    return page(request, viewer, "numbers.html", context)


@router.get("/numbers/{number_id}", response_class=HTMLResponse)
def number_detail(
    number_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("numbers.read")],
) -> HTMLResponse:
    """One number: its facts, its route (and the form to change it), its greeting."""
    row = numbers.number_by_id(session, viewer.account.id, number_id)
    targets = _targets(session, viewer.account.id)
    context: dict[str, Any] = {
        "title": row.number,
        "number": row,
        "state": _state(row),
        "notices": _notices(viewer, row),
        "kinds": routing.KINDS,
        "kind_labels": KIND_LABELS,
        "route_label": targets.label(row.route_kind, row.route_target),
        "targets": targets,
        "default_ring": settings.no_answer_seconds,
        "min_ring": routing.MIN_RING_SECONDS,
        "max_ring": routing.MAX_RING_SECONDS,
    }
    return page(request, viewer, "number.html", context)


def _seconds(form: FormData, name: str) -> int | None:
    value = optional(form, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise DialtoneError("route.invalid", f"{name}: a whole number of seconds.") from None


@router.post("/numbers/{number_id}/route")
def save_route(
    number_id: str,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("numbers.write")],
    form: FormDep,
) -> Response:
    """Route calls to the number, as ``PUT /v1/numbers/{number}/route`` does (N10, V5)."""
    row = numbers.number_by_id(session, viewer.account.id, number_id)
    kind = text(form, "kind")
    routing.set_route(
        session,
        viewer.account.id,
        row.number,
        kind=kind,
        target=None if kind == "greeting" else optional(form, "target"),
        no_answer_seconds=_seconds(form, "no_answer_seconds"),
        voicemail_user_id=None if kind == "voicemail" else optional(form, "voicemail_user_id"),
        operator_destinations=settings.destinations,
    )
    return back_to(f"/console/numbers/{row.id}", ROUTE_SAVED)


async def _upload(form: FormData, name: str, limit: int) -> bytes:
    """An uploaded file's bytes (``request.invalid`` without one, 413 above ``limit``)."""
    sent = form.get(name)
    if not isinstance(sent, UploadFile):
        raise DialtoneError("request.invalid", "Choose a file to send.")
    data = await sent.read(limit + 1)
    if len(data) > limit:
        raise DialtoneError("http.too_large", "The file is too large.", status=413)
    return data


@router.post("/numbers/{number_id}/greeting")
async def upload_greeting(
    number_id: str,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("numbers.write")],
    form: FormDep,
) -> Response:
    """A new greeting (a PCM WAV file), as ``PUT /v1/numbers/{number}/greeting``."""
    data = await _upload(form, "greeting", MAX_GREETING_BYTES)
    row = numbers.number_by_id(session, viewer.account.id, number_id)
    row.greeting = store_greeting(settings.greetings_dir, row.id, data)
    return back_to(f"/console/numbers/{row.id}", GREETING_SAVED)


@router.post("/numbers/{number_id}/greeting/reset")
def reset_greeting(
    number_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("numbers.write")],
    form: FormDep,
) -> Response:
    """Back to the built-in greeting."""
    row = numbers.number_by_id(session, viewer.account.id, number_id)
    numbers.set_greeting(session, viewer.account.id, row.number, None)
    return back_to(f"/console/numbers/{row.id}", GREETING_RESET)


@router.post("/numbers/documents")
async def upload_document(
    session: SessionDep,
    settings: SettingsDep,
    key: RecordingKeyDep,
    viewer: Annotated[Viewer, needs("account.write")],
    form: FormDep,
) -> Response:
    """An identity document (N3), as ``PUT /v1/kyc/documents/{kind}``: stored sealed,
    then reviewed by the operator."""
    data = await _upload(form, "document", kyc.MAX_DOCUMENT_BYTES)
    kyc.upload(
        session,
        viewer.account.id,
        text(form, "kind"),
        data,
        country=optional(form, "country"),
        now=datetime.now(UTC),
        documents_dir=settings.data_dir / "documents",
        key=key,
    )
    return back_to("/console/numbers", DOCUMENT_SENT)


@router.post("/numbers/port-ins")
def create_port_in(
    session: SessionDep,
    viewer: Annotated[Viewer, needs("numbers.write")],
    form: FormDep,
) -> Response:
    """A draft port-in (N4), as ``POST /v1/port-ins``: one number a line."""
    wanted = [line.strip() for line in text(form, "numbers").splitlines() if line.strip()]
    porting.create(session, viewer.account.id, wanted, now=datetime.now(UTC))
    return back_to("/console/numbers", PORT_IN_CREATED)
