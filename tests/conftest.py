"""Fixtures for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import database


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """The PostgreSQL databases a test made are dropped when it ends (on SQLite they are
    files in the test's tmp_path); databases of wider-scoped fixtures, made before this
    fixture's setup, stay until the process ends."""
    since = database.mark()
    yield
    database.release(since)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The PostgreSQL cluster of this test process (if one was started) is stopped and
    its directory removed."""
    database.stop_cluster()
