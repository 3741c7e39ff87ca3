"""Trunks: the account's own carrier trunks with their registration state as the SIP
runtime last saw it; added, changed and removed through the services ``/v1/trunks``
calls. The password is write-only, as in the API: sealed at rest, never shown (the page
says whether one is set)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from dialtone.api.deps import RecordingKeyDep, SessionDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard.forms import FormDep, flag, optional, text
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.telephony import trunks

router = APIRouter(prefix="/console", include_in_schema=False)

ADDED = notice("trunk.added", "The trunk is added.")
CHANGED = notice("trunk.changed", "The trunk is changed.")
REMOVED = notice("trunk.removed", "The trunk is removed.")


def _whole(form: FormData, name: str, default: int) -> int:
    value = text(form, name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise DialtoneError("trunk.invalid", f"{name}: a whole number.") from None


def _fields(form: FormData) -> dict[str, Any]:
    """The form as the service's keyword arguments, every field but the password."""
    registrar_port = optional(form, "registrar_port")
    return {
        "name": text(form, "name"),
        "host": text(form, "host"),
        "port": _whole(form, "port", 5060),
        "transport": text(form, "transport", "udp"),
        "username": optional(form, "username"),
        "caller_id_format": text(form, "caller_id_format", "e164"),
        "priority": _whole(form, "priority", 100),
        "enabled": flag(form, "enabled"),
        "register": flag(form, "register"),
        "register_expires": _whole(form, "register_expires", 3600),
        "registrar_host": optional(form, "registrar_host"),
        "registrar_port": _whole(form, "registrar_port", 0) if registrar_port else None,
        "auth_username": optional(form, "auth_username"),
    }


@router.get("/trunks", response_class=HTMLResponse)
def trunk_list(
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("trunks.read")],
) -> HTMLResponse:
    """The account's trunks by priority, their registration; forms to add and change."""
    context: dict[str, Any] = {
        "title": viewer.t("Trunks"),
        "trunks": trunks.list_trunks(session, viewer.account.id),
        "transports": trunks.TRANSPORTS,
        "formats": trunks.CALLER_ID_FORMATS,
    }
    return page(request, viewer, "trunks.html", context)


@router.post("/trunks")
def add_trunk(
    session: SessionDep,
    key: RecordingKeyDep,
    viewer: Annotated[Viewer, needs("trunks.write")],
    form: FormDep,
) -> Response:
    """Add a trunk (as ``POST /v1/trunks``; 400 ``trunk.invalid``)."""
    trunks.create_trunk(
        session,
        account_id=viewer.account.id,
        now=datetime.now(UTC),
        key=key,
        password=optional(form, "password"),
        **_fields(form),
    )
    return back_to("/console/trunks", ADDED)


@router.post("/trunks/{trunk_id}")
def change_trunk(
    trunk_id: str,
    session: SessionDep,
    key: RecordingKeyDep,
    viewer: Annotated[Viewer, needs("trunks.write")],
    form: FormDep,
) -> Response:
    """Change a trunk (as ``PATCH /v1/trunks/{id}``): an empty password keeps the one
    set, "clear the password" removes it."""
    changes = _fields(form)
    password = optional(form, "password")
    if password is not None:
        changes["password"] = password
    elif flag(form, "clear_password"):
        changes["password"] = None
    trunks.update_trunk(session, viewer.account.id, trunk_id, key=key, **changes)
    return back_to("/console/trunks", CHANGED)


@router.post("/trunks/{trunk_id}/delete")
def remove_trunk(
    trunk_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("trunks.write")],
    form: FormDep,
) -> Response:
    """Remove a trunk (as ``DELETE /v1/trunks/{id}``; past calls keep its id, V11)."""
    trunks.delete_trunk(session, viewer.account.id, trunk_id)
    return back_to("/console/trunks", REMOVED)
