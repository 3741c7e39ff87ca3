"""The numbers pages: the list with state, route, documents and notices; one number's
route editor (the same service as the API's route PUT), its greeting; documents (N3)
and port-ins (N4). D1 roles, CSRF and a second account's numbers."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.numbering import kyc, numbers, porting
from dialtone.services.telephony import routing
from dialtone.store.db import transaction
from dialtone.store.models import PhoneNumber
from tests.dashboard.conftest import Person, form_token, new_account, new_person, sign_in

NUMBER = "+33123456789"


@dataclass(frozen=True)
class Acme:
    account_id: str
    api_key: str
    admin: Person
    agent: Person  # a "user" role: reads numbers, changes nothing
    number_id: str


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> Acme:
    account_id, api_key = new_account(sessions, "Acme")
    admin = new_person(sessions, account_id, "administrator", "ada@acme.test", "Ada")
    agent = new_person(sessions, account_id, "user", "bob@acme.test", "Bob")
    with transaction(sessions) as session:
        row = numbers.add_number(session, account_id, NUMBER, now=datetime.now(UTC))
        number_id = row.id
    return Acme(account_id, api_key, admin, agent, number_id)


def _route_of(client: TestClient, acme: Acme) -> dict[str, object]:
    answer = client.get(
        f"/v1/numbers/{NUMBER}/route", headers={"Authorization": f"Bearer {acme.api_key}"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_the_list_shows_the_number_its_state_and_route(client: TestClient, acme: Acme) -> None:
    sign_in(client, acme.admin.email)
    page = client.get("/console/numbers")
    assert page.status_code == 200, page.text
    assert NUMBER in page.text
    assert f'href="/console/numbers/{acme.number_id}"' in page.text
    assert "Greeting" in page.text  # the default route
    assert 'id="kyc-form"' in page.text
    assert 'id="port-in-form"' in page.text


def test_a_route_changed_in_the_page_is_what_the_api_then_shows(
    client: TestClient, acme: Acme
) -> None:
    sign_in(client, acme.admin.email)
    detail = client.get(f"/console/numbers/{acme.number_id}")
    assert detail.status_code == 200
    assert 'id="route-form"' in detail.text
    assert "Save the route" in detail.text
    for kind in routing.KINDS:
        assert f'<option value="{kind}"' in detail.text
    assert acme.agent.user_id is not None
    assert acme.agent.user_id in detail.text
    answer = client.post(
        f"/console/numbers/{acme.number_id}/route",
        data={
            "csrf": form_token(detail.text),
            "kind": "user",
            "target": acme.agent.user_id,
            "no_answer_seconds": "25",
            "voicemail_user_id": "",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/console/numbers/{acme.number_id}?done=")
    route = _route_of(client, acme)
    assert (route["kind"], route["target"], route["no_answer_seconds"]) == (
        "user",
        acme.agent.user_id,
        25,
    )
    shown = client.get(answer.headers["location"])
    assert "The route is saved" in shown.text
    assert "Bob" in shown.text


def test_a_forward_route_and_back_to_the_greeting(client: TestClient, acme: Acme) -> None:
    sign_in(client, acme.admin.email)
    token = form_token(client.get(f"/console/numbers/{acme.number_id}").text)
    url = f"/console/numbers/{acme.number_id}/route"
    sent = {"csrf": token, "kind": "forward", "target": "+44 20 7946 0000"}
    assert client.post(url, data=sent).status_code == 303
    assert _route_of(client, acme)["target"] == "+442079460000"
    back = {"csrf": token, "kind": "greeting", "target": "+442079460000"}
    assert client.post(url, data=back).status_code == 303
    assert _route_of(client, acme)["kind"] == "greeting"
    assert _route_of(client, acme)["target"] is None


def test_a_route_the_service_refuses_shows_why_and_changes_nothing(
    client: TestClient, acme: Acme
) -> None:
    sign_in(client, acme.admin.email)
    token = form_token(client.get(f"/console/numbers/{acme.number_id}").text)
    refused = client.post(
        f"/console/numbers/{acme.number_id}/route",
        data={"csrf": token, "kind": "forward", "target": NUMBER},
    )
    assert refused.status_code == 400
    assert "route.invalid" in refused.text
    assert "cannot forward to itself" in refused.text
    bad_seconds = client.post(
        f"/console/numbers/{acme.number_id}/route",
        data={
            "csrf": token,
            "kind": "user",
            "target": acme.admin.user_id,
            "no_answer_seconds": "x",
        },
    )
    assert bad_seconds.status_code == 400
    assert _route_of(client, acme)["kind"] == "greeting"


def test_a_user_role_sees_the_numbers_but_cannot_post_the_route_form(
    client: TestClient, acme: Acme
) -> None:
    sign_in(client, acme.agent.email)
    assert client.get("/console/numbers").status_code == 200
    detail = client.get(f"/console/numbers/{acme.number_id}")
    assert detail.status_code == 200
    assert 'id="route-form"' not in detail.text
    assert 'id="kyc-form"' not in client.get("/console/numbers").text
    refused = client.post(
        f"/console/numbers/{acme.number_id}/route",
        data={"csrf": form_token(detail.text), "kind": "user", "target": acme.agent.user_id},
    )
    assert refused.status_code == 403
    assert "permission.denied" in refused.text
    assert "D1" in refused.text
    assert _route_of(client, acme)["kind"] == "greeting"


def test_a_guest_cannot_open_the_numbers(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    new_person(sessions, acme.account_id, "guest", "gil@acme.test")
    sign_in(client, "gil@acme.test")
    for path in ("/console/numbers", f"/console/numbers/{acme.number_id}"):
        answer = client.get(path)
        assert answer.status_code == 403
        assert "permission.denied" in answer.text


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/route", {"kind": "user", "target": "?"}),
        ("/greeting/reset", {}),
    ],
)
def test_every_number_form_is_refused_without_its_csrf_token(
    client: TestClient, acme: Acme, path: str, fields: dict[str, str]
) -> None:
    sign_in(client, acme.admin.email)
    assert acme.agent.user_id is not None
    fields = {k: (acme.agent.user_id if v == "?" else v) for k, v in fields.items()}
    answer = client.post(f"/console/numbers/{acme.number_id}{path}", data=fields)
    assert answer.status_code == 403
    assert "console.csrf_failed" in answer.text
    assert _route_of(client, acme)["kind"] == "greeting"


@pytest.mark.parametrize("path", ["/console/numbers/documents", "/console/numbers/port-ins"])
def test_the_account_forms_are_refused_without_their_csrf_token(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session], path: str
) -> None:
    sign_in(client, acme.admin.email)
    answer = client.post(
        path,
        data={"kind": "identity", "numbers": "+33198765432"},
        files={"document": ("id.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert answer.status_code == 403
    assert "console.csrf_failed" in answer.text
    with transaction(sessions) as session:
        assert kyc.documents(session, acme.account_id) == []
        assert porting.list_requests(session, acme.account_id) == []


def test_a_document_is_uploaded_and_waits_for_review(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, acme.admin.email)
    token = form_token(client.get("/console/numbers").text)
    answer = client.post(
        "/console/numbers/documents",
        data={"csrf": token, "kind": "proof_of_address", "country": "fr"},
        files={"document": ("bill.pdf", b"%PDF-1.4 a bill", "application/pdf")},
    )
    assert answer.status_code == 303, answer.text
    with transaction(sessions) as session:
        (doc,) = kyc.documents(session, acme.account_id)
        assert (doc.kind, doc.country, doc.state) == ("proof_of_address", "FR", "pending")
    page = client.get(answer.headers["location"])
    assert "The document is sent" in page.text
    assert "proof_of_address" in page.text
    assert "pending" in page.text
    # Same check as the API's: a proof of address names its country.
    missing = client.post(
        "/console/numbers/documents",
        data={"csrf": token, "kind": "proof_of_address"},
        files={"document": ("bill.pdf", b"%PDF", "application/pdf")},
    )
    assert missing.status_code == 400
    assert "request.invalid" in missing.text


def test_a_port_in_request_is_created_as_a_draft(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, acme.admin.email)
    token = form_token(client.get("/console/numbers").text)
    answer = client.post(
        "/console/numbers/port-ins",
        data={"csrf": token, "numbers": "+33198765432\n\n+33 1 98 76 54 33\n"},
    )
    assert answer.status_code == 303, answer.text
    with transaction(sessions) as session:
        (row,) = porting.list_requests(session, acme.account_id)
        assert row.state == "draft"
    page = client.get("/console/numbers")
    assert "+33198765432, +33198765433" in page.text
    held = client.post("/console/numbers/port-ins", data={"csrf": token, "numbers": NUMBER})
    assert held.status_code == 409
    assert "number.held" in held.text


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def test_a_greeting_is_uploaded_then_reset(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, acme.admin.email)
    token = form_token(client.get(f"/console/numbers/{acme.number_id}").text)
    answer = client.post(
        f"/console/numbers/{acme.number_id}/greeting",
        data={"csrf": token},
        files={"greeting": ("hello.wav", _wav(), "audio/wav")},
    )
    assert answer.status_code == 303, answer.text
    listed = client.get(
        f"/v1/numbers/{NUMBER}", headers={"Authorization": f"Bearer {acme.api_key}"}
    )
    assert listed.json()["greeting"] == "custom"
    reset = client.post(f"/console/numbers/{acme.number_id}/greeting/reset", data={"csrf": token})
    assert reset.status_code == 303
    with transaction(sessions) as session:
        assert session.get(PhoneNumber, acme.number_id).greeting is None  # type: ignore[union-attr]


def test_lifecycle_notices_show_when_the_number_goes(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    deactivated = datetime(2026, 3, 1, tzinfo=UTC)
    with transaction(sessions) as session:
        row = session.get(PhoneNumber, acme.number_id)
        assert row is not None
        row.deactivated_at = deactivated
        row.reclaim_notice_at = deactivated
    sign_in(client, acme.admin.email)
    page = client.get("/console/numbers")
    # N6: a random number of the default plan is revoked 21 or 30 days later.
    revoked = [(deactivated + timedelta(days=d)).date().isoformat() for d in (21, 30)]
    assert any(f"revoked on {day}" in page.text for day in revoked), page.text
    assert "(N6)" in page.text
    assert "reclaimed on 2026-03-08" in page.text
    assert "(N8)" in page.text
    assert "deactivated" in client.get(f"/console/numbers/{acme.number_id}").text


def test_a_second_account_sees_none_of_the_first_accounts_numbers(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    other, _ = new_account(sessions, "Globex")
    new_person(sessions, other, "administrator", "gus@globex.test")
    sign_in(client, "gus@globex.test")
    page = client.get("/console/numbers")
    assert page.status_code == 200
    assert NUMBER not in page.text
    assert client.get(f"/console/numbers/{acme.number_id}").status_code == 404
    token = form_token(page.text)
    refused = client.post(
        f"/console/numbers/{acme.number_id}/route",
        data={"csrf": token, "kind": "greeting"},
    )
    assert refused.status_code == 404


def test_port_outs_show_how_the_terms_decided(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    today = datetime.now(UTC)
    with transaction(sessions) as session:
        decision = porting.port_out(
            session,
            NUMBER,
            requested_on=today.date(),
            period_end=today.date() + timedelta(days=30),
            address_proven=True,
            now=today,
        )
    sign_in(client, acme.admin.email)
    page = client.get("/console/numbers")
    assert 'id="port-out-list"' in page.text
    assert (decision.code or "port_out.completed") in page.text
    # A manager reads numbers but not the audit log the port-outs are kept in.
    new_person(sessions, acme.account_id, "manager", "max@acme.test")
    client.cookies.clear()
    sign_in(client, "max@acme.test")
    assert 'id="port-out-list"' not in client.get("/console/numbers").text
