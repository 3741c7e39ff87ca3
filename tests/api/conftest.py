"""API tests run the real FastAPI app on a real SQLite file (a copy of one migrated by
Alembic, tests/database.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.services.accounts import accounts
from dialtone.settings import Settings
from dialtone.store.db import transaction
from tests.database import migrated_database


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine, factory = migrated_database(tmp_path / "api.db")
    yield factory
    # Each test's engine keeps its database's three files open until disposed: hundreds
    # of tests in one worker would pass select()'s 1024 descriptors.
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Numbers leased over the API are activated at once here: these tests are about
    # other rules; tests/api/test_api_kyc.py runs with the N3 default (documents first).
    return Settings(data_dir=tmp_path / "var", kyc_required=False, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def client(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, sessions)) as test_client:
        yield test_client


# Routes anyone may use, with no key and so no permission: the health check, the
# unsubscribe link of a marketing email (the recipient has no key; the token in the
# link is its credential, TERMS M9), and the operator's metrics (guarded by address or
# their own token, not by an account's key: tests/api/test_api_metrics.py).
PUBLIC_ROUTES = frozenset({"/healthz", "/v1/email/unsubscribe/{token}", "/metrics"})


def new_account(
    sessions: sessionmaker[Session], name: str, increment: str = "60/60"
) -> tuple[str, str]:
    """(account id, API key) of a fresh account."""
    with transaction(sessions) as session:
        created = accounts.create_account(
            session, name, now=datetime.now(UTC), billing_increment=increment
        )
        return created.account.id, created.api_key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route of ``app``, through included routers (FastAPI ≥ 0.16x keeps an
    included router as one entry of ``app.routes``, not its routes copied in); the docs
    pages (not in the schema) are not API routes."""

    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                if route.include_in_schema:
                    yield route
            elif hasattr(route, "original_router"):
                yield from walk(route.original_router.routes)

    return list(walk(app.routes))
