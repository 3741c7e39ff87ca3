"""A closed account, or one suspended for non-payment (B10), reads and exports its
records but writes nothing else: every write route answers 403 ``account.closed`` /
``billing.suspended`` (issue 13, item 4). The routes are walked, so a new write route is
covered without a line here."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.policy.permissions import (
    PERMISSIONS,
    WRITES_WHEN_CLOSED,
    WRITES_WHEN_SUSPENDED,
)
from dialtone.services.numbering import lifecycle
from dialtone.settings import Settings
from dialtone.store.db import transaction
from dialtone.store.models import Account

from .conftest import PUBLIC_ROUTES, api_routes, auth, new_account

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_PARAM = re.compile(r"\{([^}]+)\}")


def _routes(settings: Settings, sessions: Any, account_id: str) -> list[tuple[str, str, str]]:
    """(method, path with its parameters filled in, permission) of every API route; the
    Twilio-compatible routes name the caller's own account."""
    found = []
    for route in api_routes(create_app(settings, sessions)):
        if route.path in PUBLIC_ROUTES:
            continue
        permission = next(
            getattr(dep.dependency, "permission", None)
            for dep in route.dependencies
            if getattr(dep.dependency, "permission", None) in PERMISSIONS
        )
        values = {"number": "+33123456789", "AccountSid": account_id}
        path = _PARAM.sub(lambda m: values.get(m[1], "X0"), route.path)
        found.extend((method, path, permission) for method in sorted(route.methods))
    return found


def _closed(sessions: sessionmaker[Session]) -> tuple[str, str]:
    account_id, key = new_account(sessions, "Closed")
    with transaction(sessions) as session:
        lifecycle.close_account(session, account_id, now=datetime.now(UTC))
    return account_id, key


def _suspended(sessions: sessionmaker[Session]) -> tuple[str, str]:
    account_id, key = new_account(sessions, "Suspended")
    with transaction(sessions) as session:
        account = session.get(Account, account_id)
        assert account is not None
        account.billing_suspended_at = datetime.now(UTC)
    return account_id, key


@pytest.mark.parametrize(
    ("standing", "code", "kept"),
    [
        (_closed, "account.closed", WRITES_WHEN_CLOSED),
        (_suspended, "billing.suspended", WRITES_WHEN_SUSPENDED),
    ],
    ids=["closed", "billing-suspended"],
)
def test_every_write_route_is_refused_and_reads_stay(
    settings: Settings,
    sessions: sessionmaker[Session],
    standing: Any,
    code: str,
    kept: frozenset[str],
) -> None:
    account_id, key = standing(sessions)
    routes = _routes(settings, sessions, account_id)
    assert {m for m, _, _ in routes} >= WRITES  # the walk sees every kind of write
    wrong = []
    with TestClient(create_app(settings, sessions), raise_server_exceptions=False) as client:
        for method, path, permission in routes:
            response = client.request(method, path, json={}, headers=auth(key))
            body = response.json() if response.status_code >= 400 else {}
            # dialtone's code, or Twilio's shape with dialtone's code as its reason.
            said = body.get("reason") if isinstance(body.get("code"), int) else body.get("code")
            refused = response.status_code == 403 and said == code
            expected = method in WRITES and permission not in kept
            if refused != expected:
                wrong.append((method, path, permission, response.status_code, response.text))
    assert wrong == []


def test_the_writes_of_the_issue_are_refused_after_close(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """The issue's four: numbers, trunks, API keys and users with the admin key."""
    _, key = _closed(sessions)
    for path, body in [
        ("/v1/numbers", {"number": "+33123456789"}),
        ("/v1/trunks", {"name": "t", "host": "127.0.0.1"}),
        ("/v1/api-keys", {}),
        ("/v1/users", {"name": "Ann", "extension": "201"}),
    ]:
        response = client.post(path, json=body, headers=auth(key))
        assert (response.status_code, response.json()["code"]) == (403, "account.closed"), path
    assert client.get("/v1/account/export", headers=auth(key)).status_code == 200
    assert client.get("/v1/numbers", headers=auth(key)).status_code == 200


def test_a_suspension_is_audited_with_b10(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = _suspended(sessions)
    refused = client.post("/v1/numbers", json={"number": "+33123456789"}, headers=auth(key))
    assert (refused.status_code, refused.json()["code"], refused.json()["rule"]) == (
        403,
        "billing.suspended",
        "B10",
    )
    events = client.get("/v1/audit", headers=auth(key)).json()["events"]
    assert [e["code"] for e in events] == ["billing.suspended"]
