"""Console tests run the real app (API + console) on a real SQLite file, through
Starlette's test client: pages, forms, sessions, CSRF. The browser tests are in
tests/interop/test_console_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.dashboard.app import install
from dialtone.services.accounts import accounts, console_access
from dialtone.services.telephony import users
from dialtone.settings import Settings
from dialtone.store.db import transaction
from tests.database import migrated_database

PASSWORD = "correct horse battery"


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine, factory = migrated_database(tmp_path / "console.db")
    yield factory
    # Each test's engine keeps its database's three files open until disposed: hundreds
    # of tests in one worker would pass select()'s 1024 descriptors.
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", kyc_required=False, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def client(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(settings, sessions)
    install(app)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class Person:
    """Someone who signs in: their account, user id (None for an operator), email."""

    account_id: str | None
    user_id: str | None
    email: str
    api_key: str = ""


def new_account(sessions: sessionmaker[Session], name: str) -> tuple[str, str]:
    with transaction(sessions) as session:
        created = accounts.create_account(session, name, now=datetime.now(UTC))
        return created.account.id, created.api_key


def new_person(
    sessions: sessionmaker[Session], account_id: str, role: str, email: str, name: str = ""
) -> Person:
    """A user of ``account_id`` with ``role`` and a console password."""
    with transaction(sessions) as session:
        user = users.create_user(
            session,
            account_id,
            name=name or role.title(),
            role=role,
            email=email,
            now=datetime.now(UTC),
            realm="dialtone",
        )
        console_access.set_user_password(session, account_id, user.id, PASSWORD)
        return Person(account_id, user.id, email)


def new_operator(sessions: sessionmaker[Session], email: str = "op@example.net") -> Person:
    with transaction(sessions) as session:
        console_access.create_operator(
            session, email, "Olivia Operator", PASSWORD, now=datetime.now(UTC)
        )
    return Person(None, None, email)


def form_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"email": email, "password": password, "csrf": form_token(page.text)},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/"
