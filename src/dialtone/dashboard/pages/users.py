"""Users and devices: the account's directory (TERMS D1 roles), the devices registered
now, and for an administrator the forms that add, change and remove users, reset their
SIP credentials and invite them to the console. A user reaches its own emergency
location (V7) and voicemail greeting (users.self_service).

Every write calls the service the ``/v1/users`` routes call, with the same permission.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.deps import SessionDep, SettingsDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard.forms import FormDep, flag, optional, text
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, ViewerDep, needs
from dialtone.policy import permissions
from dialtone.policy.emergency import MISROUTING_WARNING
from dialtone.policy.permissions import ROLES
from dialtone.services.accounts import console_access
from dialtone.services.telephony import registrations, users
from dialtone.store.models import Registration, User

router = APIRouter(prefix="/console", include_in_schema=False)

CREATED = notice("user.created", "The user was added.")
CHANGED = notice("user.changed", "The user was changed.")
DELETED = notice("user.deleted", "The user was removed.")
LOCATED = notice("user.location_set", "The emergency location was registered.")
UNLOCATED = notice("user.location_cleared", "The emergency location was removed.")
GREETING = notice("user.greeting_default", "The voicemail greeting is the built-in one again.")

# 16 random bytes as URL-safe text: 22 characters, typed into a phone once.
_SIP_PASSWORD_BYTES = 16


def _devices(session: SessionDep, viewer: Viewer, user_id: str | None) -> list[Registration]:
    """The live registrations the viewer may see (its own only for a user, D1), of one
    user when ``user_id`` is given; none when the role has no registrations.read."""
    if not viewer.can("registrations.read"):
        return []
    caller = viewer.check("registrations.read")
    return registrations.list_registrations(
        session,
        viewer.account.id,
        now=datetime.now(UTC),
        user_id=caller.narrow("registrations.read", user_id),
    )


@router.get("/users", response_class=HTMLResponse)
def user_list(
    request: Request, session: SessionDep, viewer: Annotated[Viewer, needs("users.read")]
) -> HTMLResponse:
    """The directory: role, extension, email, console access, devices registered now."""
    caller = viewer.check("users.read")
    only = caller.narrow("users.read")
    rows = [u for u in users.list_users(session, viewer.account.id) if only is None or u.id == only]
    devices: dict[str, int] = {}
    for registration in _devices(session, viewer, None):
        devices[registration.user_id] = devices.get(registration.user_id, 0) + 1
    context: dict[str, Any] = {
        "title": viewer.t("Users and devices"),
        "rows": rows,
        "devices": devices,
        "sees_devices": viewer.can("registrations.read"),
        "invited": console_access.invited_users(
            session, [u.id for u in rows], now=datetime.now(UTC)
        ),
        "can_write": viewer.can("users.write"),
        "roles": ROLES,
    }
    return page(request, viewer, "users.html", context)


@router.post("/users")
def create_user(
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("users.write")],
    form: FormDep,
) -> Response:
    """Add a user (as ``POST /v1/users``)."""
    row = users.create_user(
        session,
        viewer.account.id,
        name=text(form, "name"),
        now=datetime.now(UTC),
        role=text(form, "role", "user"),
        email=optional(form, "email"),
        extension=optional(form, "extension"),
        realm=settings.sip_realm,
    )
    return back_to(f"/console/users/{row.id}", CREATED)


def _subject(
    session: SessionDep, viewer: Viewer, user_id: str, permission: str, method: str = "GET"
) -> User:
    """The account's user ``user_id``, once the viewer may use ``permission`` on them (a
    role reaching its own records only: on itself alone, D1) in the account's standing."""
    viewer.check(permission, method).check(permission, user_id)
    return users.get_user(session, viewer.account.id, user_id)


def _reaches(viewer: Viewer, permission: str, user_id: str) -> bool:
    """Whether the viewer's role may use ``permission`` on the user ``user_id`` (to show
    a form or a list: the handlers check again)."""
    caller = viewer.caller
    if caller is None:
        return False
    return not permissions.authorize(
        caller.role, permission, acting_user_id=caller.user_id, subject_user_id=user_id
    ).refused


