"""``/v1/sla`` (TERMS S1, S4): incidents and availability, claims over the API (refusals
with their code and rule), credits on the next invoice, roles and isolation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.api.v1 import sla as sla_api
from dialtone.services.accounts import api_keys
from dialtone.services.billing import invoicing, sla, subscriptions
from dialtone.services.telephony import users
from dialtone.settings import Settings
from dialtone.store.db import transaction

from .conftest import auth, new_account

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def sla_client(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app with the SLA router (mounted here until app.py includes it), its clock
    set to ``NOW``."""
    app = create_app(settings, sessions)
    paths = {r.path for r in app.routes if isinstance(r, APIRoute)}
    if "/v1/sla/claims" not in paths:
        app.include_router(sla_api.router)
    monkeypatch.setattr(sla_api, "now", lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


def _customer(
    sessions: sessionmaker[Session], name: str, plan: str = "essential"
) -> tuple[str, str]:
    account_id, key = new_account(sessions, name)
    with transaction(sessions) as session:
        subscriptions.subscribe(
            session, account_id, plan_code=plan, currency="EUR", country="FR", now=JAN,
            accesses=2,
        )  # fmt: skip
        invoicing.issue(session, account_id, now=JAN)
        # Monthly is 30 days (B6): the second invoice, of 31 January, bills 1 February.
        invoicing.issue(session, account_id, now=JAN + timedelta(days=30))
    return account_id, key


def _february_outages(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        start = FEB + timedelta(days=9)
        sla.report_incident(
            session, location="paris-1", start=start, end=start + timedelta(minutes=40),
            cause="platform", now=NOW, note="media relay restart",
        )  # fmt: skip
        sla.record_health(session, "lyon-1", False, start)
        sla.record_health(session, "lyon-1", True, start + timedelta(minutes=10))


def _post(client: TestClient, key: str, body: dict[str, Any]) -> Any:
    return client.post("/v1/sla/claims", json=body, headers=auth(key))


def test_incidents_and_availability(
    sla_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = _customer(sessions, "Acme")
    _february_outages(sessions)
    listed = sla_client.get("/v1/sla/incidents?year=2026&month=2", headers=auth(key)).json()
    assert [(i["location"], i["source"], i["cause"]) for i in listed["incidents"]] == [
        ("lyon-1", "health_check", "platform"),
        ("paris-1", "reported", "platform"),
    ]
    assert listed["incidents"][1]["note"] == "media relay restart"
    at_lyon = sla_client.get("/v1/sla/incidents?location=lyon-1", headers=auth(key)).json()
    assert len(at_lyon["incidents"]) == 1
    assert sla_client.get("/v1/sla/incidents?year=2026&month=3", headers=auth(key)).json() == {
        "incidents": []
    }
    half = sla_client.get("/v1/sla/incidents?year=2026", headers=auth(key))
    assert (half.status_code, half.json()["code"]) == (400, "sla.invalid")
    report = sla_client.get("/v1/sla/availability?year=2026&month=2", headers=auth(key)).json()
    assert report["month"] == "2026-02"
    assert [(m["location"], m["downtime_minutes"], m["s1_days"]) for m in report["locations"]] == [
        ("lyon-1", 10, 0),
        ("paris-1", 40, 2),
    ]
    # 40 minutes of 40 320 (the overlapping 10 at Lyon count once): 99.9007… % → 5 %.
    assert report["availability"].startswith("99.9007")
    assert report["s4_percent"] == "5"


def test_claims_end_on_the_next_invoice(
    sla_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, key = _customer(sessions, "Acme")
    _, other_key = _customer(sessions, "Globex")
    _february_outages(sessions)
    made = _post(sla_client, key, {"rule": "S1", "year": 2026, "month": 2, "location": "paris-1"})
    assert made.status_code == 201, made.text
    s1 = made.json()
    # 40 minutes → 2 days of 2 × 19.00 a month: 76 / 30 = 2.5333…
    assert (s1["rule"], s1["month"], s1["location"], s1["amount"], s1["currency"]) == (
        "S1", "2026-02", "paris-1", "2.53", "EUR",
    )  # fmt: skip
    assert s1["invoice_id"] is None
    again = _post(sla_client, key, {"rule": "S1", "year": 2026, "month": 2, "location": "paris-1"})
    assert again.status_code == 409
    assert (again.json()["code"], again.json()["rule"]) == ("sla.already_claimed", "S1")
    lyon = _post(sla_client, key, {"rule": "S1", "year": 2026, "month": 2, "location": "lyon-1"})
    assert (lyon.status_code, lyon.json()["code"]) == (409, "sla.nothing_due")
    # S4: the invoice of 31 January bills 1 February: 5 % of its 38.00.
    s4 = _post(sla_client, key, {"rule": "S4", "year": 2026, "month": 2}).json()
    assert (s4["rule"], s4["location"], s4["amount"]) == ("S4", "", "1.90")
    late = _post(sla_client, key, {"rule": "S4", "year": 2026, "month": 1})
    assert (late.status_code, late.json()["code"], late.json()["rule"]) == (
        409, "sla.claim_late", "S4",
    )  # fmt: skip
    running = _post(sla_client, key, {"rule": "S4", "year": 2026, "month": 3})
    assert running.json()["code"] == "sla.month_open"
    for bad in (
        {"rule": "S1", "year": 2026, "month": 2},
        {"rule": "S4", "year": 2026, "month": 2, "location": "paris-1"},
    ):
        response = _post(sla_client, key, bad)
        assert (response.status_code, response.json()["code"]) == (400, "sla.invalid")
    assert _post(sla_client, key, {"rule": "S2", "year": 2026, "month": 2}).status_code == 400

    claims = sla_client.get("/v1/sla/claims", headers=auth(key)).json()["claims"]
    assert sorted(c["rule"] for c in claims) == ["S1", "S4"]
    assert sla_client.get("/v1/sla/claims", headers=auth(other_key)).json() == {"claims": []}
    with transaction(sessions) as session:
        invoice = invoicing.issue(session, account_id, now=NOW)  # of 2 March: credited
    invoices = sla_client.get("/v1/invoices", headers=auth(key)).json()
    credited = [ln for inv in invoices for ln in inv["lines"] if ln["kind"] == "sla_credit"]
    assert sorted((ln["amount"], ln["rule"]) for ln in credited) == [
        ("-1.90", "S4"),
        ("-2.53", "S1"),
    ]
    claims = sla_client.get("/v1/sla/claims", headers=auth(key)).json()["claims"]
    assert {c["invoice_id"] for c in claims} == {invoice.id}
    assert invoices[2]["id"] == invoice.id
    # 38.00 − 2.53 − 1.90 = 33.57; VAT 20 % 6.714 → 6.71; 40.28
    assert (invoices[2]["subtotal"], invoices[2]["total"]) == ("33.57", "40.28")


def test_trials_have_no_s4(sla_client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = _customer(sessions, "Trialist", plan="trial")
    _february_outages(sessions)
    response = _post(sla_client, key, {"rule": "S4", "year": 2026, "month": 2})
    assert response.status_code == 403
    body = response.json()
    assert (body["code"], body["rule"], body["details"]) == (
        "sla.not_covered", "S4", {"reason": "trial"},
    )  # fmt: skip


def test_managers_read_and_administrators_claim(
    sla_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = _customer(sessions, "Acme")
    with transaction(sessions) as session:
        user = users.create_user(
            session, account_id, name="Manager", now=NOW, role="manager", extension="201",
            realm="dialtone",
        )  # fmt: skip
        key = api_keys.issue(session, account_id, now=NOW, name="m", user_id=user.id).key
    assert sla_client.get("/v1/sla/claims", headers=auth(key)).status_code == 200
    assert sla_client.get("/v1/sla/availability?year=2026&month=2", headers=auth(key)).is_success
    refused = _post(sla_client, key, {"rule": "S4", "year": 2026, "month": 2})
    assert (refused.status_code, refused.json()["code"]) == (403, "permission.denied")
    assert sla_client.get("/v1/sla/claims").status_code == 401
