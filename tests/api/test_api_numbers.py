"""``/v1/numbers``: validation, conflicts, and isolation between accounts."""

from __future__ import annotations

import base64
import io
import math
import struct
import wave
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.numbering import inventory, numbers, renumbering
from dialtone.store.db import transaction

from .conftest import auth, new_account


def _wav(rate: int = 16000, channels: int = 1, seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        n = int(rate * seconds)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(i / 5))) * channels for i in range(n)
        )
        w.writeframes(frames)
    return out.getvalue()


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "auth.missing"),
        ({"Authorization": "Bearer"}, "auth.missing"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "auth.missing"),
        ({"Authorization": "Bearer dt_not-a-real-key"}, "auth.invalid_key"),
    ],
)
def test_numbers_need_a_valid_key(client: TestClient, headers: dict[str, str], code: str) -> None:
    for method, path in [("GET", "/v1/numbers"), ("POST", "/v1/numbers"), ("GET", "/v1/calls")]:
        response = client.request(method, path, headers=headers, json={"number": "+33123456789"})
        assert response.status_code == 401, (method, path, response.text)
        body = response.json()
        assert body["code"] == code
        assert body["message"]


def test_add_list_delete(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    created = client.post("/v1/numbers", json={"number": "+33 1 23 45 67 89"}, headers=auth(key))
    assert created.status_code == 201, created.text
    assert created.json()["number"] == "+33123456789"
    assert created.json()["greeting"] == "default"
    listed = client.get("/v1/numbers", headers=auth(key)).json()["numbers"]
    assert [n["number"] for n in listed] == ["+33123456789"]
    assert client.delete("/v1/numbers/+33123456789", headers=auth(key)).status_code == 204
    assert client.get("/v1/numbers", headers=auth(key)).json()["numbers"] == []
    again = client.delete("/v1/numbers/+33123456789", headers=auth(key))
    assert again.status_code == 404
    assert again.json()["code"] == "number.not_found"


@pytest.mark.parametrize(
    "number",
    ["33123456789", "+33 12", "+999123456789", "hello", "", "+3312345678901234567", "+1 555 0100"],
)
def test_bad_numbers_get_400(
    client: TestClient, sessions: sessionmaker[Session], number: str
) -> None:
    _, key = new_account(sessions, "Acme")
    response = client.post("/v1/numbers", json={"number": number}, headers=auth(key))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "number.invalid"


def test_malformed_body_gets_400_json(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    for body in [None, {"num": "+33123456789"}, {"number": 33123456789}]:
        response = client.post("/v1/numbers", json=body, headers=auth(key))
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "request.invalid"
    raw = client.post(
        "/v1/numbers",
        content=b"{not json",
        headers={**auth(key), "Content-Type": "application/json"},
    )
    assert raw.status_code == 400
    assert raw.json()["code"] == "request.invalid"


def test_a_held_number_gets_409(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key_a = new_account(sessions, "A")
    _, key_b = new_account(sessions, "B")
    assert (
        client.post("/v1/numbers", json={"number": "+33123456789"}, headers=auth(key_a)).status_code
        == 201
    )
    for key in (key_a, key_b):
        response = client.post("/v1/numbers", json={"number": "+33123456789"}, headers=auth(key))
        assert response.status_code == 409
        assert response.json() == {
            "code": "number.held",
            "rule": "N2",
            "message": "+33123456789 is already held by an account.",
        }


def test_accounts_cannot_see_or_delete_each_others_numbers(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key_a = new_account(sessions, "A")
    _, key_b = new_account(sessions, "B")
    client.post("/v1/numbers", json={"number": "+33123456789"}, headers=auth(key_a))
    assert client.get("/v1/numbers", headers=auth(key_b)).json()["numbers"] == []
    assert client.get("/v1/numbers/+33123456789", headers=auth(key_b)).status_code == 404
    stolen = client.delete("/v1/numbers/+33123456789", headers=auth(key_b))
    assert stolen.status_code == 404
    assert stolen.json()["code"] == "number.not_found"
    assert client.get("/v1/numbers/+33123456789", headers=auth(key_a)).status_code == 200


def test_greeting_upload_base64_and_raw(
    client: TestClient, sessions: sessionmaker[Session], settings
) -> None:
    _, key = new_account(sessions, "Acme")
    encoded = "data:audio/wav;base64," + base64.b64encode(_wav(rate=16000, channels=2)).decode()
    created = client.post(
        "/v1/numbers", json={"number": "+33123456789", "greeting": encoded}, headers=auth(key)
    )
    assert created.status_code == 201, created.text
    assert created.json()["greeting"] == "custom"
    stored = settings.greetings_dir / f"{created.json()['id']}.wav"
    with wave.open(str(stored)) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 8000)
        assert abs(w.getnframes() - 4000) <= 2
    raw = client.put(
        "/v1/numbers/+33123456789/greeting",
        content=_wav(rate=8000),
        headers={**auth(key), "Content-Type": "audio/wav"},
    )
    assert raw.status_code == 200
    bad = client.put("/v1/numbers/+33123456789/greeting", content=b"RIFFnope", headers=auth(key))
    assert bad.status_code == 400
    assert bad.json()["code"] == "greeting.invalid"
    not_b64 = client.post(
        "/v1/numbers", json={"number": "+33987654321", "greeting": "%%%"}, headers=auth(key)
    )
    assert not_b64.status_code == 400
    assert not_b64.json()["code"] == "greeting.invalid"
    # The failed request must not leave the number half-created.
    assert client.get("/v1/numbers/+33987654321", headers=auth(key)).status_code == 404


def test_unknown_route_is_json(client: TestClient) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "http.not_found"


def test_openapi_documents_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/healthz",
        "/v1/numbers",
        "/v1/numbers/{number}",
        "/v1/numbers/{number}/greeting",
        "/v1/calls",
        "/v1/calls/{call_id}",
        "/v1/calls/{call_id}/recording",
    }
    assert client.get("/docs").status_code == 200


def test_n1_notice_n11_declaration_and_n13_in_the_dry_run(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    added = client.post("/v1/numbers", json={"number": "+33491234567"}, headers=auth(key))
    assert added.status_code == 201, added.text
    assert "Marseille" in added.json()["notices"][0]
    mobile = client.post("/v1/numbers", json={"number": "+33612345678"}, headers=auth(key))
    [notice] = mobile.json()["notices"]  # no local area; the N12 terms of a mobile number
    assert "person-to-person use from mobile access only" in notice
    plain = client.post("/v1/numbers", json={"number": "+33800123456"}, headers=auth(key))
    assert plain.json()["notices"] == []  # toll-free: nothing to say

    declared = client.put(
        "/v1/numbers/+33491234567/declaration",
        json={"intended_use": "support line", "end_user": "Acme SARL"},
        headers=auth(key),
    )
    assert declared.status_code == 200, declared.text
    assert (declared.json()["intended_use"], declared.json()["end_user"]) == (
        "support line",
        "Acme SARL",
    )
    assert declared.json()["declared_at"] is not None
    empty = client.put(
        "/v1/numbers/+33491234567/declaration",
        json={"intended_use": " ", "end_user": "Acme"},
        headers=auth(key),
    )
    assert (empty.status_code, empty.json()["code"], empty.json()["rule"]) == (
        400,
        "number.declaration_invalid",
        "N11",
    )

    with transaction(sessions) as session:
        numbers.set_inbound_only(session, "+33491234567", True)
    check = client.post(
        "/v1/policy/check",
        json={"action": "call", "to": "+33142345678", "caller_id": "+33491234567"},
        headers=auth(key),
    )
    assert check.status_code == 200, check.text
    assert (check.json()["allowed"], check.json()["code"], check.json()["rule"]) == (
        False,
        "caller_id.inbound_only",
        "N13",
    )
    listed = client.get("/v1/numbers/+33491234567", headers=auth(key)).json()
    assert listed["inbound_only"] is True


def test_n14_renumberings_are_shown_with_their_notice(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    from datetime import UTC, datetime

    account_id, key = new_account(sessions, "Acme")
    with transaction(sessions) as session:
        numbers.add_number(session, account_id, "+33123456789", now=datetime.now(UTC))
        renumbering.schedule(
            session, "+33123456789", "+33123456790", now=datetime.now(UTC), reason="zone"
        )
    [shown] = client.get("/v1/renumberings", headers=auth(key)).json()["renumberings"]
    assert (shown["old_number"], shown["new_number"], shown["done"]) == (
        "+33123456789",
        "+33123456790",
        False,
    )


def test_n1_numbers_are_chosen_from_the_stock_with_their_notices(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    with transaction(sessions) as session:
        inventory.stock(session, ["+33491234500", "+33612345600"], now=datetime.now(UTC))
    offered = client.get("/v1/numbers/available?country=FR", headers=auth(key)).json()
    by_number = {n["number"]: n["notices"] for n in offered["numbers"]}
    assert "Marseille" in by_number["+33491234500"][0]
    assert "mobile" in by_number["+33612345600"][0]
    taken = client.post("/v1/numbers", json={"number": "+33491234500"}, headers=auth(key))
    assert taken.status_code == 201
    left = client.get("/v1/numbers/available", headers=auth(key)).json()["numbers"]
    assert [n["number"] for n in left] == ["+33612345600"]
