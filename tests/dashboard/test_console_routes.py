"""Every console route, walked: none answers without a session (the public few aside), and
every form refuses a post without its CSRF token, whoever is signed in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.dashboard.conftest import new_account, new_person, sign_in

# Pages and forms used before any session exists (their own double-submit token guards
# the forms), and the language cookie, which changes no data.
PUBLIC = {
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("GET", "/console/invitation/{token}"),
    ("POST", "/console/invitation/{token}"),
    ("POST", "/console/language"),
}


def console_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every console route, through included routers (FastAPI keeps an
    included router as one entry of ``app.routes``)."""

    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):
                yield from walk(route.original_router.routes)

    found = [
        (method, route.path)
        for route in walk(client.app.routes)  # type: ignore[attr-defined]
        if route.path.startswith("/console")
        for method in sorted(route.methods)
    ]
    assert len(found) > 50, found
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "XX0000", path)


def test_the_console_has_its_pages(client: TestClient) -> None:
    paths = {path for _, path in console_routes(client)}
    for page in ("/console/", "/console/calls", "/console/numbers", "/console/billing",
                 "/console/audit", "/console/settings", "/console/voicemail",
                 "/console/users", "/console/messages", "/console/sla", "/console/agents",
                 "/console/ring-groups", "/console/trunks", "/console/accounts"):  # fmt: skip
        assert page in paths


def test_no_console_route_answers_without_a_session(client: TestClient) -> None:
    for method, path in console_routes(client):
        if (method, path) in PUBLIC:
            continue
        answer = client.request(method, _concrete(path))
        assert answer.status_code in (303, 401), (method, path, answer.status_code)
        if answer.status_code == 303:
            assert answer.headers["location"].startswith("/console/sign-in"), (method, path)


@pytest.mark.parametrize("role", ["administrator", "guest"])
def test_every_form_refuses_a_post_without_its_token(
    client: TestClient, sessions: sessionmaker[Session], role: str
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, role, f"{role}@acme.test")
    sign_in(client, f"{role}@acme.test")
    for method, path in console_routes(client):
        if method != "POST" or (method, path) in PUBLIC:
            continue
        answer = client.post(_concrete(path), data={"csrf": "forged"})
        assert answer.status_code == 403, (path, answer.status_code, answer.text[:300])
        # An operator's form refuses a customer, and a form a guest may not use refuses
        # the guest (D1), before either reads the form: a 403 all the same.
        allowed = {"console.csrf_failed"}
        if "/accounts" in path:
            allowed = {"console.operator_only"}
        elif role == "guest":
            allowed |= {"permission.denied", "permission.own_only"}
        code = re.search(r'class="error-code">([a-z_.]+)<', answer.text)
        assert code, (path, answer.text[:300])
        assert code.group(1) in allowed, (path, code.group(1))
