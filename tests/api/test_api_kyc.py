"""TERMS N3 over the API: a number the customer leases takes calls once its documents
are approved; a false declaration has 8 days to be corrected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.services.numbering import kyc
from dialtone.services.telephony import routing
from dialtone.settings import Settings
from dialtone.store.db import transaction

from .conftest import auth, new_account


@pytest.fixture
def strict(tmp_path: Path, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "var", _env_file=None)  # type: ignore[call-arg]
    assert settings.kyc_required  # the terms' default
    with TestClient(create_app(settings, sessions)) as client:
        yield client


def _send(client: TestClient, key: str, kind: str, country: str | None = None) -> None:
    query = f"?country={country}" if country else ""
    sent = client.put(
        f"/v1/kyc/documents/{kind}{query}",
        content=b"%PDF-1.7 " + kind.encode(),
        headers={**auth(key), "Content-Type": "application/pdf"},
    )
    assert sent.status_code == 200, sent.text


def test_a_number_waits_for_its_documents(
    strict: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, key = new_account(sessions, "Acme")
    added = strict.post("/v1/numbers", json={"number": "+33123456789"}, headers=auth(key))
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["activated_at"] is None
    assert (body["activation"]["code"], body["activation"]["rule"]) == (
        "kyc.documents_missing",
        "N3",
    )
    with transaction(sessions) as session:  # not activated: no route for calls (404)
        assert routing.route_for(session, "+33123456789") is None

    _send(strict, key, "company_registration")
    _send(strict, key, "identity")
    _send(strict, key, "proof_of_address", "DE")  # an address outside France
    [waiting] = strict.get("/v1/kyc", headers=auth(key)).json()["waiting_numbers"]
    assert waiting["activation"]["code"] == "kyc.address_outside_zone"
    _send(strict, key, "proof_of_address", "FR")
    [waiting] = strict.get("/v1/kyc", headers=auth(key)).json()["waiting_numbers"]
    assert waiting["activation"]["code"] == "kyc.documents_pending"

    now = datetime.now(UTC)
    with transaction(sessions) as session:
        for kind in ("company_registration", "identity"):
            assert kyc.review(session, account_id, kind, approve=True, now=now) == []
        activated = kyc.review(session, account_id, "proof_of_address", approve=True, now=now)
    assert activated == ["+33123456789"]
    assert strict.get("/v1/kyc", headers=auth(key)).json()["waiting_numbers"] == []
    with transaction(sessions) as session:
        assert routing.route_for(session, "+33123456789") is not None
    # With the documents approved, the next number is activated as it is leased.
    again = strict.post("/v1/numbers", json={"number": "+33123456790"}, headers=auth(key))
    assert again.json()["activation"] == {"allowed": True}
    assert again.json()["activated_at"] is not None


@pytest.mark.parametrize(
    ("after", "closed"),
    [(timedelta(days=8) - timedelta(seconds=1), False), (timedelta(days=8), True)],
)
def test_a_false_declaration_not_corrected_in_8_days_ends_the_service(
    strict: TestClient, sessions: sessionmaker[Session], after: timedelta, closed: bool
) -> None:
    account_id, key = new_account(sessions, "Acme")
    _send(strict, key, "identity")
    notified = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with transaction(sessions) as session:
        kyc.review(
            session,
            account_id,
            "identity",
            approve=False,
            now=notified,
            note="name mismatch",
            false_declaration=True,
        )
    status = strict.get("/v1/kyc", headers=auth(key)).json()
    assert status["correction_due"].startswith("2026-12-09T09:00")
    with transaction(sessions) as session:
        ended = kyc.review_corrections(session, notified + after)
    assert ended == ([account_id] if closed else [])
    events = strict.get("/v1/audit", headers=auth(key)).json()["events"]
    codes = [e["code"] for e in events]
    assert "kyc.correction_notice" in codes
    assert ("kyc.correction_overdue" in codes) is closed
