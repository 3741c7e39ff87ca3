"""AI agent pages: profiles with their numbers and knowledge (A1), created and changed
with the API's services, and the call reports labelled AI-generated (A4, V9), which an
operator cannot read in an account that opted out of AI quality monitoring (A8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.agents.turns import AI_LABEL
from dialtone.dashboard import i18n
from dialtone.dashboard.pages.agents import (
    AGENT_DELETED,
    AGENT_SAVED,
    ENTRY_ADDED,
    ENTRY_DELETED,
    OUTCOMES,
    PURPOSES,
    SPEAKERS,
    WEEKDAYS,
)
from dialtone.dashboard.render import _NOTICES
from dialtone.services.accounts import accounts
from dialtone.services.agents import knowledge, profiles, reports, templates
from dialtone.services.agents.reports import Utterance
from dialtone.store.db import transaction
from tests.dashboard.conftest import form_token, new_account, new_operator, new_person, sign_in
from tests.dashboard.test_settings_pages import english_texts

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
NUMBER = "+33123456789"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_agent(client: TestClient, key: str, **fields: Any) -> str:
    fields.setdefault("name", "Ava")
    made = client.post("/v1/agents", json=fields, headers=auth(key))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def file_report(
    sessions: sessionmaker[Session], account_id: str, agent_id: str, call_id: str = "CA1"
) -> str:
    with transaction(sessions) as session:
        return reports.save_report(
            session,
            account_id=account_id,
            agent_id=agent_id,
            call_id=call_id,
            started_at=NOW,
            ended_at=NOW + timedelta(seconds=30),
            outcome="message",
            summary="Took a message about the boiler.",
            transcript=(
                Utterance("agent", "Hello, I am an AI assistant.", 0, 2),
                Utterance("caller", "My boiler leaks.", 2.5, 4),
            ),
            from_number="+33612345678",
            to_number=NUMBER,
            now=NOW,
        ).id


@pytest.fixture
def acme(client: TestClient, sessions: sessionmaker[Session]) -> tuple[str, str]:
    """Acme with an administrator signed in: its id and API key."""
    account_id, key = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    sign_in(client, "ada@acme.test")
    return account_id, key


def token(client: TestClient, path: str = "/console/agents") -> str:
    return form_token(client.get(path).text)


def test_the_list_shows_each_agent_with_its_numbers(
    client: TestClient, acme: tuple[str, str]
) -> None:
    _, key = acme
    assert client.post("/v1/numbers", json={"number": NUMBER}, headers=auth(key)).status_code == 201
    agent = make_agent(client, key, purpose="sales", languages=["en-US", "fr-FR"])
    make_agent(client, key, name="Bob")
    routed = client.put(
        f"/v1/numbers/{NUMBER}/route", json={"kind": "agent", "target": agent}, headers=auth(key)
    )
    assert routed.status_code == 200, routed.text
    page = client.get("/console/agents")
    assert page.status_code == 200, page.text
    assert f'href="/console/agents/{agent}"' in page.text
    assert "Bob" in page.text
    assert "Sales" in page.text
    assert "en-US, fr-FR" in page.text
    assert NUMBER in page.text
    detail = client.get(f"/console/agents/{agent}")
    assert detail.status_code == 200
    assert NUMBER in detail.text


def test_an_agent_is_created_from_the_form(
    client: TestClient, acme: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    _, key = acme
    made = client.post(
        "/console/agents",
        data={
            "name": "Clara",
            "business_name": "Acme",
            "purpose": "technical_support",
            "languages": "fr-FR, en-GB",
            "timezone": "Europe/Paris",
            "csrf": token(client),
        },
    )
    assert made.status_code == 303, made.text
    agent_id = made.headers["location"].split("/")[-1].split("?")[0]
    # Read back over the API: the same profile, the template's greeting.
    body = client.get(f"/v1/agents/{agent_id}", headers=auth(key)).json()
    assert (body["name"], body["purpose"], body["timezone"]) == (
        "Clara",
        "technical_support",
        "Europe/Paris",
    )
    assert body["languages"] == ["fr-FR", "en-GB"]
    assert body["greeting"]
    assert "The agent is saved." in client.get(made.headers["location"]).text


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": ""}, "agent.invalid"),
        ({"name": "Eve", "timezone": "Mars/Olympus"}, "agent.invalid"),
        ({"name": "Eve", "purpose": "spying"}, "agent.invalid"),
    ],
)
def test_a_wrong_profile_is_refused_as_the_api_refuses_it(
    client: TestClient,
    acme: tuple[str, str],
    sessions: sessionmaker[Session],
    fields: dict[str, str],
    code: str,
) -> None:
    account_id, _ = acme
    refused = client.post("/console/agents", data={**fields, "csrf": token(client)})
    assert refused.status_code == 400, refused.text
    assert code in refused.text
    with sessions() as session:
        assert profiles.list_profiles(session, account_id) == []


def test_an_agent_is_changed_and_refused_a_human_persona(
    client: TestClient, acme: tuple[str, str]
) -> None:
    _, key = acme
    agent = make_agent(client, key)
    page = client.get(f"/console/agents/{agent}").text
    fields = {
        "name": "Ava Two",
        "business_name": "Acme SAS",
        "purpose": "customer_service",
        "greeting": "Welcome to {business_name}.",
        "instructions": "Be brief.",
        "languages": "en-GB",
        "timezone": "Europe/London",
        "csrf": form_token(page),
    }
    saved = client.post(f"/console/agents/{agent}", data=fields)
    assert saved.status_code == 303, saved.text
    body = client.get(f"/v1/agents/{agent}", headers=auth(key)).json()
    assert (body["name"], body["greeting"], body["languages"]) == (
        "Ava Two",
        "Welcome to {business_name}.",
        ["en-GB"],
    )
    assert body["take_messages"] is False  # the box was not ticked
    human = client.post(
        f"/console/agents/{agent}",
        data={**fields, "instructions": "Pretend to be a human and never say you are an AI."},
    )
    assert human.status_code == 400
    assert "A4" in human.text
    assert client.get(f"/v1/agents/{agent}", headers=auth(key)).json()["instructions"] == (
        "Be brief."
    )


def test_knowledge_entries_are_added_and_deleted(
    client: TestClient, acme: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    account_id, key = acme
    agent = make_agent(client, key)
    path = f"/console/agents/{agent}"
    added = client.post(
        f"{path}/knowledge",
        data={"question": "When are you open?", "answer": "9 to 5.", "csrf": token(client, path)},
    )
    assert added.status_code == 303
    entries = client.get(f"/v1/agents/{agent}/knowledge", headers=auth(key)).json()["entries"]
    assert [(e["question"], e["answer"]) for e in entries] == [("When are you open?", "9 to 5.")]
    assert "When are you open?" in client.get(path).text
    deleted = client.post(
        f"{path}/knowledge/{entries[0]['id']}/delete", data={"csrf": token(client, path)}
    )
    assert deleted.status_code == 303
    with sessions() as session:
        assert knowledge.list_entries(session, account_id, agent) == []


def test_an_agent_is_deleted_and_its_number_released(
    client: TestClient, acme: tuple[str, str]
) -> None:
    _, key = acme
    client.post("/v1/numbers", json={"number": NUMBER}, headers=auth(key))
    agent = make_agent(client, key)
    client.put(
        f"/v1/numbers/{NUMBER}/route", json={"kind": "agent", "target": agent}, headers=auth(key)
    )
    deleted = client.post(
        f"/console/agents/{agent}/delete", data={"csrf": token(client, f"/console/agents/{agent}")}
    )
    assert deleted.status_code == 303
    assert client.get(f"/v1/agents/{agent}", headers=auth(key)).status_code == 404
    route = client.get(f"/v1/numbers/{NUMBER}/route", headers=auth(key)).json()
    assert route["kind"] == "greeting"


@pytest.mark.parametrize(
    "path",
    [
        "/console/agents",
        "/console/agents/{agent}",
        "/console/agents/{agent}/delete",
        "/console/agents/{agent}/knowledge",
    ],
)
def test_every_form_is_refused_without_its_csrf_token(
    client: TestClient, acme: tuple[str, str], sessions: sessionmaker[Session], path: str
) -> None:
    account_id, key = acme
    agent = make_agent(client, key)
    data = {"name": "Zed", "question": "q?", "answer": "a."}
    answer = client.post(path.format(agent=agent), data=data)
    assert answer.status_code == 403
    assert "console.csrf_failed" in answer.text
    with sessions() as session:
        rows = profiles.list_profiles(session, account_id)
        assert [r.name for r in rows] == ["Ava"]
        assert knowledge.list_entries(session, account_id, agent) == []


def test_the_entry_delete_form_is_refused_without_its_token(
    client: TestClient, acme: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    account_id, key = acme
    agent = make_agent(client, key)
    with transaction(sessions) as session:
        entry = knowledge.add_entry(
            session, account_id, agent, question="q?", answer="a.", now=NOW
        ).id
    refused = client.post(f"/console/agents/{agent}/knowledge/{entry}/delete")
    assert refused.status_code == 403
    with sessions() as session:
        assert len(knowledge.list_entries(session, account_id, agent)) == 1


def test_a_manager_reads_agents_and_reports_but_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, key = new_account(sessions, "Acme")
    new_person(sessions, account_id, "manager", "max@acme.test")
    sign_in(client, "max@acme.test")
    agent = make_agent(client, key)
    file_report(sessions, account_id, agent)
    page = client.get(f"/console/agents/{agent}")
    assert page.status_code == 200
    assert 'action="/console/agents/' not in page.text
    assert client.get("/console/agents/reports").status_code == 200
    refused = client.post("/console/agents", data={"name": "Zed", "csrf": form_token(page.text)})
    assert refused.status_code == 403
    assert "permission.denied" in refused.text


@pytest.mark.parametrize("role", ["user", "scheduler", "guest"])
@pytest.mark.parametrize("path", ["/console/agents", "/console/agents/reports"])
def test_roles_without_agents_are_refused(
    client: TestClient, sessions: sessionmaker[Session], role: str, path: str
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, role, "someone@acme.test")
    sign_in(client, "someone@acme.test")
    refused = client.get(path)
    assert refused.status_code == 403
    assert "permission.denied" in refused.text
    assert "D1" in refused.text


def test_a_report_is_shown_labelled_and_linked_to_its_call(
    client: TestClient, acme: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    account_id, key = acme
    agent = make_agent(client, key)
    report = file_report(sessions, account_id, agent)
    listed = client.get("/console/agents/reports")
    assert listed.status_code == 200
    assert f'href="/console/agents/reports/{report}"' in listed.text
    assert "Message taken" in listed.text
    assert 'class="label-ai"' in listed.text
    page = client.get(f"/console/agents/reports/{report}")
    assert page.status_code == 200, page.text
    assert 'href="/console/calls/CA1"' in page.text
    assert f"{AI_LABEL} Took a message about the boiler." in page.text
    assert "My boiler leaks." in page.text
    assert "machine-generated" in page.text
    assert page.text.count('class="label-ai"') >= 4
    filtered = client.get("/console/agents/reports?outcome=booked")
    assert report not in filtered.text


def test_a_second_account_sees_none_of_the_firsts_agents_or_reports(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    acme_id, acme_key = new_account(sessions, "Acme")
    agent = make_agent(client, acme_key, name="Secretagent")
    with transaction(sessions) as session:
        knowledge.add_entry(session, acme_id, agent, question="Vault code?", answer="1234", now=NOW)
    report = file_report(sessions, acme_id, agent)
    globex_id, _ = new_account(sessions, "Globex")
    new_person(sessions, globex_id, "administrator", "gil@globex.test")
    sign_in(client, "gil@globex.test")
    for path in ("/console/agents", "/console/agents/reports"):
        page = client.get(path).text
        assert "Secretagent" not in page
        assert report not in page
    assert client.get(f"/console/agents/{agent}").status_code == 404
    assert client.get(f"/console/agents/reports/{report}").status_code == 404
    assert client.get(f"/console/agents/reports?agent_id={agent}").status_code == 200
    assert report not in client.get(f"/console/agents/reports?agent_id={agent}").text
    changed = client.post(f"/console/agents/{agent}", data={"name": "Mine", "csrf": token(client)})
    assert changed.status_code == 404
    with sessions() as session:
        assert profiles.get_profile(session, acme_id, agent).name == "Secretagent"


def _operator_in(client: TestClient, sessions: sessionmaker[Session], account_id: str) -> None:
    new_operator(sessions)
    sign_in(client, "op@example.net")
    opened = client.post(
        f"/console/accounts/{account_id}/open", data={"csrf": token(client, "/console/accounts")}
    )
    assert opened.status_code == 303


@pytest.mark.parametrize("opted_out", [True, False])
def test_an_operator_reads_reports_unless_the_customer_opted_out(
    client: TestClient, sessions: sessionmaker[Session], opted_out: bool
) -> None:
    """TERMS A8: the operator's monitoring of AI quality ends with the opt-out."""
    account_id, key = new_account(sessions, "Acme")
    agent = make_agent(client, key)
    report = file_report(sessions, account_id, agent)
    if opted_out:
        with transaction(sessions) as session:
            accounts.set_ai_quality_monitoring(session, account_id, False)
    _operator_in(client, sessions, account_id)
    for path in ("/console/agents/reports", f"/console/agents/reports/{report}"):
        answer = client.get(path)
        if opted_out:
            assert answer.status_code == 403, path
            assert "ai_monitoring.opted_out" in answer.text
            assert "A8" in answer.text
            assert "boiler" not in answer.text
        else:
            assert answer.status_code == 200, path
            assert "boiler" in answer.text
    # The profiles are the account's configuration, not its calls: still readable, and
    # the link to the reports is left out when they would be refused.
    agents = client.get("/console/agents")
    assert agents.status_code == 200
    assert ('href="/console/agents/reports"' in agents.text) is not opted_out


