"""The audit log page: refusals with their rule, code and message, filters, paging, and
never another account's events."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import audit
from dialtone.store.db import transaction
from tests.dashboard.conftest import new_account, new_operator, new_person, sign_in

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _event(
    account_id: str,
    at: datetime,
    rule: str | None,
    code: str,
    *,
    outcome: str = "refused",
    message: str = "Premium-rate numbers are barred (V5).",
) -> audit.AuditEntry:
    return audit.AuditEntry(
        at=at,
        account_id=account_id,
        actor="user:US1",
        action="call.outbound",
        outcome=outcome,
        rule=rule,
        code=code,
        message=message,
        details={"to": "+33899123456"},
    )


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> str:
    account_id, _ = new_account(sessions, "Acme")
    other, _ = new_account(sessions, "Globex")
    with transaction(sessions) as session:
        audit.record(
            session,
            [
                _event(account_id, T0, "V5", "destination.premium_rate"),
                _event(
                    account_id,
                    T0 + timedelta(days=1),
                    None,
                    "fraud.flag",
                    outcome="flagged",
                    message="A limit passed.",
                ),
                _event(other, T0, "M3", "sms.consent_missing", message="Globex secret."),
            ],
        )
    new_person(sessions, account_id, "administrator", "ada@acme.test", "Ada")
    return account_id


def _rows(html: str) -> list[str]:
    table = re.search(r'<table id="audit">.*?</table>', html, re.S)
    assert table
    return re.findall(r'<tr id="event-.*?</tr>', table.group(0), re.S)


def test_a_refusal_shows_with_its_rule_code_and_message(client: TestClient, acme: str) -> None:
    sign_in(client, "ada@acme.test")
    page = client.get("/console/audit")
    assert page.status_code == 200, page.text
    rows = _rows(page.text)
    assert len(rows) == 2
    assert "fraud.flag" in rows[0]  # newest first
    assert "<code>V5</code>" in rows[1]
    assert "destination.premium_rate" in rows[1]
    assert "Premium-rate numbers are barred (V5)." in rows[1]
    assert "refused" in rows[1]
    assert "Globex secret." not in page.text


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ({"rule": "V5"}, ["destination.premium_rate"]),
        ({"code": "fraud.flag"}, ["fraud.flag"]),
        ({"outcome": "refused"}, ["destination.premium_rate"]),
        ({"outcome": "flagged"}, ["fraud.flag"]),
        ({"since": "2026-03-03"}, ["fraud.flag"]),
        ({"until": "2026-03-02"}, ["destination.premium_rate"]),
        ({"since": "2026-03-04"}, []),
    ],
)
def test_filters(client: TestClient, acme: str, query: dict[str, str], codes: list[str]) -> None:
    sign_in(client, "ada@acme.test")
    rows = _rows(client.get("/console/audit", params=query).text)
    assert [re.search(r'audit-code"><code>([^<]+)', r).group(1) for r in rows] == codes  # type: ignore[union-attr]


def test_paging(client: TestClient, sessions: sessionmaker[Session], acme: str) -> None:
    with transaction(sessions) as session:
        audit.record(
            session,
            [
                _event(acme, T0 - timedelta(minutes=i), "V5", "destination.premium_rate")
                for i in range(1, 60)
            ],
        )
    sign_in(client, "ada@acme.test")
    first = client.get("/console/audit", params={"rule": "V5"})
    assert len(_rows(first.text)) == 50
    link = re.search(r'href="(/console/audit\?before=[^"]+)"', first.text)
    assert link
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert len(_rows(second.text)) == 10


def test_a_console_refusal_goes_on_the_log(
    client: TestClient, sessions: sessionmaker[Session], acme: str
) -> None:
    new_person(sessions, acme, "user", "ugo@acme.test", "Ugo")
    sign_in(client, "ugo@acme.test")
    refused = client.get("/console/audit")
    assert refused.status_code == 403
    assert "permission.denied" in refused.text
    client.cookies.clear()
    sign_in(client, "ada@acme.test")
    rows = _rows(client.get("/console/audit", params={"code": "permission.denied"}).text)
    assert rows
    assert "<code>D1</code>" in rows[0]


def test_an_operator_reads_every_accounts_audit_log(
    client: TestClient, sessions: sessionmaker[Session], acme: str
) -> None:
    new_operator(sessions)
    sign_in(client, "op@example.net")
    page = client.get("/console/accounts/audit")
    assert page.status_code == 200, page.text
    assert "Audit log of every account" in page.text
    assert "Globex secret." in page.text  # the other account's event too
    assert f"<code>{acme}</code>" in page.text  # with the account it is about
    narrowed = client.get("/console/accounts/audit", params={"rule": "M3"})
    assert "Globex secret." in narrowed.text
    assert "destination.premium_rate" not in narrowed.text


def test_a_customer_cannot_read_every_accounts_audit_log(
    client: TestClient, sessions: sessionmaker[Session], acme: str
) -> None:
    new_person(sessions, acme, "administrator", "adele@acme.test")
    sign_in(client, "adele@acme.test")
    answer = client.get("/console/accounts/audit")
    assert answer.status_code == 403
    assert "console.operator_only" in answer.text
