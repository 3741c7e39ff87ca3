"""Pages from Jinja2 templates shipped in the package (autoescaped), in the viewer's
language, with the menu their role may use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

import dialtone
from dialtone.dashboard import i18n
from dialtone.dashboard.viewer import Viewer


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """One entry of the menu: shown when the viewer's role has ``permission``
    (``operator``: to operators only)."""

    href: str
    label: str
    permission: str


MENU: tuple[MenuEntry, ...] = (
    MenuEntry("/console/", "Overview", "calls.read"),
    MenuEntry("/console/calls", "Calls", "calls.read"),
    MenuEntry("/console/voicemail", "Voicemail", "voicemails.read"),
    MenuEntry("/console/numbers", "Numbers", "numbers.read"),
    MenuEntry("/console/users", "Users and devices", "users.read"),
    MenuEntry("/console/ring-groups", "Ring groups", "ring_groups.read"),
    MenuEntry("/console/trunks", "Trunks", "trunks.read"),
    MenuEntry("/console/agents", "AI agents", "agents.read"),
    MenuEntry("/console/messages", "Messages", "messages.read"),
    MenuEntry("/console/billing", "Billing", "billing.read"),
    MenuEntry("/console/sla", "SLA", "billing.read"),
    MenuEntry("/console/audit", "Audit log", "audit.read"),
    MenuEntry("/console/settings", "Settings", "account.read"),
)


# What a form did, said on the page it leads back to (``?done=<key>``): only these texts,
# so a link cannot make the console say anything else.
_NOTICES: dict[str, str] = {}


def notice(key: str, english: str) -> str:
    """Register the notice ``key`` (said as ``english``, translated); returns the key."""
    if _NOTICES.get(key, english) != english:
        raise ValueError(f"notice {key} registered twice")
    _NOTICES[key] = english
    return key


@cache
def environment() -> Environment:
    """The templates of ``dialtone/dashboard/templates``, autoescaped."""
    env = Environment(
        loader=PackageLoader("dialtone.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def menu_for(viewer: Viewer) -> list[MenuEntry]:
    """The menu entries the viewer's role may open."""
    return [entry for entry in MENU if viewer.can(entry.permission)]


def formatters(language: str) -> dict[str, Any]:
    """What every template may use: ``t`` and the language's number, money and date forms."""
    return {
        "t": i18n.translator(language),
        "lang": language,
        "number": lambda value, places=None: i18n.number(value, language, places),
        "money": lambda amount, currency="EUR": i18n.money(amount, currency, language),
        "moment": lambda value: i18n.moment(value, language),
        "duration": lambda value: i18n.seconds(value, language),
        "version": dialtone.__version__,
        "languages": i18n.LANGUAGE_NAMES,
    }


def page(
    request: Request,
    viewer: Viewer,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page of the console for ``viewer``: ``template`` with ``context``, the menu, the
    session's CSRF token, the current path (for the menu) and any notice in ``?done=``."""
    shell = {
        "viewer": viewer,
        "menu": menu_for(viewer),
        "csrf": viewer.csrf,
        "done": _NOTICES.get(request.query_params.get("done") or ""),
    }
    return _response(request, template, viewer.language, shell, context, status=status)


def bare_page(
    request: Request,
    template: str,
    language: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page shown before sign-in (no menu, no session)."""
    shell: dict[str, Any] = {"viewer": None, "menu": [], "csrf": "", "done": None}
    return _response(request, template, language, shell, context, status=status)


def _response(
    request: Request,
    template: str,
    language: str,
    shell: Mapping[str, Any],
    context: Mapping[str, Any] | None,
    *,
    status: int,
) -> HTMLResponse:
    values: dict[str, Any] = formatters(language)
    values.update(shell, path=request.url.path)
    if context:
        values.update(context)
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=_NO_STORE)


def fragment(template: str, language: str, context: Mapping[str, Any]) -> str:
    """A part of a page (the live regions): rendered alone, for the live feed."""
    values: dict[str, Any] = formatters(language)
    values.update(context)
    return environment().get_template(template).render(values)


def back_to(path: str, done: str | None = None) -> RedirectResponse:
    """After a form: 303 to ``path`` (a console path), with ``done`` to say what happened."""
    if not path.startswith("/console"):
        path = "/console/"
    if done:
        path += ("&" if "?" in path else "?") + f"done={done}"
    return RedirectResponse(path, status_code=303)


# Pages hold an account's data: no shared cache keeps them, the browser does not store
# them on disk.
_NO_STORE = {"Cache-Control": "no-store"}
