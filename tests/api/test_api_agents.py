"""``/v1/agents`` and ``/v1/agent-reports`` over HTTP: create from a template, the
errors' shape, secrets never shown, knowledge and its CSV import (body or multipart),
numbers routed to agents of the account only, and a call's link to its report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.agents.turns import AI_LABEL
from dialtone.services.agents import reports
from dialtone.services.agents.reports import Utterance
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord

from .conftest import auth, new_account

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
NUMBER = "+33123456789"


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> tuple[str, dict[str, str]]:
    account_id, key = new_account(sessions, "Acme")
    return account_id, auth(key)


def _agent(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "Ava")
    made = client.post("/v1/agents", json=fields, headers=headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_an_agent_is_created_shown_changed_and_deleted(
    client: TestClient, acme: tuple[str, dict[str, str]]
) -> None:
    _, headers = acme
    made = _agent(
        client,
        headers,
        purpose="sales",
        business_name="Acme",
        timezone="Europe/Paris",
        hours=[{"weekday": 0, "opens": "09:00", "closes": "17:00"}],
        transfer_targets=[{"kind": "number", "ref": "+33612345678", "label": "boss"}],
        calendar_url="https://dav.example/cal/",
        calendar_username="ann",
        calendar_password="s3cret",
    )
    assert made["greeting"].startswith("Thank you for calling {business_name}")
    assert made["calendar_password_set"] is True
    assert "s3cret" not in str(made)
    assert client.get(f"/v1/agents/{made['id']}", headers=headers).json() == made
    assert [a["id"] for a in client.get("/v1/agents", headers=headers).json()["agents"]] == [
        made["id"]
    ]
    changed = client.patch(
        f"/v1/agents/{made['id']}",
        json={"voice": "bella", "calendar_password": None, "calendar_username": None},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["voice"], body["calendar_password_set"], body["name"]) == ("bella", False, "Ava")
    gone = client.delete(f"/v1/agents/{made['id']}", headers=headers)
    assert gone.json() == {"id": made["id"], "released_numbers": []}
    missing = client.get(f"/v1/agents/{made['id']}", headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "agent.not_found")


@pytest.mark.parametrize(
    ("body", "code", "rule"),
    [
        ({"name": "Ava", "timezone": "Nowhere/City"}, "agent.invalid", None),
        ({"name": "Ava", "instructions": "Pretend to be a human."}, "agent.invalid", "A4"),
        ({"greeting": "hi"}, "agent.invalid", None),
        ({"name": "Ava", "voice": None}, "agent.invalid", None),
        ({"name": "Ava", "colour": "red"}, "request.invalid", None),
    ],
)
def test_refusals_carry_a_code_and_their_rule(
    client: TestClient,
    acme: tuple[str, dict[str, str]],
    body: dict[str, Any],
    code: str,
    rule: str | None,
) -> None:
    refused = client.post("/v1/agents", json=body, headers=acme[1])
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == code
    assert refused.json().get("rule") == rule


def test_another_accounts_agent_is_out_of_reach(
    client: TestClient, acme: tuple[str, dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    theirs = _agent(client, acme[1])
    _, other_key = new_account(sessions, "Globex")
    other = auth(other_key)
    for method, path in [
        ("GET", f"/v1/agents/{theirs['id']}"),
        ("PATCH", f"/v1/agents/{theirs['id']}"),
        ("DELETE", f"/v1/agents/{theirs['id']}"),
        ("GET", f"/v1/agents/{theirs['id']}/knowledge"),
    ]:
        response = client.request(
            method, path, json={} if method == "PATCH" else None, headers=other
        )
        assert (response.status_code, response.json()["code"]) == (404, "agent.not_found"), path
    assert client.get("/v1/agents", headers=other).json() == {"agents": []}


def test_knowledge_is_added_imported_and_deleted(
    client: TestClient, acme: tuple[str, dict[str, str]]
) -> None:
    headers = acme[1]
    agent = _agent(client, headers)["id"]
    base = f"/v1/agents/{agent}/knowledge"
    one = client.post(base, json={"question": "Open?", "answer": "9-5"}, headers=headers)
    assert one.status_code == 201, one.text
    csv_body = "question,answer\nParking?,Yes\n"
    imported = client.post(
        f"{base}/import", content=csv_body, headers={**headers, "Content-Type": "text/csv"}
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["added"] == 1
    form = client.post(
        f"{base}/import",
        files={"file": ("faq.csv", b"question,answer\r\nPets?,No\r\n", "text/csv")},
        headers=headers,
    )
    assert form.status_code == 201, form.text
    listed = client.get(base, headers=headers).json()["entries"]
    assert [e["question"] for e in listed] == ["Open?", "Parking?", "Pets?"]
    bad = client.post(
        f"{base}/import?replace=true",
        content="question,answer\nok,yes\n,missing\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "agent.csv_invalid"
    assert bad.json()["details"]["errors"] == [{"line": 3, "error": "the question is empty"}]
    assert len(client.get(base, headers=headers).json()["entries"]) == 3
    latin = client.post(
        f"{base}/import", content="question,answer\ncaf\xe9,x\n".encode("latin-1"), headers=headers
    )
    assert latin.json()["code"] == "agent.csv_invalid"
    gone = client.delete(f"{base}/{listed[0]['id']}", headers=headers)
    assert gone.status_code == 204
    again = client.delete(f"{base}/{listed[0]['id']}", headers=headers)
    assert again.json()["code"] == "agent_knowledge.not_found"


def test_a_number_routes_to_an_agent_and_its_call_links_the_report(
    client: TestClient, acme: tuple[str, dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    account_id, headers = acme
    assert client.post("/v1/numbers", json={"number": NUMBER}, headers=headers).status_code == 201
    agent = _agent(client, headers)["id"]
    _, other_key = new_account(sessions, "Globex")
    foreign = _agent(client, auth(other_key))["id"]
    refused = client.put(
        f"/v1/numbers/{NUMBER}/route", json={"kind": "agent", "target": foreign}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "route.invalid")
    routed = client.put(
        f"/v1/numbers/{NUMBER}/route", json={"kind": "agent", "target": agent}, headers=headers
    )
    assert routed.status_code == 200, routed.text
    assert (routed.json()["kind"], routed.json()["target"]) == ("agent", agent)

    with transaction(sessions) as session:
        for n in range(2):
            session.add(
                CallRecord(
                    id=f"CA{n}",
                    account_id=account_id,
                    direction="inbound",
                    from_number="+33600000000",
                    to_number=NUMBER,
                    started_at=NOW + timedelta(minutes=n),
                    ended_at=NOW + timedelta(minutes=n, seconds=30),
                    duration=Decimal(30),
                    billed_seconds=60,
                    billing_increment="60/60",
                    status="completed",
                    hangup_cause="caller-bye",
                    sip_call_id=f"call-{n}",
                    sip_local_tag=f"tag-{n}",
                )
            )
        report = reports.save_report(
            session,
            account_id=account_id,
            agent_id=agent,
            call_id="CA1",
            started_at=NOW,
            ended_at=NOW + timedelta(seconds=30),
            outcome="message",
            summary="Took a message.",
            transcript=(Utterance("agent", "Hello, I am an AI assistant.", 0, 2),),
            now=NOW,
        ).id

    call = client.get("/v1/calls/CA1", headers=headers).json()
    assert call["agent_report"] == {"id": report, "url": f"/v1/agent-reports/{report}"}
    assert client.get("/v1/calls/CA0", headers=headers).json()["agent_report"] is None
    listed = {
        c["id"]: c["agent_report"] for c in client.get("/v1/calls", headers=headers).json()["calls"]
    }
    assert listed == {"CA0": None, "CA1": call["agent_report"]}

    shown = client.get(f"/v1/agent-reports/{report}", headers=headers).json()
    assert (shown["call_id"], shown["from"], shown["ai_generated"]) == ("CA1", "", True)
    assert shown["summary"] == f"{AI_LABEL} Took a message."
    assert shown["transcript"][0]["label"] == AI_LABEL
    page = client.get(f"/v1/agent-reports?agent_id={agent}&outcome=message", headers=headers)
    assert [r["id"] for r in page.json()["reports"]] == [report]
    assert client.get("/v1/agent-reports?outcome=booked", headers=headers).json()["reports"] == []
    wrong = client.get("/v1/agent-reports?outcome=won", headers=headers)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "agent_report.invalid")
    other = client.get(f"/v1/agent-reports/{report}", headers=auth(other_key))
    assert (other.status_code, other.json()["code"]) == (404, "agent_report.not_found")

    deleted = client.delete(f"/v1/agents/{agent}", headers=headers).json()
    assert deleted["released_numbers"] == [NUMBER]
    route = client.get(f"/v1/numbers/{NUMBER}/route", headers=headers).json()
    assert route["kind"] == "greeting"
    assert client.get(f"/v1/agent-reports/{report}", headers=headers).status_code == 200
