"""Posted forms: every one carries its session's CSRF token, or is refused.

The token is random per session and compared in constant time; a form posted from
another site cannot know it. The session cookie is also ``SameSite=Lax``, and a request
whose ``Origin`` names another site is refused too (defence in depth). The sign-in form,
before any session, uses a double-submit token: a random cookie repeated in the form.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData

from dialtone.core.errors import DialtoneError
from dialtone.dashboard.viewer import Viewer, ViewerDep

FORM_CSRF_FIELD = "csrf"
SIGN_IN_COOKIE = "dt_csrf"


def _refused() -> DialtoneError:
    return DialtoneError(
        "console.csrf_failed",
        "This form was not sent from its page (CSRF token missing or wrong): reload the "
        "page and send it again.",
        status=403,
    )


def check_origin(request: Request) -> None:
    """Refuse a form whose ``Origin`` (when the browser sends one) is another site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        raise _refused()


def check_token(sent: object, expected: str) -> None:
    """Refuse unless ``sent`` is ``expected`` (constant time)."""
    if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
        raise _refused()


async def checked_form(request: Request, viewer: ViewerDep) -> FormData:
    """The posted form, once its CSRF token is the session's."""
    check_origin(request)
    form = await request.form()
    check_token(form.get(FORM_CSRF_FIELD), viewer.csrf)
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str, default: str = "") -> str:
    """A text field of the form, trimmed ("" or ``default`` when absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


def optional(form: FormData, name: str) -> str | None:
    """A text field, None when empty or absent."""
    return text(form, name) or None


def flag(form: FormData, name: str) -> bool:
    """A checkbox: present (any value but "0"/"false"/"off") means checked."""
    value = form.get(name)
    return isinstance(value, str) and value.lower() not in ("", "0", "false", "off")


__all__ = ["FormDep", "Viewer", "check_origin", "check_token", "checked_form", "flag", "text"]
