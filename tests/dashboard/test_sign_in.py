"""Signing in: passwords, sessions, CSRF on every form, the limit on failed sign-ins."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.dashboard.conftest import (
    PASSWORD,
    form_token,
    new_account,
    new_operator,
    new_person,
    sign_in,
)


def test_a_page_without_a_session_leads_to_the_sign_in_form(client: TestClient) -> None:
    answer = client.get("/console/calls")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/calls"
    assert client.get("/").headers["location"] == "/console/"


def test_an_administrator_signs_in_and_sees_the_overview(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    sign_in(client, "ada@acme.test")
    page = client.get("/console/")
    assert page.status_code == 200, page.text
    assert "Acme" in page.text
    assert "Calls in progress" in page.text
    cookie = client.cookies.get("dt_session")
    assert cookie


def test_the_session_cookie_is_http_only_and_same_site(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    page = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"email": "ada@acme.test", "password": PASSWORD, "csrf": form_token(page.text)},
    )
    header = answer.headers["set-cookie"].lower()
    assert "dt_session=" in header
    assert "httponly" in header
    assert "samesite=lax" in header


def test_a_wrong_password_is_refused_with_the_same_answer_as_an_unknown_email(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    page = client.get("/console/sign-in")
    token = form_token(page.text)
    wrong = client.post(
        "/console/sign-in", data={"email": "ada@acme.test", "password": "x" * 12, "csrf": token}
    )
    unknown = client.post(
        "/console/sign-in", data={"email": "nobody@acme.test", "password": "x" * 12, "csrf": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or the password is wrong." in wrong.text
    assert "dt_session" not in client.cookies


def test_sign_in_without_its_form_token_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"email": "ada@acme.test", "password": PASSWORD})
    assert answer.status_code == 403
    assert "console.csrf_failed" in answer.text


def test_a_form_posted_without_the_sessions_token_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    sign_in(client, "ada@acme.test")
    assert client.post("/console/sign-out", data={}).status_code == 403
    assert client.post("/console/sign-out", data={"csrf": "forged"}).status_code == 403
    # Still signed in: the refused form changed nothing.
    assert client.get("/console/").status_code == 200
    token = form_token(client.get("/console/").text)
    assert client.post("/console/sign-out", data={"csrf": token}).status_code == 303
    assert client.get("/console/").status_code == 303


def test_a_form_from_another_site_is_refused_even_with_the_token(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    sign_in(client, "ada@acme.test")
    token = form_token(client.get("/console/").text)
    answer = client.post(
        "/console/sign-out", data={"csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert answer.status_code == 403


def test_failed_sign_ins_are_limited_per_email(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """D2: five failures are allowed (the default), the sixth starts a block, and while it
    lasts even the right password is refused."""
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    token = form_token(client.get("/console/sign-in").text)
    statuses = []
    for _ in range(6):
        answer = client.post(
            "/console/sign-in",
            data={"email": "ada@acme.test", "password": "wrong password", "csrf": token},
        )
        statuses.append(answer.status_code)
    assert statuses == [401] * 6
    blocked = client.post(
        "/console/sign-in", data={"email": "ada@acme.test", "password": PASSWORD, "csrf": token}
    )
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text


def test_an_operator_sees_every_account_and_opens_one(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    first, _ = new_account(sessions, "Acme")
    new_account(sessions, "Globex")
    new_operator(sessions)
    sign_in(client, "op@example.net")
    assert client.get("/console/").headers["location"] == "/console/accounts"
    listing = client.get("/console/accounts")
    assert "Acme" in listing.text
    assert "Globex" in listing.text
    token = form_token(listing.text)
    opened = client.post(f"/console/accounts/{first}/open", data={"csrf": token})
    assert opened.status_code == 303
    page = client.get("/console/")
    assert page.status_code == 200
    assert "Acme" in page.text


def test_a_customer_cannot_open_the_operators_pages(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    sign_in(client, "ada@acme.test")
    answer = client.get("/console/accounts")
    assert answer.status_code == 403
    assert "console.operator_only" in answer.text
