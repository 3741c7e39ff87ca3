"""The tests' migrated copy (tests/database.py) is the database ``open_database`` makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from dialtone.store.db import make_engine, migrate, open_database
from tests import database
from tests.database import migrated_database, migrated_file, on_postgresql, sqlite_only


def _statement(sql: str | None) -> tuple[str, ...]:
    """A CREATE statement's clauses, in no order: Alembic's batch rebuilds write a
    table's constraints in an order that varies from one migration run to the next,
    even within one process (two fresh databases differ that way too)."""
    return tuple(sorted(line.strip().rstrip(",") for line in (sql or "").splitlines()))


def _contents(engine: Engine) -> dict[str, Any]:
    """The schema, each table's columns in order, its rows, and the connection's settings."""
    with engine.connect() as connection:
        schema = connection.execute(
            text("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        ).all()
        tables = [name for kind, name, _, _ in schema if kind == "table"]
        columns = {t: connection.execute(text(f'PRAGMA table_info("{t}")')).all() for t in tables}
        rows = {t: connection.execute(text(f'SELECT * FROM "{t}"')).all() for t in tables}
        pragmas = {
            p: connection.execute(text(f"PRAGMA {p}")).scalar()
            for p in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    return {
        "schema": {(kind, name, table, _statement(sql)) for kind, name, table, sql in schema},
        "columns": columns,
        "rows": rows,
        "pragmas": pragmas,
    }


@sqlite_only("a copy of the template file")
def test_a_copy_is_a_fresh_migration(tmp_path: Path) -> None:
    fresh, _ = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    copy, _ = migrated_database(tmp_path / "copy" / "copy.db")
    expected, got = _contents(fresh), _contents(copy)
    assert got["schema"] ^ expected["schema"] == set()
    assert got == expected
    assert got["rows"]["alembic_version"], "the copy is not stamped with its revision"
    assert got["pragmas"]["journal_mode"] == "wal"


@sqlite_only("a copy of the template file")
def test_copies_are_independent(tmp_path: Path) -> None:
    first, _ = migrated_database(tmp_path / "a.db")
    with first.begin() as connection:
        connection.execute(text("CREATE TABLE only_here (x INTEGER)"))
    second, _ = migrated_database(tmp_path / "b.db")
    with second.connect() as connection:
        names = connection.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    assert "only_here" not in names


@sqlite_only("a copy of the template file")
def test_an_existing_database_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "kept.db").write_bytes(b"data")
    with pytest.raises(AssertionError, match="exists"):
        migrated_file(tmp_path / "kept.db")
    assert (tmp_path / "kept.db").read_bytes() == b"data"


postgresql_only = pytest.mark.skipif(
    not on_postgresql(), reason="DIALTONE_TEST_DATABASE=postgresql runs these"
)


def _tables_and_version(engine: Engine) -> tuple[list[tuple[str, str]], str | None]:
    with engine.connect() as connection:
        columns = connection.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
            )
        ).all()
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return [tuple(c) for c in columns], version


@postgresql_only
def test_a_postgresql_copy_is_a_fresh_migration_and_independent(tmp_path: Path) -> None:
    fresh = make_engine(database.empty_database(tmp_path / "unused"))
    migrate(fresh)
    first, _ = migrated_database(tmp_path / "a.db")
    assert _tables_and_version(first) == _tables_and_version(fresh)
    assert _tables_and_version(first)[1] is not None
    with first.begin() as connection:
        connection.execute(text("CREATE TABLE only_here (x INTEGER)"))
    second, _ = migrated_database(tmp_path / "b.db")
    assert "only_here" not in inspect(second).get_table_names()
    assert first.url.database != second.url.database


@postgresql_only
def test_a_tests_postgresql_databases_are_dropped_when_it_ends(tmp_path: Path) -> None:
    since = database.mark()
    engine, _ = migrated_database(tmp_path / "a.db")
    name = engine.url.database
    with engine.connect():
        pass  # a pooled connection left open: the drop ends it
    database.release(since)
    with database.cluster().admin() as admin:
        left = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        assert left.fetchone() == (0,)
