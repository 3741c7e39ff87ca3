"""Settings: the account's recording policy (TERMS V8), its opt-out of the operator's AI
quality monitoring (A8), its postal address (M9) and SMS webhook, its API keys (D1, D2);
and, for whoever signed in, their console language and password.

Every change goes through the service the API's ``PATCH /v1/account`` and
``/v1/api-keys`` call, with the same permission (``account.write``,
``api_keys.manage``). An API key is shown once, on the page the form that issued or
rotated it answers with, never in a link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.deps import SessionDep, SettingsDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard.forms import FormDep, flag, optional, text
from dialtone.dashboard.pages.sign_in import set_session_cookie
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import LANGUAGE_COOKIE, Viewer, ViewerDep, needs
from dialtone.policy.permissions import ADMINISTRATOR
from dialtone.services.accounts import accounts, api_keys, console_access, webhook_targets
from dialtone.services.telephony import users
from dialtone.store.models import ApiKey

router = APIRouter(prefix="/console", include_in_schema=False)

RECORDING_SAVED = notice("settings.recording", "The recording policy is saved.")
MONITORING_SAVED = notice("settings.monitoring", "Your choice on AI quality monitoring is saved.")
ADDRESS_SAVED = notice("settings.address", "The postal address is saved.")
WEBHOOK_SAVED = notice("settings.webhook", "The SMS webhook is saved.")
KEY_REVOKED = notice("settings.key_revoked", "The API key is revoked.")
LANGUAGE_SAVED = notice("settings.language", "Your console language is saved.")
PASSWORD_SAVED = notice(
    "settings.password", "Your password is changed; your other sessions are signed out."
)


# What the forms and lists say of a recording policy (V8) and of a key's state (D2).
POLICY_LABELS: dict[str, str] = {
    "off": "Off: calls are not recorded",
    "notice": "After a notice to every party, both legs recorded",
    "one_party": "Without the notice where one party's consent is enough, after it elsewhere",
}
KEY_STATES: dict[str, str] = {
    "active": "Active",
    "retiring": "Rotated, works",
    "expired": "Expired",
    "revoked": "Revoked",
}


def key_state(row: ApiKey, now: datetime) -> str:
    """What a key is now: ``revoked``, ``expired`` (its rotation notice ended, D2),
    ``retiring`` (rotated, works until ``expires_at``) or ``active``."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None:
        return "expired" if row.expires_at <= now else "retiring"
    return "active"


@router.get("/settings", response_class=HTMLResponse)
def settings_page(
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("account.read")],
) -> HTMLResponse:
    """The account's settings; the forms that change them for a role that may."""
    account = viewer.account
    now = datetime.now(UTC)
    keys: list[dict[str, Any]] = []
    people: list[Any] = []
    if viewer.can("api_keys.manage"):
        people = users.list_users(session, account.id)
        keys = [
            {
                "row": row,
                "state": key_state(row, now),
                "user": row.user.name if row.user is not None else None,
                "role": row.user.role if row.user is not None else ADMINISTRATOR,
            }
            for row in api_keys.list_keys(session, account.id)
        ]
    context: dict[str, Any] = {
        "title": viewer.t("Settings"),
        "account": account,
        "policies": accounts.RECORDING_POLICIES,
        "policy_labels": POLICY_LABELS,
        "key_states": KEY_STATES,
        "may_write": viewer.can("account.write"),
        "keys": keys,
        "people": people,
    }
    return page(request, viewer, "settings.html", context)


@router.post("/settings/recording")
def set_recording_policy(
    session: SessionDep, viewer: Annotated[Viewer, needs("account.write")], form: FormDep
) -> Response:
    """The recording policy (TERMS V8), as ``PATCH /v1/account`` sets it."""
    accounts.set_call_options(
        session, viewer.account.id, recording_policy=text(form, "recording_policy")
    )
    return back_to("/console/settings", RECORDING_SAVED)


@router.post("/settings/ai-monitoring")
def set_ai_monitoring(
    session: SessionDep, viewer: Annotated[Viewer, needs("account.write")], form: FormDep
) -> Response:
    """The customer's opt-out of the operator's AI quality monitoring (TERMS A8): theirs
    to make, so an operator acting in the account may not change it."""
    if viewer.operator is not None:
        raise DialtoneError(
            "ai_monitoring.opted_out",
            "The opt-out of AI quality monitoring is the customer's own choice: an operator "
            "cannot change it.",
            rule="A8",
            status=403,
        )
    accounts.set_ai_quality_monitoring(session, viewer.account.id, not flag(form, "opt_out"))
    return back_to("/console/settings", MONITORING_SAVED)


@router.post("/settings/postal-address")
def set_postal_address(
    session: SessionDep, viewer: Annotated[Viewer, needs("account.write")], form: FormDep
) -> Response:
    """The postal address every marketing email carries (TERMS M9); empty removes it."""
    accounts.set_postal_address(session, viewer.account.id, optional(form, "postal_address"))
    return back_to("/console/settings", ADDRESS_SAVED)


