"""``/v1/trunks``: an account manages its own trunks only; the password is write-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.telephony import trunks
from dialtone.store.db import transaction

from .conftest import auth, new_account

TRUNK = {"name": "Carrier", "host": "192.0.2.10", "username": "acme", "password": "s3cret!"}


def test_crud_and_password_never_shown(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    created = client.post("/v1/trunks", json=TRUNK, headers=auth(key))
    assert created.status_code == 201, created.text
    body = created.json()
    assert "password" not in body
    assert "s3cret!" not in created.text
    assert body["password_set"] is True
    assert (body["port"], body["transport"], body["priority"], body["enabled"]) == (
        5060,
        "udp",
        100,
        True,
    )
    trunk_id = body["id"]
    assert client.get(f"/v1/trunks/{trunk_id}", headers=auth(key)).json() == body
    patched = client.patch(
        f"/v1/trunks/{trunk_id}",
        json={"priority": 5, "caller_id_format": "national", "enabled": False},
        headers=auth(key),
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["priority"], patched.json()["enabled"]) == (5, False)
    assert patched.json()["name"] == "Carrier"
    assert [t["id"] for t in client.get("/v1/trunks", headers=auth(key)).json()["trunks"]] == [
        trunk_id
    ]
    changed = client.patch(
        f"/v1/trunks/{trunk_id}", json={"password": "n3w-s3cret"}, headers=auth(key)
    )
    assert "n3w-s3cret" not in changed.text
    assert changed.json()["password_set"] is True
    with transaction(sessions) as session:
        raw = repr(session.execute(text("SELECT * FROM trunks")).all())
    assert "s3cret!" not in raw
    assert "n3w-s3cret" not in raw
    exported = client.get("/v1/account/export", headers=auth(key))
    assert exported.status_code == 200, exported.text
    assert "n3w-s3cret" not in exported.text
    assert "password_sealed" not in exported.text
    assert client.delete(f"/v1/trunks/{trunk_id}", headers=auth(key)).status_code == 204
    assert client.get(f"/v1/trunks/{trunk_id}", headers=auth(key)).status_code == 404


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"port": 0}, "trunk.invalid"),
        ({"port": 65536}, "trunk.invalid"),
        ({"transport": "sctp"}, "trunk.invalid"),
        ({"host": "not a host"}, "trunk.invalid"),
        ({"caller_id_format": "fancy"}, "trunk.invalid"),
        ({"username": None}, "trunk.invalid"),  # a password without a username
        ({"port": "five"}, "request.invalid"),
        ({"secret": "x"}, "request.invalid"),
    ],
)
def test_invalid_trunks(
    client: TestClient, sessions: sessionmaker[Session], change: dict[str, object], code: str
) -> None:
    _, key = new_account(sessions, "Acme")
    response = client.post("/v1/trunks", json={**TRUNK, **change}, headers=auth(key))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert response.json()["message"]


def test_patch_cannot_null_a_required_field(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    trunk_id = client.post("/v1/trunks", json=TRUNK, headers=auth(key)).json()["id"]
    response = client.patch(f"/v1/trunks/{trunk_id}", json={"host": None}, headers=auth(key))
    assert (response.status_code, response.json()["code"]) == (400, "trunk.invalid")


def test_isolation_between_accounts_and_from_operator_trunks(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    _, other_key = new_account(sessions, "Globex")
    trunk_id = client.post("/v1/trunks", json=TRUNK, headers=auth(key)).json()["id"]
    with transaction(sessions) as session:
        operator_id = trunks.create_trunk(
            session, account_id=None, name="Operator", host="198.51.100.1", now=datetime.now(UTC)
        ).id
    assert client.get("/v1/trunks", headers=auth(other_key)).json() == {"trunks": []}
    assert [t["id"] for t in client.get("/v1/trunks", headers=auth(key)).json()["trunks"]] == [
        trunk_id
    ]
    for target in (trunk_id, operator_id):
        for method in ("GET", "PATCH", "DELETE"):
            response = client.request(
                method, f"/v1/trunks/{target}", json={"priority": 1}, headers=auth(other_key)
            )
            assert response.status_code == 404, (method, target)
            assert response.json()["code"] == "trunk.not_found"
    response = client.delete(f"/v1/trunks/{operator_id}", headers=auth(key))
    assert response.status_code == 404


REGISTERING = {**TRUNK, "register": True}


@pytest.mark.parametrize(
    ("change", "ok"),
    [
        ({"register_expires": 59}, False),
        ({"register_expires": 60}, True),
        ({"register_expires": 86_400}, True),
        ({"register_expires": 86_401}, False),
        ({"registrar_port": 0}, False),
        ({"registrar_port": 65_535}, True),
        ({"registrar_host": "not a host"}, False),
        ({"registrar_host": "reg.provider.example", "registrar_port": 5070}, True),
        ({"auth_username": "acct\r\nVia: x"}, False),
        ({"auth_username": "acct-42"}, True),
        ({"password": None}, False),  # registering needs credentials
        ({"username": None, "password": None}, False),
        ({"register": None}, False),
    ],
)
def test_registering_trunk_fields(
    client: TestClient, sessions: sessionmaker[Session], change: dict[str, object], ok: bool
) -> None:
    """Issue 13 item 21: a trunk marked to register, its bounds (60 to 86400 s)."""
    _, key = new_account(sessions, "Acme")
    response = client.post("/v1/trunks", json={**REGISTERING, **change}, headers=auth(key))
    if not ok:
        assert response.status_code == 400, response.text
        assert response.json()["code"] in ("trunk.invalid", "request.invalid")
        return
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["register"] is True
    for field, value in change.items():
        assert body[field] == value
    # Not seen by a SIP runtime yet (none runs here): registering, nothing else known.
    assert body["registration"] == {
        "state": "registering",
        "expires_at": None,
        "last_error": None,
        "last_attempt_at": None,
        "next_attempt_at": None,
    }
    assert "contact_user" not in body


def test_registration_state_is_shown_and_cleared_when_unmarked(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    plain = client.post("/v1/trunks", json=TRUNK, headers=auth(key)).json()
    assert (plain["register"], plain["register_expires"], plain["registration"]) == (
        False,
        3600,
        None,
    )
    trunk_id = plain["id"]
    marked = client.patch(f"/v1/trunks/{trunk_id}", json={"register": True}, headers=auth(key))
    assert marked.json()["registration"]["state"] == "registering"
    at = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    with transaction(sessions) as session:
        trunks.record_registration(
            session,
            trunk_id,
            state="failed",
            expires_at=None,
            error="403 Forbidden",
            attempt_at=at,
            next_at=at.replace(second=30),
        )
    shown = client.get(f"/v1/trunks/{trunk_id}", headers=auth(key)).json()["registration"]
    assert shown == {
        "state": "failed",
        "expires_at": None,
        "last_error": "403 Forbidden",
        "last_attempt_at": "2026-12-06T10:00:00Z",
        "next_attempt_at": "2026-12-06T10:00:30Z",
    }
    unmarked = client.patch(f"/v1/trunks/{trunk_id}", json={"register": False}, headers=auth(key))
    assert unmarked.json()["registration"] is None
    again = client.patch(f"/v1/trunks/{trunk_id}", json={"register": True}, headers=auth(key))
    assert again.json()["registration"]["last_error"] is None