def _detail(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    row: User,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    sees_devices = _reaches(viewer, "registrations.read", row.id)
    context: dict[str, Any] = {
        "title": row.name,
        "user": row,
        "channels": users.channels_for(session, row),
        "sip_password_set": row.ha1_md5 is not None or row.ha1_sha256 is not None,
        "has_password": row.password_hash is not None,
        "invited": bool(console_access.invited_users(session, [row.id], now=datetime.now(UTC))),
        "devices": _devices(session, viewer, row.id) if sees_devices else [],
        "sees_devices": sees_devices,
        "can_write": viewer.can("users.write"),
        "self_service": _reaches(viewer, "users.self_service", row.id),
        "warning": MISROUTING_WARNING,
        "roles": ROLES,
        "sip_password": None,
        "invitation": None,
    }
    if extra:
        context.update(extra)
    return page(request, viewer, "user.html", context)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_detail(
    user_id: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("users.read")],
) -> HTMLResponse:
    """One user: details, devices, and the forms the viewer's role may use."""
    return _detail(request, session, viewer, _subject(session, viewer, user_id, "users.read"))


@router.post("/users/{user_id}")
def update_user(
    user_id: str,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("users.write")],
    form: FormDep,
) -> Response:
    """Change name, email, role and extension (as ``PATCH /v1/users/{id}``)."""
    users.update_user(
        session,
        viewer.account.id,
        user_id,
        name=text(form, "name"),
        email=optional(form, "email"),
        role=text(form, "role"),
        extension=optional(form, "extension"),
    )
    return back_to(f"/console/users/{user_id}", CHANGED)


@router.post("/users/{user_id}/sip-credentials", response_class=HTMLResponse)
def reset_sip_credentials(
    user_id: str,
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("users.write")],
    form: FormDep,
) -> HTMLResponse:
    """A new random SIP password (and the username given, for a user who has none), set
    as ``PATCH /v1/users/{id}`` sets one; shown on this answer only, never stored."""
    row = users.get_user(session, viewer.account.id, user_id)
    username = optional(form, "sip_username") or row.sip_username
    if username is None:
        raise DialtoneError("user.invalid", "Give the user a SIP username first.")
    password = secrets.token_urlsafe(_SIP_PASSWORD_BYTES)
    row = users.update_user(
        session,
        viewer.account.id,
        user_id,
        sip_username=username,
        sip_password=password,
        realm=settings.sip_realm,
    )
    return _detail(request, session, viewer, row, {"sip_password": password})


@router.post("/users/{user_id}/invitation", response_class=HTMLResponse)
def invite(
    user_id: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("users.write")],
    form: FormDep,
) -> HTMLResponse:
    """An invitation link to the console (valid three days, once), shown this once."""
    token = console_access.invite(session, viewer.account.id, user_id, now=datetime.now(UTC))
    row = users.get_user(session, viewer.account.id, user_id)
    link = f"{request.base_url}console/invitation/{token}"
    return _detail(request, session, viewer, row, {"invitation": link})


@router.post("/users/{user_id}/delete")
def delete_user(
    user_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("users.write")],
    form: FormDep,
) -> Response:
    """Remove a user (as ``DELETE /v1/users/{id}``: numbers stay the account's, N9)."""
    users.delete_user(session, viewer.account.id, user_id)
    return back_to("/console/users", DELETED)


@router.post("/users/{user_id}/emergency-location")
def set_emergency_location(
    user_id: str,
    session: SessionDep,
    request: Request,
    viewer: ViewerDep,
    form: FormDep,
) -> Response:
    """Register the user's emergency location with the acknowledged warning (TERMS V7)."""
    _subject(session, viewer, user_id, "users.self_service", request.method)
    users.set_emergency_location(
        session,
        viewer.account.id,
        user_id,
        address=text(form, "address"),
        country=text(form, "country"),
        warning_acknowledged=flag(form, "acknowledge"),
        now=datetime.now(UTC),
    )
    return back_to(f"/console/users/{user_id}", LOCATED)


@router.post("/users/{user_id}/emergency-location/delete")
def clear_emergency_location(
    user_id: str, request: Request, session: SessionDep, viewer: ViewerDep, form: FormDep
) -> Response:
    """Forget the location: the user's emergency calls are refused until one is set (V7)."""
    _subject(session, viewer, user_id, "users.self_service", request.method)
    users.clear_emergency_location(session, viewer.account.id, user_id)
    return back_to(f"/console/users/{user_id}", UNLOCATED)


@router.post("/users/{user_id}/voicemail-greeting/delete")
def default_greeting(
    user_id: str, request: Request, session: SessionDep, viewer: ViewerDep, form: FormDep
) -> Response:
    """Back to the built-in voicemail greeting."""
    _subject(session, viewer, user_id, "users.self_service", request.method)
    users.update_user(session, viewer.account.id, user_id, voicemail_greeting=None)
    return back_to(f"/console/users/{user_id}", GREETING)