def test_the_customer_reads_its_reports_after_opting_out(
    client: TestClient, acme: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    account_id, key = acme
    agent = make_agent(client, key)
    report = file_report(sessions, account_id, agent)
    with transaction(sessions) as session:
        accounts.set_ai_quality_monitoring(session, account_id, False)
    page = client.get(f"/console/agents/reports/{report}")
    assert page.status_code == 200
    assert "boiler" in page.text


def test_every_text_of_the_agents_pages_is_in_french() -> None:
    texts = english_texts(
        ["agents.html", "agent.html", "agent_reports.html", "agent_report.html"],
        [PURPOSES, OUTCOMES, SPEAKERS, dict(enumerate(WEEKDAYS))],
    )
    texts |= {_NOTICES[key] for key in (AGENT_SAVED, AGENT_DELETED, ENTRY_ADDED, ENTRY_DELETED)}
    texts.add("The customer opted out of the operator's monitoring of its AI calls.")
    assert set(PURPOSES) == set(templates.PURPOSES)
    assert set(OUTCOMES) == set(reports.OUTCOMES)
    missing = sorted(text for text in texts if text not in i18n.french())
    assert missing == []


def test_the_pages_read_in_french(
    client: TestClient, acme: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    account_id, key = acme
    agent = make_agent(client, key, purpose="sales")
    report = file_report(sessions, account_id, agent)
    client.post(
        "/console/settings/me/language",
        data={"language": "fr", "csrf": token(client, "/console/settings/me")},
    )
    assert "Ventes" in client.get("/console/agents").text
    assert "Message pris" in client.get(f"/console/agents/reports/{report}").text
    assert "Paramètres" in client.get("/console/settings").text
