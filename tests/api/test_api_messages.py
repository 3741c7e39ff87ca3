"""``/v1/messages``, ``/v1/consents``, ``/v1/opt-outs``: an SMS is checked, stored and
answered 202; a refusal is a JSON error with its code and rule, on the audit log; an
Idempotency-Key sends once; the dry run says the same as the send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.numbering import numbers
from dialtone.store.db import transaction
from tests.api.conftest import auth, new_account

NUMBER = "+33123456789"
RECIPIENT = "+33612345678"


@pytest.fixture
def acme(client: TestClient, sessions: sessionmaker[Session]) -> dict[str, str]:
    account, key = new_account(sessions, "Acme")
    with transaction(sessions) as session:
        numbers.add_number(session, account, NUMBER, now=datetime.now(UTC))
    made = client.post(
        "/v1/consents",
        headers=auth(key),
        json={
            "recipient": "06 12 34 56 78",
            "source": "https://acme.example/signup",
            "wording": "I agree to receive texts from Acme.",
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["recipient"] == RECIPIENT
    return auth(key)


def test_a_message_is_accepted_with_202_and_can_be_read_back(
    client: TestClient, acme: dict[str, str]
) -> None:
    sent = client.post(
        "/v1/messages",
        headers=acme,
        json={"from": NUMBER, "to": RECIPIENT, "body": "Your table is ready. 🍽"},
    )
    assert sent.status_code == 202, sent.text
    body = sent.json()
    assert (body["status"], body["encoding"], body["segments"], body["from"]) == (
        "queued",
        "UCS-2",
        1,
        NUMBER,
    )
    assert client.get(f"/v1/messages/{body['id']}", headers=acme).json()["id"] == body["id"]
    listed = client.get("/v1/messages", headers=acme, params={"status": "queued"}).json()
    assert [m["id"] for m in listed["messages"]] == [body["id"]]


def test_an_idempotency_key_sends_once(client: TestClient, acme: dict[str, str]) -> None:
    message = {"from": NUMBER, "to": RECIPIENT, "body": "Once"}
    headers = {**acme, "Idempotency-Key": "k-1"}
    first = client.post("/v1/messages", headers=headers, json=message)
    again = client.post("/v1/messages", headers=headers, json=message)
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    other = client.post("/v1/messages", headers=headers, json={**message, "body": "Twice"})
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency.mismatch"
    assert len(client.get("/v1/messages", headers=acme).json()["messages"]) == 1


@pytest.mark.parametrize(
    ("message", "status", "code", "rule"),
    [
        ({"to": "+33612345679"}, 403, "sms.consent_missing", "M3"),
        ({"from": "+33199999999"}, 403, "sms.sender_not_owned", "M6"),
        ({"to": "+33899123456"}, 403, "sms.premium", "M1"),
        ({"body": "CBD oil, 20% off"}, 403, "sms.content_restricted", "M4"),
    ],
)
def test_a_refusal_names_its_rule_and_the_dry_run_agrees(
    client: TestClient,
    acme: dict[str, str],
    *,
    message: dict[str, str],
    status: int,
    code: str,
    rule: str,
) -> None:
    wanted = {"from": NUMBER, "to": RECIPIENT, "body": "Hello", **message}
    dry = client.post("/v1/messages/check", headers=acme, json=wanted).json()
    assert (dry["allowed"], dry["code"], dry["rule"]) == (False, code, rule)
    refused = client.post("/v1/messages", headers=acme, json=wanted)
    assert refused.status_code == status
    assert (refused.json()["code"], refused.json()["rule"]) == (code, rule)
    assert client.get("/v1/messages", headers=acme).json()["messages"] == []
    audit = client.get("/v1/audit", headers=acme).json()
    assert any(e["code"] == code for e in audit["events"])


def test_an_opt_out_recorded_over_the_api_is_honoured(
    client: TestClient, acme: dict[str, str]
) -> None:
    made = client.post("/v1/opt-outs", headers=acme, json={"recipient": RECIPIENT})
    assert made.status_code == 201
    refused = client.post(
        "/v1/messages", headers=acme, json={"from": NUMBER, "to": RECIPIENT, "body": "Hi"}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "sms.opted_out")
    proof = client.get("/v1/consents/proof", headers=acme, params={"recipient": RECIPIENT}).json()
    assert proof["consents"][0]["wording"] == "I agree to receive texts from Acme."
    assert proof["opt_outs"][0]["source"] == "api"


def test_bad_requests_are_clear(client: TestClient, acme: dict[str, str]) -> None:
    empty = client.post(
        "/v1/messages", headers=acme, json={"from": NUMBER, "to": RECIPIENT, "body": ""}
    )
    assert (empty.status_code, empty.json()["code"]) == (400, "request.invalid")
    missing = client.post("/v1/messages", headers=acme, json={"to": RECIPIENT, "body": "x"})
    assert missing.status_code == 400
    assert client.get("/v1/messages/SMnope", headers=acme).json()["code"] == "message.not_found"


def test_smpp_logins_are_made_listed_and_revoked(client: TestClient, acme: dict[str, str]) -> None:
    made = client.post("/v1/smpp/logins", headers=acme, json={"system_id": "acme-crm"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert len(body["password"]) == 8
    assert body["port"] == 2775
    listed = client.get("/v1/smpp/logins", headers=acme).json()["logins"]
    assert [entry["system_id"] for entry in listed] == ["acme-crm"]
    assert "password" not in listed[0]
    taken = client.post("/v1/smpp/logins", headers=acme, json={"system_id": "acme-crm"})
    assert (taken.status_code, taken.json()["code"]) == (409, "smpp_login.taken")
    assert client.delete(f"/v1/smpp/logins/{body['id']}", headers=acme).status_code == 204
    assert client.get("/v1/smpp/logins", headers=acme).json()["logins"][0]["revoked_at"]
