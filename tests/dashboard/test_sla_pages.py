"""The SLA page: incidents, availability per location and month (S1, S4), and credit
claims made from its form through the same service as ``POST /v1/sla/claims``; refused
without CSRF or ``sla.claim``; one account never sees another's claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.v1 import sla as sla_api
from dialtone.services.billing import invoicing, sla, subscriptions
from dialtone.store.db import transaction
from tests.dashboard.conftest import form_token, new_account, new_person, sign_in

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SLA clock (the API's, which the console reads too) set to ``NOW``."""
    monkeypatch.setattr(sla_api, "now", lambda: NOW)


def _customer(sessions: sessionmaker[Session], name: str, email: str) -> tuple[str, str]:
    account_id, key = new_account(sessions, name)
    with transaction(sessions) as session:
        subscriptions.subscribe(
            session, account_id, plan_code="essential", currency="EUR", country="FR", now=JAN,
            accesses=2,
        )  # fmt: skip
        invoicing.issue(session, account_id, now=JAN)
        invoicing.issue(session, account_id, now=JAN + timedelta(days=30))
    new_person(sessions, account_id, "administrator", email)
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


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_incidents_and_availability_of_a_month(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _customer(sessions, "Acme", "ada@acme.test")
    _february_outages(sessions)
    sign_in(client, "ada@acme.test")
    page = client.get("/console/sla?month=2026-02")
    assert page.status_code == 200, page.text
    assert "media relay restart" in page.text
    assert '<th scope="row">paris-1</th><td class="num">40</td>' in page.text
    assert '<th scope="row">lyon-1</th><td class="num">10</td>' in page.text
    assert 'id="claim-form"' in page.text
    # The six months up to this one, February linked.
    assert 'href="/console/sla?month=2026-02"' in page.text
    assert 'href="/console/sla?month=2026-03"' in page.text
    march = client.get("/console/sla").text
    assert "media relay restart" not in march
    assert "No incident this month." in march


@pytest.mark.parametrize("month", ["2026-13", "Feb", "2026-2"])
def test_a_malformed_month_is_refused(
    client: TestClient, sessions: sessionmaker[Session], month: str
) -> None:
    _customer(sessions, "Acme", "ada@acme.test")
    sign_in(client, "ada@acme.test")
    answer = client.get(f"/console/sla?month={month}")
    assert answer.status_code == 400
    assert "sla.invalid" in answer.text


@pytest.mark.parametrize("role", ["guest", "user"])
def test_roles_without_billing_read_are_refused(
    client: TestClient, sessions: sessionmaker[Session], role: str
) -> None:
    account_id, _ = _customer(sessions, "Acme", "ada@acme.test")
    new_person(sessions, account_id, role, f"{role}@acme.test")
    sign_in(client, f"{role}@acme.test")
    answer = client.get("/console/sla")
    assert answer.status_code == 403
    assert "permission.denied" in answer.text
    assert "D1" in answer.text


def test_a_manager_reads_but_may_not_claim(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, key = _customer(sessions, "Acme", "ada@acme.test")
    _february_outages(sessions)
    new_person(sessions, account_id, "manager", "max@acme.test")
    sign_in(client, "max@acme.test")
    page = client.get("/console/sla?month=2026-02")
    assert page.status_code == 200
    assert 'id="claim-form"' not in page.text
    answer = client.post(
        "/console/sla/claims",
        data={"csrf": form_token(page.text), "rule": "S1", "month": "2026-02",
              "location": "paris-1"},
    )  # fmt: skip
    assert answer.status_code == 403
    assert "permission.denied" in answer.text
    assert client.get("/v1/sla/claims", headers=_auth(key)).json() == {"claims": []}


def test_an_s1_claim_is_made_from_the_form(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = _customer(sessions, "Acme", "ada@acme.test")
    _february_outages(sessions)
    sign_in(client, "ada@acme.test")
    token = form_token(client.get("/console/sla").text)
    answer = client.post(
        "/console/sla/claims",
        data={"csrf": token, "rule": "S1", "month": "2026-02", "location": "paris-1"},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/sla?done=sla.claimed"
    [claim] = client.get("/v1/sla/claims", headers=_auth(key)).json()["claims"]
    assert (claim["rule"], claim["month"], claim["location"]) == ("S1", "2026-02", "paris-1")
    page = client.get(answer.headers["location"]).text
    assert "Your claim is recorded" in page
    assert claim["detail"] in page


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        # 10 minutes at lyon-1: S1 credits from 15 minutes.
        ({"rule": "S1", "month": "2026-02", "location": "lyon-1"}, 409, "sla.nothing_due"),
        ({"rule": "S1", "month": "2026-02", "location": ""}, 400, "sla.invalid"),
        ({"rule": "S4", "month": "2026-02", "location": "paris-1"}, 400, "sla.invalid"),
        ({"rule": "S9", "month": "2026-02", "location": ""}, 400, "sla.invalid"),
        ({"rule": "S1", "month": "", "location": "paris-1"}, 400, "sla.invalid"),
        ({"rule": "S1", "month": "2026-03", "location": "paris-1"}, 409, "sla.month_open"),
    ],
)
def test_a_claim_the_rules_refuse_shows_why(
    client: TestClient,
    sessions: sessionmaker[Session],
    data: dict[str, str],
    status: int,
    code: str,
) -> None:
    _, key = _customer(sessions, "Acme", "ada@acme.test")
    _february_outages(sessions)
    sign_in(client, "ada@acme.test")
    token = form_token(client.get("/console/sla").text)
    answer = client.post("/console/sla/claims", data={"csrf": token, **data})
    assert answer.status_code == status, answer.text
    assert code in answer.text
    assert client.get("/v1/sla/claims", headers=_auth(key)).json() == {"claims": []}
    if data["rule"] in ("S1", "S4") and data["month"] == "2026-02":
        # The API refuses the same claim with the same code: one rule, two doors.
        api = client.post(
            "/v1/sla/claims",
            json={"rule": data["rule"], "year": 2026, "month": 2, "location": data["location"]},
            headers=_auth(key),
        )
        assert api.json()["code"] == code


def test_a_claim_is_refused_without_its_csrf_token(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = _customer(sessions, "Acme", "ada@acme.test")
    _february_outages(sessions)
    sign_in(client, "ada@acme.test")
    data = {"rule": "S1", "month": "2026-02", "location": "paris-1"}
    for sent in (data, {**data, "csrf": "wrong"}):
        answer = client.post("/console/sla/claims", data=sent)
        assert answer.status_code == 403
        assert "console.csrf_failed" in answer.text
    assert client.get("/v1/sla/claims", headers=_auth(key)).json() == {"claims": []}


def test_another_account_never_sees_the_first_accounts_claims(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    first, _ = _customer(sessions, "Acme", "ada@acme.test")
    _customer(sessions, "Globex", "gil@globex.test")
    _february_outages(sessions)
    with transaction(sessions) as session:
        claim = sla.claim_s1(session, first, "paris-1", 2026, 2, tz=ZoneInfo("UTC"), now=NOW)
        claim_id, detail = claim.id, claim.detail
    sign_in(client, "gil@globex.test")
    page = client.get("/console/sla?month=2026-02").text
    assert detail not in page
    assert claim_id not in page
    assert "No claim yet." in page
    # Incidents are the platform's: every account sees them.
    assert "media relay restart" in page
