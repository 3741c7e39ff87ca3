"""``/v1/users`` and ``/v1/registrations``: write-only passwords, errors, account isolation."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.telephony import registrations, users
from dialtone.settings import Settings
from dialtone.sip.digest import ha1
from dialtone.store.db import transaction

from .conftest import auth, new_account

HASH_FIELDS = {"ha1_md5", "ha1_sha256", "sip_password", "password"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/users"),
        ("POST", "/v1/users"),
        ("GET", "/v1/users/US1"),
        ("PATCH", "/v1/users/US1"),
        ("DELETE", "/v1/users/US1"),
        ("GET", "/v1/registrations"),
        ("GET", "/v1/users/US1/registrations"),
        ("GET", "/v1/trunks"),
        ("POST", "/v1/trunks"),
        ("GET", "/v1/ring-groups"),
        ("GET", "/v1/voicemails"),
        ("GET", "/v1/voicemails/VM1/audio"),
        ("GET", "/v1/numbers/+33123456789/route"),
        ("PUT", "/v1/numbers/+33123456789/route"),
    ],
)
def test_every_new_endpoint_needs_a_key(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "auth.missing"


def test_create_get_list_patch_delete(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    created = client.post(
        "/v1/users",
        json={
            "name": "Alice",
            "extension": "101",
            "sip_username": "alice",
            "sip_password": "correct horse",
            "role": "manager",
        },
        headers=auth(key),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert not HASH_FIELDS & set(body)
    assert "correct horse" not in created.text
    assert body["sip_password_set"] is True
    assert (body["extension"], body["sip_username"], body["role"]) == ("101", "alice", "manager")
    assert (body["channels"], body["effective_channels"], body["status"]) == (None, 1, "active")
    user_id = body["id"]
    with transaction(sessions) as session:
        stored = users.find_sip_user(session, "alice")
        assert stored is not None
        # realm comes from the running settings (default "dialtone")
        assert stored.ha1_sha256 == ha1("alice", "dialtone", "correct horse", "SHA-256")

    assert client.get(f"/v1/users/{user_id}", headers=auth(key)).json() == body
    assert [u["id"] for u in client.get("/v1/users", headers=auth(key)).json()["users"]] == [
        user_id
    ]

    patched = client.patch(
        f"/v1/users/{user_id}",
        json={"channels": 2, "status": "disabled", "extension": None},
        headers=auth(key),
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["channels"], patched.json()["effective_channels"]) == (2, 2)
    assert patched.json()["extension"] is None
    assert patched.json()["can_take_calls"] is False
    assert patched.json()["name"] == "Alice"  # fields not sent stay

    assert client.delete(f"/v1/users/{user_id}", headers=auth(key)).status_code == 204
    gone = client.get(f"/v1/users/{user_id}", headers=auth(key))
    assert gone.status_code == 404
    assert gone.json()["code"] == "user.not_found"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"name": "A", "extension": "1"}, (400, "user.invalid", None)),
        ({"name": "A", "extension": "1234567"}, (400, "user.invalid", None)),
        ({"name": "A", "extension": "112"}, (400, "extension.reserved", "V7")),
        ({"name": "A", "role": "owner"}, (400, "user.invalid", "D1")),
        ({"name": "A", "channels": 0}, (400, "user.invalid", "V2")),
        ({"name": "A", "sip_username": "al", "sip_password": "x" * 8}, (400, "user.invalid", None)),
        (
            {"name": "A", "sip_username": "alice", "sip_password": "x" * 7},
            (400, "user.invalid", None),
        ),
        ({"name": "A", "password": "x" * 8}, (400, "request.invalid", None)),  # unknown field
        ({}, (400, "request.invalid", None)),
    ],
)
def test_invalid_users_get_the_error_shape(
    client: TestClient,
    sessions: sessionmaker[Session],
    payload: dict[str, object],
    expected: tuple[int, str, str | None],
) -> None:
    _, key = new_account(sessions, "Acme")
    response = client.post("/v1/users", json=payload, headers=auth(key))
    body = response.json()
    assert (response.status_code, body["code"], body.get("rule")) == expected, response.text
    assert body["message"]
    assert set(body) <= {"code", "message", "rule"}


def test_conflicts(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    _, other_key = new_account(sessions, "Globex")
    first = {"name": "A", "extension": "101", "sip_username": "alice"}
    assert client.post("/v1/users", json=first, headers=auth(key)).status_code == 201
    again = client.post("/v1/users", json={"name": "B", "extension": "101"}, headers=auth(key))
    assert (again.status_code, again.json()["code"]) == (409, "extension.taken")
    # another account may use extension 101, but a SIP username is global
    ok = client.post("/v1/users", json={"name": "C", "extension": "101"}, headers=auth(other_key))
    assert ok.status_code == 201
    clash = client.post(
        "/v1/users", json={"name": "D", "sip_username": "alice"}, headers=auth(other_key)
    )
    assert (clash.status_code, clash.json()["code"]) == (409, "sip_username.taken")


def test_one_account_never_sees_anothers_users(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    _, other_key = new_account(sessions, "Globex")
    user_id = client.post("/v1/users", json={"name": "A"}, headers=auth(key)).json()["id"]
    assert client.get("/v1/users", headers=auth(other_key)).json() == {"users": []}
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(
            method, f"/v1/users/{user_id}", json={"name": "Hacked"}, headers=auth(other_key)
        )
        assert response.status_code == 404, (method, response.text)
        assert response.json()["code"] == "user.not_found"
    regs = client.get(f"/v1/users/{user_id}/registrations", headers=auth(other_key))
    assert (regs.status_code, regs.json()["code"]) == (404, "user.not_found")
    assert client.get(f"/v1/users/{user_id}", headers=auth(key)).json()["name"] == "A"


def test_registrations_are_read_only_and_scoped(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, key = new_account(sessions, "Acme")
    other_id, other_key = new_account(sessions, "Globex")
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        alice = users.create_user(
            session, account_id, name="Alice", sip_username="alice", now=now, realm="dialtone"
        )
        bob = users.create_user(session, other_id, name="Bob", now=now, realm="dialtone")
        for user, expires in ((alice, 3600), (bob, 3600)):
            registrations.replace_bindings(
                session,
                user,
                [
                    registrations.Binding(
                        contact=f"sip:{user.name}@10.0.0.2:5062",
                        source="udp:203.0.113.5:40000",
                        transport="udp",
                        user_agent="Yealink T46U",
                        call_id="r1",
                        cseq=3,
                        expires_at=now + timedelta(seconds=expires),
                    )
                ],
                now=now,
            )
        alice_id = alice.id
    listed = client.get("/v1/registrations", headers=auth(key)).json()["registrations"]
    assert [(r["user_id"], r["source"], r["user_agent"]) for r in listed] == [
        (alice_id, "udp:203.0.113.5:40000", "Yealink T46U")
    ]
    mine = client.get(f"/v1/users/{alice_id}/registrations", headers=auth(key))
    assert mine.json()["registrations"] == listed
    filtered = client.get("/v1/registrations", params={"user_id": alice_id}, headers=auth(key))
    assert filtered.json()["registrations"] == listed
    theirs = client.get("/v1/registrations", headers=auth(other_key)).json()["registrations"]
    assert [r["user_id"] for r in theirs] != [alice_id]
    peek = client.get("/v1/registrations", params={"user_id": alice_id}, headers=auth(other_key))
    assert peek.json() == {"registrations": []}
    assert client.post("/v1/registrations", json={}, headers=auth(key)).status_code == 405


def _tone_wav(rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x10\x20" * rate)
    return out.getvalue()


def test_voicemail_greeting_upload_and_reset(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _, key = new_account(sessions, "Acme")
    user = client.post("/v1/users", json={"name": "Alice"}, headers=auth(key)).json()
    assert user["voicemail_greeting"] == "default"
    path = f"/v1/users/{user['id']}/voicemail-greeting"
    put = client.put(path, content=_tone_wav(), headers={**auth(key), "Content-Type": "audio/wav"})
    assert put.status_code == 200, put.text
    assert put.json()["voicemail_greeting"] == "custom"
    stored = settings.greetings_dir / f"voicemail-{user['id']}.wav"
    with wave.open(str(stored)) as w:  # converted to 8 kHz mono for the phone network
        assert (w.getframerate(), w.getnchannels()) == (8000, 1)
    bad = client.put(path, content=b"not a wav", headers={**auth(key), "Content-Type": "audio/wav"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "greeting.invalid"
    reset = client.delete(path, headers=auth(key))
    assert reset.json()["voicemail_greeting"] == "default"


def test_voicemail_greeting_of_another_accounts_user_is_404(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key_a = new_account(sessions, "A")
    _, key_b = new_account(sessions, "B")
    user = client.post("/v1/users", json={"name": "Alice"}, headers=auth(key_a)).json()
    put = client.put(
        f"/v1/users/{user['id']}/voicemail-greeting",
        content=_tone_wav(),
        headers={**auth(key_b), "Content-Type": "audio/wav"},
    )
    assert put.status_code == 404
