"""Messages pages: conversations, sending through the API's service (a refusal shows
its rule and goes on the audit log), opt-ins and opt-outs (TERMS M3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import audit
from dialtone.services.messaging import consents, messages
from dialtone.services.numbering import numbers
from dialtone.store.db import transaction
from tests.dashboard.conftest import form_token, new_account, new_person, sign_in

NUMBER = "+33123456789"
RECIPIENT = "+33612345678"


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> str:
    account_id, _ = new_account(sessions, "Acme")
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        numbers.add_number(session, account_id, NUMBER, now=now)
        consents.record_consent(
            session,
            account_id,
            consents.ConsentIn(RECIPIENT, "https://acme.example/signup", "Texts from Acme.", now),
            now=now,
        )
    new_person(sessions, account_id, "manager", "max@acme.test", "Max")
    return account_id


def test_a_message_sent_from_the_console_is_stored_and_shown_in_its_conversation(
    client: TestClient, sessions: sessionmaker[Session], acme: str
) -> None:
    sign_in(client, "max@acme.test")
    page = client.get("/console/messages")
    assert page.status_code == 200, page.text
    sent = client.post(
        "/console/messages/send",
        data={
            "from": NUMBER,
            "to": "06 12 34 56 78",
            "body": "Your table is ready.",
            "csrf": form_token(page.text),
        },
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"].startswith(f"/console/messages/with/{RECIPIENT}")
    with transaction(sessions) as session:
        [row] = messages.list_messages(session, acme)
        assert (row.recipient, row.status, row.origin) == (RECIPIENT, "queued", "console")
    listed = client.get("/console/messages")
    assert RECIPIENT in listed.text
    assert "Your table is ready." in listed.text
    thread = client.get(sent.headers["location"])
    assert thread.status_code == 200
    assert "Your table is ready." in thread.text
    assert "queued" in thread.text


def test_a_refused_message_shows_its_rule_and_is_audited(
    client: TestClient, sessions: sessionmaker[Session], acme: str
) -> None:
    sign_in(client, "max@acme.test")
    token = form_token(client.get("/console/messages").text)
    refused = client.post(
        "/console/messages/send",
        data={"from": NUMBER, "to": "+33612345679", "body": "Hello", "csrf": token},
    )
    assert refused.status_code == 403
    assert "sms.consent_missing" in refused.text
    assert "M3" in refused.text
    with transaction(sessions) as session:
        assert messages.list_messages(session, acme) == []
        events, _ = audit.list_events(session, acme, code="sms.consent_missing")
        assert events
        assert events[0].rule == "M3"


def test_opt_ins_and_opt_outs_are_recorded_and_an_opt_out_is_honoured(
    client: TestClient, sessions: sessionmaker[Session], acme: str
) -> None:
    sign_in(client, "max@acme.test")
    page = client.get("/console/messages/consents")
    assert page.status_code == 200
    assert "Texts from Acme." in page.text
    token = form_token(page.text)
    made = client.post(
        "/console/messages/consents",
        data={
            "recipient": "+33611111111",
            "source": "Shop counter",
            "wording": "Yes, text me.",
            "marketing": "1",
            "csrf": token,
        },
    )
    assert made.status_code == 303
    out = client.post("/console/messages/opt-outs", data={"recipient": RECIPIENT, "csrf": token})
    assert out.status_code == 303
    with transaction(sessions) as session:
        [fresh] = consents.consents_of(session, acme, "+33611111111")
        assert (fresh.source, fresh.marketing) == ("Shop counter", True)
        [standing] = consents.opt_outs_of(session, acme, RECIPIENT)
        assert standing.source == "console"
    refused = client.post(
        "/console/messages/send",
        data={"from": NUMBER, "to": RECIPIENT, "body": "Hi", "csrf": token},
    )
    assert refused.status_code == 403
    assert "sms.opted_out" in refused.text
    thread = client.get(f"/console/messages/with/{RECIPIENT}")
    assert "Opted out" in thread.text
    withdraw = client.post(f"/console/messages/consents/{fresh.id}/withdraw", data={"csrf": token})
    assert withdraw.status_code == 303
    with transaction(sessions) as session:
        assert consents.consents_of(session, acme, "+33611111111")[0].withdrawn_at is not None


@pytest.mark.parametrize(
    "path", ["/console/messages/send", "/console/messages/consents", "/console/messages/opt-outs"]
)
def test_forms_are_refused_without_their_token(client: TestClient, acme: str, path: str) -> None:
    sign_in(client, "max@acme.test")
    answer = client.post(
        path, data={"from": NUMBER, "to": RECIPIENT, "body": "x", "recipient": RECIPIENT}
    )
    assert answer.status_code == 403
    assert "console.csrf_failed" in answer.text


def test_a_user_may_not_read_messages_and_another_account_sees_none(
    client: TestClient, sessions: sessionmaker[Session], acme: str
) -> None:
    new_person(sessions, acme, "user", "ugo@acme.test", "Ugo")
    sign_in(client, "ugo@acme.test")
    for path in ("/console/messages", "/console/messages/consents"):
        page = client.get(path)
        assert page.status_code == 403
        assert "permission.denied" in page.text
    client.cookies.clear()
    other, _ = new_account(sessions, "Globex")
    new_person(sessions, other, "administrator", "gil@globex.test", "Gil")
    sign_in(client, "gil@globex.test")
    assert RECIPIENT not in client.get("/console/messages/consents").text
    assert "Texts from Acme." not in client.get(f"/console/messages/with/{RECIPIENT}").text
