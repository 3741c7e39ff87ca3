"""Settings of the Twilio-compatible API (issue 16): the Account SID and base URL a
Twilio client is given, the auth token (shown on demand, rotated under TERMS D2), and
each number's Voice URL, SMS URL and status callback.

Every write goes through what the API and the CLI call, with the API's permission:
the token through ``auth_tokens.rotate`` (``api_keys.manage``, as
``POST /v1/account/auth-token/rotate``), the numbers through ``number_settings.apply``
(``numbers.write``, as ``POST …/IncomingPhoneNumbers/{Sid}.json``, with its SSRF guard).
A token is shown only on the page a POST answers with: never in a link, never cached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.deps import SessionDep, SettingsDep
from dialtone.dashboard.forms import FormDep, flag, text
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.numbering import numbers
from dialtone.services.twilio import auth_tokens, number_settings

router = APIRouter(prefix="/console", include_in_schema=False)

HOME = "/console/settings/twilio"
API_VERSION_PATH = "/2010-04-01"
NUMBER_SAVED = notice("twilio.number_saved", "The number's Twilio settings are saved.")

# The console's form fields → the Twilio API's parameters: one set of checks for both.
NUMBER_FIELDS: dict[str, str] = {
    "voice_url": "VoiceUrl",
    "voice_method": "VoiceMethod",
    "sms_url": "SmsUrl",
    "status_callback": "StatusCallback",
}


def _context(viewer: Viewer, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    account = viewer.account
    return {
        "title": viewer.t("Twilio-compatible API"),
        "account_sid": account.id,
        "base_url": settings.public_http_url + API_VERSION_PATH,
        "may_manage_token": viewer.can("api_keys.manage"),
        "may_write_numbers": viewer.can("numbers.write"),
        "numbers": numbers.list_numbers(session, account.id),
        "methods": ("POST", "GET"),
        "token": None,
        "rotated": None,
    }


@router.get("/settings/twilio", response_class=HTMLResponse)
def twilio_settings(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("account.read")],
) -> HTMLResponse:
    """The Account SID, the base URL, the token's forms and each number's URLs."""
    return page(request, viewer, "twilio.html", _context(viewer, session, settings))


@router.post("/settings/twilio/token", response_class=HTMLResponse)
def show_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("api_keys.manage")],
    form: FormDep,
) -> HTMLResponse:
    """The account's auth token now (TERMS D2: a credential, so only to whoever may
    rotate it), on this answer alone."""
    context = _context(viewer, session, settings)
    context["token"] = auth_tokens.current_token(settings.sealing_key(), viewer.account)
    context["shown"] = True
    return page(request, viewer, "twilio.html", context)


@router.post("/settings/twilio/token/rotate", response_class=HTMLResponse)
def rotate_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("api_keys.manage")],
    form: FormDep,
) -> HTMLResponse:
    """Replace the auth token (TERMS D2) as ``dialtone accounts auth-token rotate``
    does: the old one works for the notice, or stops now (``immediately``); the new one
    is shown this once. Recorded on the audit log under the viewer's name."""
    caller = viewer.check("api_keys.manage", request.method)
    rotated = auth_tokens.rotate(
        session,
        viewer.account.id,
        settings.sealing_key(),
        datetime.now(UTC),
        immediately=flag(form, "immediately"),
        notice_business_days=settings.key_rotation_notice_business_days,
        actor=caller.credential.actor,
    )
    context = _context(viewer, session, settings)
    context["token"] = rotated.token
    context["rotated"] = rotated
    return page(request, viewer, "twilio.html", context, status=201)


@router.post("/settings/twilio/numbers/{number_id}")
def set_number_urls(
    number_id: str,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("numbers.write")],
    form: FormDep,
) -> Response:
    """The number's Voice URL and method, SMS URL and status callback, through the
    checks of the Twilio API's update (an empty URL clears it)."""
    row = numbers.number_by_id(session, viewer.account.id, number_id)
    given = {twilio: text(form, f) for f, twilio in NUMBER_FIELDS.items() if f in form}
    number_settings.apply(row, number_settings.Fields(given), settings.webhook_target_policy)
    session.flush()
    return back_to(HOME, NUMBER_SAVED)
