"""Signing in and out, invitation links, the language: the console's only pages without a
session.

Failed sign-ins are counted per email and per client address (TERMS D2: unauthorised
use is stopped): past ``console_sign_in_failures_allowed`` within the window (four times
as many for an address, which an office shares), sign-in is refused with 429
``console.sign_in_limited`` until the block ends, right password or not.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dialtone.api.deps import SessionDep, SettingsDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard import i18n
from dialtone.dashboard.forms import SIGN_IN_COOKIE, FormDep, check_origin, check_token
from dialtone.dashboard.render import back_to, bare_page
from dialtone.dashboard.viewer import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    ViewerDep,
    browser_language,
    load_viewer,
)
from dialtone.services.accounts import console_access
from dialtone.settings import Settings
from dialtone.sip.auth_limiter import FailureLimiter

log = logging.getLogger(__name__)

router = APIRouter(prefix="/console", include_in_schema=False)


class _Counter(Protocol):
    def blocked(self, key: str, now: float) -> bool: ...
    def record_failure(self, key: str, now: float, *, username: str = "") -> bool: ...
    def record_success(self, key: str, now: float, *, username: str = "") -> None: ...


# (scope, allowed, window, block) -> a counter: ``serve`` puts the shared state's at
# ``app.state.failure_counters`` so that every worker counts the same sign-ins (issue 19).
CounterFactory = Callable[[str, int, float, float], _Counter]


class SignInLimits:
    """The failed sign-ins per email and per client address: of this process, or of
    every worker when ``counters`` comes from the shared state."""

    def __init__(self, settings: Settings, counters: CounterFactory | None = None) -> None:
        allowed = settings.console_sign_in_failures_allowed
        window = settings.console_sign_in_window_seconds
        block = settings.console_sign_in_block_seconds
        self._lock = threading.Lock()  # handlers run on worker threads
        self._emails: _Counter
        self._addresses: _Counter
        if counters is None:
            self._emails = FailureLimiter(allowed=allowed, window=window, block=block)
            self._addresses = FailureLimiter(allowed=allowed * 4, window=window, block=block)
        else:
            self._emails = counters("console-email", allowed, window, block)
            self._addresses = counters("console-address", allowed * 4, window, block)

    def blocked(self, email: str, address: str) -> bool:
        # Wall-clock time: the counters may be shared with other machines' workers.
        now = time.time()
        with self._lock:
            return self._emails.blocked(email, now) or self._addresses.blocked(address, now)

    def failed(self, email: str, address: str) -> bool:
        """Count a failure; True when it starts a block."""
        now = time.time()
        with self._lock:
            by_email = self._emails.record_failure(email, now, username=email)
            by_address = self._addresses.record_failure(address, now, username=email)
            return by_email or by_address

    def succeeded(self, email: str, address: str) -> None:
        now = time.time()
        with self._lock:
            self._emails.record_success(email, now, username=email)
            self._addresses.record_success(address, now, username=email)


def limits(request: Request) -> SignInLimits:
    found: SignInLimits | None = getattr(request.app.state, "sign_in_limits", None)
    if found is None:
        found = request.app.state.sign_in_limits = SignInLimits(
            request.app.state.settings, getattr(request.app.state, "failure_counters", None)
        )
    return found


LimitsDep = Annotated[SignInLimits, Depends(limits)]


def secure_cookies(request: Request, settings: Settings) -> bool:
    """Whether cookies get the Secure flag (behind HTTPS, or when set to always)."""
    if settings.console_secure_cookies != "auto":
        return settings.console_secure_cookies == "always"
    forwarded = request.headers.get("x-forwarded-proto", "")
    return (
        request.url.scheme == "https"
        or forwarded == "https"
        or settings.public_http_url.startswith("https:")
    )


def _check_pre_session_form(request: Request, csrf: str) -> None:
    """A form posted before any session: from this site, with the double-submit token of
    its cookie."""
    check_origin(request)
    check_token(csrf, request.cookies.get(SIGN_IN_COOKIE, ""))


def _safe_next(target: str | None) -> str:
    # Only a path of the console: never an open redirect to another site.
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console/"


def _sign_in_form(
    request: Request, settings: Settings, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response = bare_page(
        request,
        "sign_in.html",
        browser_language(request),
        {
            "form_token": token,
            "next": _safe_next(request.query_params.get("next")),
            "error": error,
        },
        status=status,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, settings),
        path="/console",
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The sign-in form (the overview when already signed in)."""
    if load_viewer(request, session) is not None:
        return RedirectResponse("/console/", status_code=303)
    return _sign_in_form(request, settings)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    *,
    session: SessionDep,
    settings: SettingsDep,
    sign_in_limits: LimitsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    """Sign in with email and password: a session cookie, then the page asked for."""
    _check_pre_session_form(request, csrf)
    address = console_access.normalise_email(email)
    client = request.client.host if request.client else "unknown"
    t = i18n.translator(browser_language(request))
    if sign_in_limits.blocked(address, client):
        error = DialtoneError(
            "console.sign_in_limited",
            "Too many failed sign-ins: wait a few minutes, then try again.",
            rule="D2",
            status=429,
        )
        return _sign_in_form(request, settings, error=t(error.message), status=429)
    now = datetime.now(UTC)
    try:
        signed_in = console_access.sign_in(
            session,
            address,
            password,
            now=now,
            ttl=timedelta(hours=settings.console_session_hours),
        )
    except DialtoneError as exc:
        if sign_in_limits.failed(address, client):
            log.warning("console: sign-in blocked for %s from %s (D2)", address, client)
        return _sign_in_form(request, settings, error=t(exc.message), status=exc.status)
    sign_in_limits.succeeded(address, client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, request, settings, signed_in.token)
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


