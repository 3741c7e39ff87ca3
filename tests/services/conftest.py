"""Service tests run on a real database migrated by Alembic (as the platform runs; a copy
of a database migrated once, tests/database.py): a SQLite file, or with
``DIALTONE_TEST_DATABASE=postgresql`` a PostgreSQL database (make test runs both)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dialtone.services.accounts import accounts
from dialtone.store.db import transaction
from tests.database import migrated_database

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
REALM = "dialtone"


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """One session in one transaction over a fresh database."""
    _, factory = migrated_database(tmp_path / "services.db")
    with transaction(factory) as s:
        yield s


@pytest.fixture
def account(session: Session) -> str:
    """A fresh account's id."""
    return accounts.create_account(session, "Acme", now=T0).account.id


@pytest.fixture
def other_account(session: Session) -> str:
    """A second account, to check that nothing leaks between accounts."""
    return accounts.create_account(session, "Globex", now=T0).account.id
