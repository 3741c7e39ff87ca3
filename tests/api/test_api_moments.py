"""Every date-time the API takes needs its UTC offset and a year the platform can mean:
a bad one is ``400 request.invalid`` naming the field, never a 500 (issue 13, item 1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.settings import Settings
from dialtone.store.db import transaction
from dialtone.store.models import Account

from .conftest import auth, new_account

# (method, path, field as the error names it) → the request body with that field set.
Body = Callable[[str], dict[str, Any]]


def _usage(at: str) -> dict[str, Any]:
    return {"events": [{"transaction_id": at, "code": "sms", "timestamp": at,
                        "destination": "+33612345678", "segments": 1}]}  # fmt: skip


FIELDS: dict[tuple[str, str, str], Body] = {
    ("POST", "/v1/usage", "events.0.timestamp"): _usage,
    ("POST", "/v1/port-ins/{port_id}/schedule", "effective_at"): lambda at: {"effective_at": at},
    ("POST", "/v1/consents", "given_at"): lambda at: {
        "recipient": "+33612345678",
        "source": "form",
        "wording": "yes",
        "given_at": at,
    },
}

BAD = [
    "2026-12-06T10:00:00",  # no offset: the 500 of the issue
    "2026-12-06",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
]


def _datetime_inputs(spec: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Every (method, path, field) of the OpenAPI document whose input is a date-time
    or a date: body fields (nested ones dotted, list items as 0) and parameters."""
    schemas = spec["components"]["schemas"]
    found: set[tuple[str, str, str]] = set()

    def walk(schema: dict[str, Any], where: str, into: set[str]) -> None:
        if schema.get("format") in ("date-time", "date"):
            into.add(where)
        if "$ref" in schema:
            walk(schemas[schema["$ref"].split("/")[-1]], where, into)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}" if where else name, into)
        if "items" in schema:
            walk(schema["items"], f"{where}.0", into)
        for sub in schema.get("anyOf", []) + schema.get("allOf", []):
            walk(sub, where, into)

    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            fields: set[str] = set()
            for parameter in op.get("parameters", []):
                walk(parameter.get("schema", {}), parameter["name"], fields)
            for content in op.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema", {}), "", fields)
            found |= {(method.upper(), path, f) for f in fields}
    return found


def test_the_table_covers_every_datetime_input(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """A new date-time input must join FIELDS (and so this test's cases)."""
    assert _datetime_inputs(create_app(settings, sessions).openapi()) == set(FIELDS)


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("field", list(FIELDS), ids=lambda f: f"{f[1]}:{f[2]}")
def test_a_bad_datetime_is_a_400_naming_the_field(
    settings: Settings,
    sessions: sessionmaker[Session],
    field: tuple[str, str, str],
    value: str,
) -> None:
    _, key = new_account(sessions, "Acme")
    method, path, name = field
    with TestClient(create_app(settings, sessions), raise_server_exceptions=False) as client:
        response = client.request(
            method, path.replace("{port_id}", "PI0"), json=FIELDS[field](value), headers=auth(key)
        )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "request.invalid"
    assert name in response.json()["message"]


def _created(sessions: sessionmaker[Session], account_id: str) -> datetime:
    with transaction(sessions) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.created_at


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(days=-31, seconds=-1), False),  # far before the account existed
        (timedelta(days=-31), True),
        (timedelta(days=-1), True),
    ],
)
def test_usage_far_before_the_account_existed_is_refused(
    client: TestClient, sessions: sessionmaker[Session], offset: timedelta, accepted: bool
) -> None:
    account_id, key = new_account(sessions, "Acme")
    at = (_created(sessions, account_id) + offset).isoformat()
    response = client.post("/v1/usage", json=_usage(at), headers=auth(key))
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "request.invalid"
        assert "events.0.timestamp" in response.json()["message"]


@pytest.mark.parametrize(
    ("ahead", "accepted"), [(timedelta(hours=23), True), (timedelta(days=1, hours=1), False)]
)
def test_usage_ahead_of_the_clock_is_refused(
    client: TestClient, sessions: sessionmaker[Session], ahead: timedelta, accepted: bool
) -> None:
    _, key = new_account(sessions, "Acme")
    at = (datetime.now(UTC) + ahead).isoformat()
    response = client.post("/v1/usage", json=_usage(at), headers=auth(key))
    assert response.status_code == (200 if accepted else 400), response.text


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/account/fair-use", {"month": "9999-12"}, "month"),
        ("/v1/account/fair-use", {"month": "0001-01"}, "month"),
        ("/v1/sla/availability", {"year": 9999, "month": 12}, "year"),
        ("/v1/sla/incidents", {"year": 9999, "month": 12}, "year"),
        ("/v1/sla/availability", {"year": 2200, "month": 1}, "year"),
    ],
)
def test_absurd_months_and_years_are_a_400(
    settings: Settings,
    sessions: sessionmaker[Session],
    path: str,
    params: dict[str, Any],
    field: str,
) -> None:
    _, key = new_account(sessions, "Acme")
    with TestClient(create_app(settings, sessions), raise_server_exceptions=False) as client:
        response = client.get(path, params=params, headers=auth(key))
    assert response.status_code == 400, response.text
    assert (response.json()["code"], field in response.json()["message"]) == (
        "request.invalid",
        True,
    )