def set_session_cookie(
    response: Response, request: Request, settings: Settings, token: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.console_session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings),
        path="/",
    )


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, viewer: ViewerDep, form: FormDep) -> Response:
    """End this session (the cookie and the row)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    console_access.sign_out(session, token)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/invitation/{token}", response_class=HTMLResponse)
def invitation_page(token: str, request: Request, session: SessionDep) -> Response:
    """An invitation link: the form that sets the user's password."""
    user = console_access.invited_user(session, token, now=datetime.now(UTC))
    form_token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response = bare_page(
        request,
        "invitation.html",
        browser_language(request),
        {"invited": user, "token": token, "form_token": form_token, "error": None},
    )
    response.set_cookie(
        SIGN_IN_COOKIE, form_token, httponly=True, samesite="strict", path="/console"
    )
    return response


@router.post("/invitation/{token}", response_class=HTMLResponse)
def accept_invitation(
    token: str,
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    password: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Set the password of the invitation and sign in."""
    _check_pre_session_form(request, csrf)
    now = datetime.now(UTC)
    user = console_access.invited_user(session, token, now=now)
    t = i18n.translator(browser_language(request))
    error: str | None = None
    if password != repeat:
        error = t("The two passwords differ.")
    else:
        try:
            with session.begin_nested():
                signed_in = console_access.accept_invitation(
                    session,
                    token,
                    password,
                    now=now,
                    ttl=timedelta(hours=settings.console_session_hours),
                )
        except DialtoneError as exc:
            error = t(exc.message)
    if error is not None:
        return bare_page(
            request,
            "invitation.html",
            browser_language(request),
            {"invited": user, "token": token, "form_token": csrf, "error": error},
            status=400,
        )
    response = RedirectResponse("/console/", status_code=303)
    set_session_cookie(response, request, settings, signed_in.token)
    return response


@router.post("/language")
async def set_language(request: Request) -> Response:
    """Choose the console's language (a cookie; no session needed, no data changed)."""
    form = await request.form()
    language = form.get("language")
    back = form.get("back")
    response = back_to(back if isinstance(back, str) else "/console/")
    if language in i18n.LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, str(language), max_age=365 * 86400, samesite="lax", path="/"
        )
    return response
