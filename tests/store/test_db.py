"""The engine for each database: URLs, the PostgreSQL pool, a database out of reach."""

from __future__ import annotations

import socket

import pytest

from dialtone.store.db import (
    DatabaseUnreachable,
    check_reachable,
    make_engine,
    normalise_url,
    shown,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        # An explicit driver is the operator's choice.
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("sqlite:///var/dialtone.db", "sqlite:///var/dialtone.db"),
    ],
)
def test_a_postgresql_url_without_a_driver_means_psycopg_3(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://dialtone:s3cret@db:5432/dialtone", "postgresql+psycopg://dialtone:***@db:5432/dialtone"),
        ("postgresql+psycopg://dialtone@db/dialtone", "postgresql+psycopg://dialtone@db/dialtone"),
        ("not a url", "(a database URL that cannot be read)"),
    ],
)  # fmt: skip
def test_a_url_is_shown_without_its_password(url: str, expected: str) -> None:
    assert shown(url) == expected


def test_a_postgresql_engine_uses_psycopg_3_a_checked_pool_and_utc() -> None:
    engine = make_engine("postgresql://u@127.0.0.1:1/d", pool_size=7, connect_timeout=3)
    assert engine.dialect.driver == "psycopg"
    assert engine.pool.size() == 7  # type: ignore[attr-defined]
    assert engine.pool._pre_ping  # type: ignore[attr-defined]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_says_what_to_check() -> None:
    port = _closed_port()
    engine = make_engine(f"postgresql://dialtone:s3cret@127.0.0.1:{port}/dialtone")
    with pytest.raises(DatabaseUnreachable) as caught:
        check_reachable(engine)
    line = str(caught.value)
    assert "\n" not in line
    assert "s3cret" not in line
    assert line.startswith(f"database postgresql+psycopg://dialtone:***@127.0.0.1:{port}/dialtone")
    assert "refused" in line.lower()
    assert "is PostgreSQL running" in line