@router.post("/settings/sms-webhook")
def set_sms_webhook(
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("account.write")],
    form: FormDep,
) -> Response:
    """Where inbound SMS are POSTed, past the SSRF guard; empty removes it."""
    accounts.set_sms_webhook(
        session,
        viewer.account.id,
        optional(form, "sms_webhook_url"),
        target_policy=settings.webhook_target_policy,
        resolve=webhook_targets.resolve_blocking,
    )
    return back_to("/console/settings", WEBHOOK_SAVED)


def _issued_page(
    request: Request, viewer: Viewer, issued: api_keys.IssuedKey, replaced: ApiKey | None
) -> HTMLResponse:
    context: dict[str, Any] = {
        "title": viewer.t("Your new API key"),
        "issued": issued.row,
        "key": issued.key,
        "replaced": replaced,
    }
    return page(request, viewer, "settings_key.html", context, status=201)


@router.post("/settings/api-keys", response_class=HTMLResponse)
def issue_key(
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("api_keys.manage")],
    form: FormDep,
) -> HTMLResponse:
    """Issue a key for the account (acting as its administrator) or one of its users
    (acting with their role, TERMS D1); shown this once."""
    issued = api_keys.issue(
        session,
        viewer.account.id,
        now=datetime.now(UTC),
        name=text(form, "name", "default") or "default",
        user_id=optional(form, "user_id"),
    )
    return _issued_page(request, viewer, issued, None)


@router.post("/settings/api-keys/{key_id}/rotate", response_class=HTMLResponse)
def rotate_key(
    key_id: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("api_keys.manage")],
    form: FormDep,
) -> HTMLResponse:
    """Replace a key (TERMS D2): the old one stops now (suspected compromise) or after
    one business day; recorded on the audit log under the viewer's name."""
    caller = viewer.check("api_keys.manage", request.method)
    issued = api_keys.rotate(
        session,
        viewer.account.id,
        key_id,
        now=datetime.now(UTC),
        immediately=flag(form, "immediately"),
        actor=caller.credential.actor,
    )
    return _issued_page(
        request, viewer, issued, api_keys.get_key(session, viewer.account.id, key_id)
    )


@router.post("/settings/api-keys/{key_id}/revoke")
def revoke_key(
    key_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("api_keys.manage")],
    form: FormDep,
) -> Response:
    """Stop a key at once (it stays listed, revoked)."""
    api_keys.revoke(session, viewer.account.id, key_id, now=datetime.now(UTC))
    return back_to("/console/settings", KEY_REVOKED)


# -- the viewer's own ---------------------------------------------------------------------------


@router.get("/settings/me", response_class=HTMLResponse)
def my_settings(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """The signed-in person's console language and password (any role: they are theirs)."""
    context: dict[str, Any] = {
        "title": viewer.t("Your sign-in"),
        "preferred": viewer.user.language if viewer.user is not None else None,
        "min_password": console_access.MIN_PASSWORD,
    }
    return page(request, viewer, "settings_me.html", context)


def _own_user(viewer: Viewer) -> tuple[str, str]:
    """The account and id of the signed-in user (an operator has neither)."""
    if viewer.user is None:
        raise DialtoneError(
            "console.invalid",
            "An operator's language is the header's choice; it is not saved here.",
        )
    return viewer.user.account_id, viewer.user.id


@router.post("/settings/me/language")
def set_my_language(session: SessionDep, viewer: ViewerDep, form: FormDep) -> Response:
    """The console's language for the signed-in user (empty: the browser's)."""
    account_id, user_id = _own_user(viewer)
    language = optional(form, "language")
    console_access.set_language(session, account_id, user_id, language)
    response = back_to("/console/settings/me", LANGUAGE_SAVED)
    # The header's switch (a cookie) comes before the saved choice: this browser follows
    # the choice just saved.
    if language is None:
        response.delete_cookie(LANGUAGE_COOKIE, path="/")
    else:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax", path="/"
        )
    return response


@router.post("/settings/me/password")
def change_my_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    form: FormDep,
) -> Response:
    """Change the signed-in person's password (a user's or an operator's), the current one
    given first (TERMS D2): every other session of theirs ends; this browser goes on with
    a new one."""
    new = form.get("new_password")
    if not isinstance(new, str) or new != form.get("repeat_password"):
        raise DialtoneError("console.invalid", "The two passwords differ.")
    current = form.get("current_password")
    said = current if isinstance(current, str) else ""
    now, ttl = datetime.now(UTC), timedelta(hours=settings.console_session_hours)
    if viewer.operator is not None:
        signed_in = console_access.change_operator_password(
            session,
            viewer.operator.id,
            said,
            new,
            now=now,
            ttl=ttl,
            account_id=viewer.row.account_id,
        )
    else:
        account_id, user_id = _own_user(viewer)
        signed_in = console_access.change_password(
            session, account_id, user_id, said, new, now=now, ttl=ttl
        )
    response = back_to("/console/settings/me", PASSWORD_SAVED)
    set_session_cookie(response, request, settings, signed_in.token)
    return response
