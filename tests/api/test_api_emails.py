"""``/v1/emails`` and ``/v1/email`` (TERMS M9): an email is committed before its 202; a
refusal is a JSON error with its code and rule, on the audit log; the unsubscribe link
needs no key and a GET changes nothing; the suppression list is the account's, but an
unsubscribe is the recipient's."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.settings import Settings

from .conftest import auth, new_account

RECEIPT = {"to": "ann@example.com", "subject": "Your receipt", "text": "Thank you."}
OFFER = {
    "to": "ann@example.com",
    "subject": "Winter offer",
    "text": "Twenty per cent off.",
    "kind": "marketing",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "var",
        smtp_host="smtp.example.com",
        email_from="news@acme.example",
        email_unsubscribe_base_url="https://dialtone.example",
        _env_file=None,
    )


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> dict[str, str]:
    return auth(new_account(sessions, "Acme")[1])


def _with_address(client: TestClient, headers: dict[str, str]) -> None:
    patched = client.patch(
        "/v1/account", json={"postal_address": "Acme SAS\n1 rue de la Paix"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["postal_address"] == "Acme SAS\n1 rue de la Paix"


def _refused(response: Any, status: int, code: str, rule: str | None) -> None:
    assert response.status_code == status, response.text
    assert (response.json()["code"], response.json().get("rule")) == (code, rule)


def test_send_list_get_and_idempotency(client: TestClient, acme: dict[str, str]) -> None:
    sent = client.post("/v1/emails", json=RECEIPT, headers=acme | {"Idempotency-Key": "r1"})
    assert sent.status_code == 202, sent.text
    body = sent.json()
    assert (body["from"], body["to"], body["status"], body["kind"]) == (
        "news@acme.example",
        "ann@example.com",
        "queued",
        "transactional",
    )
    assert body["message_id"] == f"<{body['id']}@acme.example>"
    again = client.post("/v1/emails", json=RECEIPT, headers=acme | {"Idempotency-Key": "r1"})
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    other = RECEIPT | {"subject": "Another"}
    _refused(
        client.post("/v1/emails", json=other, headers=acme | {"Idempotency-Key": "r1"}),
        409,
        "idempotency.mismatch",
        None,
    )
    listed = client.get("/v1/emails", headers=acme).json()["emails"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert client.get("/v1/emails?kind=marketing", headers=acme).json()["emails"] == []
    assert client.get(f"/v1/emails/{body['id']}", headers=acme).json()["id"] == body["id"]


def test_another_accounts_email_is_not_found(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    sent = client.post("/v1/emails", json=RECEIPT, headers=acme).json()
    globex = auth(new_account(sessions, "Globex")[1])
    _refused(client.get(f"/v1/emails/{sent['id']}", headers=globex), 404, "email.not_found", None)


def test_marketing_without_a_postal_address_is_refused_and_audited(
    client: TestClient, acme: dict[str, str]
) -> None:
    _refused(
        client.post("/v1/emails", json=OFFER, headers=acme),
        403,
        "email.postal_address_missing",
        "M9",
    )
    events = client.get("/v1/audit", headers=acme).json()["events"]
    assert any(e["code"] == "email.postal_address_missing" for e in events)
    assert client.get("/v1/emails", headers=acme).json()["emails"] == []
    _with_address(client, acme)
    sent = client.post("/v1/emails", json=OFFER, headers=acme)
    assert sent.status_code == 202, sent.text
    assert "Acme SAS\n1 rue de la Paix" in sent.json()["text"]
    assert sent.json()["list_unsubscribe"].startswith(
        "<https://dialtone.example/v1/email/unsubscribe/"
    )
    cleared = client.patch("/v1/account", json={"postal_address": ""}, headers=acme)
    assert cleared.json()["postal_address"] is None


@pytest.mark.parametrize(
    ("body", "status", "code", "rule"),
    [
        (OFFER | {"to": "info@example.com"}, 403, "email.role_address", "M9"),
        (RECEIPT | {"text": "Reply with your card number"}, 403, "email.sensitive_data", "M9"),
        (RECEIPT | {"to": "ann"}, 400, "email.invalid", None),
        (RECEIPT | {"kind": "newsletter"}, 400, "request.invalid", None),
    ],
)
def test_refusals_carry_their_code_and_rule(
    *,
    client: TestClient,
    acme: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
    rule: str | None,
) -> None:
    _with_address(client, acme)
    _refused(client.post("/v1/emails", json=body, headers=acme), status, code, rule)


def test_the_dry_run_lists_every_check(client: TestClient, acme: dict[str, str]) -> None:
    verdict = client.post("/v1/emails/check", json=OFFER, headers=acme).json()
    assert (verdict["allowed"], verdict["code"], verdict["rule"]) == (
        False,
        "email.postal_address_missing",
        "M9",
    )
    assert [c["check"] for c in verdict["checks"]] == [
        "suppression",
        "role_address",
        "sensitive_data",
        "marketing",
    ]
    assert client.get("/v1/emails", headers=acme).json()["emails"] == []


def test_no_relay_configured_is_503(
    tmp_path: Path, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    plain = Settings(data_dir=tmp_path / "var2", _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(plain, sessions)) as client:
        _refused(client.post("/v1/emails", json=RECEIPT, headers=acme), 503, "email.disabled", None)


def _link(client: TestClient, headers: dict[str, str]) -> str:
    _with_address(client, headers)
    sent = client.post("/v1/emails", json=OFFER, headers=headers).json()
    return str(urlsplit(sent["list_unsubscribe"].strip("<>")).path)


def test_the_unsubscribe_link_needs_no_key_and_a_get_changes_nothing(
    client: TestClient, acme: dict[str, str]
) -> None:
    path = _link(client, acme)
    page = client.get(path)
    assert page.status_code == 200
    assert "ann@example.com" in page.text
    assert '<form method="post">' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert client.get("/v1/email/suppressions", headers=acme).json()["suppressions"] == []
    _refused(client.post(path), 400, "request.invalid", None)  # no one-click body
    _refused(client.post(path, data={"List-Unsubscribe": "Other"}), 400, "request.invalid", None)
    done = client.post(path, files={"List-Unsubscribe": (None, "One-Click")})  # multipart
    assert done.status_code == 200, done.text
    assert "ann@example.com" in done.text
    [entry] = client.get("/v1/email/suppressions", headers=acme).json()["suppressions"]
    assert entry["reason"] == "unsubscribe"
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # again
    [queued] = client.get("/v1/emails", headers=acme).json()["emails"]
    assert queued["status"] == "suppressed"  # honoured at once, queued mail too
    _refused(client.post("/v1/emails", json=OFFER, headers=acme), 403, "email.suppressed", "M9")


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + "AA", lambda t: "x" + t, lambda t: "nope"])
def test_a_forged_link_is_not_found(client: TestClient, acme: dict[str, str], tamper: Any) -> None:
    path = _link(client, acme)
    prefix, token = path.rsplit("/", 1)
    forged = f"{prefix}/{tamper(token)}"
    _refused(client.get(forged), 404, "email.unsubscribe_invalid", None)
    _refused(
        client.post(forged, data={"List-Unsubscribe": "One-Click"}),
        404,
        "email.unsubscribe_invalid",
        None,
    )


def test_the_suppression_list(client: TestClient, acme: dict[str, str]) -> None:
    added = client.post("/v1/email/suppressions", json={"address": "Bob@Example.com"}, headers=acme)
    assert added.status_code == 201, added.text
    assert (added.json()["address"], added.json()["reason"]) == ("bob@example.com", "manual")
    _refused(
        client.post("/v1/emails", json=RECEIPT | {"to": "bob@example.com"}, headers=acme),
        403,
        "email.suppressed",
        "M9",
    )
    assert client.delete("/v1/email/suppressions/bob@example.com", headers=acme).status_code == 204
    assert (
        client.post(
            "/v1/emails", json=RECEIPT | {"to": "bob@example.com"}, headers=acme
        ).status_code
        == 202
    )
    _refused(
        client.delete("/v1/email/suppressions/bob@example.com", headers=acme),
        404,
        "suppression.not_found",
        None,
    )
    _refused(
        client.post("/v1/email/suppressions", json={"address": "bob"}, headers=acme),
        400,
        "email.invalid",
        None,
    )
    only_theirs = {"address": "carl@example.com", "reason": "unsubscribe"}
    _refused(
        client.post("/v1/email/suppressions", json=only_theirs, headers=acme),
        400,
        "request.invalid",
        None,
    )
    path = _link(client, acme)
    client.post(path, data={"List-Unsubscribe": "One-Click"})
    _refused(
        client.delete("/v1/email/suppressions/ann@example.com", headers=acme),
        409,
        "suppression.unsubscribed",
        "M9",
    )
