"""``GET /v1/webhooks``: an account's webhooks by state, paged, without bodies or
passwords; and URLs refused by the SSRF guard when they are saved (400
``webhook.target_refused``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import webhooks
from dialtone.store.db import transaction
from dialtone.store.messaging_models import WebhookDelivery

from .conftest import auth, new_account

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _owe(sessions: sessionmaker[Session], account: str, n: int, url: str, state: str) -> None:
    with transaction(sessions) as session:
        row = webhooks.enqueue_twilio(
            session,
            account,
            url=url,
            method="POST",
            params={"Body": "secret text", "N": n},
            event="message.status",
            now=T0 + timedelta(minutes=n),
        )
        session.flush()
        if state != "pending":
            row.state, row.attempts, row.done_at = state, 3, T0 + timedelta(hours=25)
            row.last_error = "HTTP 500" if state == "failed" else None


def test_webhooks_are_listed_by_state_and_paged(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account, key = new_account(sessions, "Acme")
    other, _ = new_account(sessions, "Other")
    for n, state in enumerate(["failed", "delivered", "failed", "pending", "failed"]):
        _owe(sessions, account, n, f"https://user:pw@app.example/hook/{n}", state)
    _owe(sessions, other, 9, "https://other.example/", "failed")

    listed = client.get("/v1/webhooks", headers=auth(key)).json()
    assert [w["url"][-1] for w in listed["webhooks"]] == ["4", "3", "2", "1", "0"]
    assert listed["next_before"] is None

    failed = client.get("/v1/webhooks", headers=auth(key), params={"state": "failed"}).json()
    first = failed["webhooks"][0]
    assert [w["state"] for w in failed["webhooks"]] == ["failed"] * 3
    assert first["url"] == "https://user:***@app.example/hook/4"
    assert (first["event"], first["format"], first["method"]) == (
        "message.status",
        "twilio",
        "POST",
    )
    assert (first["attempts"], first["last_error"]) == (3, "HTTP 500")
    assert first["done_at"] is not None
    assert "body" not in first
    assert "secret text" not in str(failed)

    page = client.get(
        "/v1/webhooks", headers=auth(key), params={"state": "failed", "limit": 2}
    ).json()
    assert len(page["webhooks"]) == 2
    rest = client.get(
        "/v1/webhooks",
        headers=auth(key),
        params={"state": "failed", "limit": 2, "before": page["next_before"]},
    ).json()
    assert [w["id"] for w in page["webhooks"] + rest["webhooks"]] == [
        w["id"] for w in failed["webhooks"]
    ]
    assert rest["next_before"] is None

    bad = client.get("/v1/webhooks", headers=auth(key), params={"state": "lost"})
    assert bad.status_code in (400, 422)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/sms",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/sms",
        "http://localhost/sms",
        "http://10.0.0.5/sms",
        "ftp://example.com/sms",
    ],
)
def test_private_targets_are_refused_when_saved(
    client: TestClient, sessions: sessionmaker[Session], url: str
) -> None:
    _, key = new_account(sessions, "Acme")
    refused = client.patch("/v1/account", headers=auth(key), json={"sms_webhook_url": url})
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "webhook.target_refused"
    message = client.post(
        "/v1/messages",
        headers=auth(key),
        json={"from": "+33123456789", "to": "+33612345678", "body": "x", "status_callback": url},
    )
    assert message.status_code == 400, message.text
    assert message.json()["code"] == "webhook.target_refused"
    with transaction(sessions) as session:
        assert session.query(WebhookDelivery).count() == 0


def test_a_public_target_is_saved(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    saved = client.patch(
        "/v1/account", headers=auth(key), json={"sms_webhook_url": "https://93.184.216.34/sms"}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["sms_webhook_url"] == "https://93.184.216.34/sms"
