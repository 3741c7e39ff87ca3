"""Fixtures for every test."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from tests import database


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """The PostgreSQL databases a test made are dropped when it ends (on SQLite they are
    files in the test's tmp_path); databases of wider-scoped fixtures, made before this
    fixture's setup, stay until the process ends."""
    since = database.mark()
    yield
    database.release(since)


# argon2id at the least cost it takes: the same algorithm and code path, about a
# millisecond a hash or a check instead of a fifth of a second at the production cost
# (time 3, 64 MiB, 4 lanes), which every console test paid at least twice (its users'
# passwords, then its sign-in): minutes of CI. A hash records its own parameters, so a
# check of one made at either cost works. tests/services/accounts/test_console_access.py
# checks the production hasher itself.
CHEAP_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def _cheap_console_password_hashes(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if request.node.get_closest_marker("production_password_cost"):
        return
    module = sys.modules.get("dialtone.services.accounts.console_access")
    if module is not None:
        monkeypatch.setattr(module, "_hasher", CHEAP_PASSWORD_HASHER)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The PostgreSQL cluster of this test process (if one was started) is stopped and
    its directory removed."""
    database.stop_cluster()
