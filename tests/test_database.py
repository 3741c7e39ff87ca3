"""The tests' migrated copy (tests/database.py) is the database ``open_database`` makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from dialtone.store.db import open_database
from tests.database import migrated_database, migrated_file


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


def test_a_copy_is_a_fresh_migration(tmp_path: Path) -> None:
    fresh, _ = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    copy, _ = migrated_database(tmp_path / "copy" / "copy.db")
    expected, got = _contents(fresh), _contents(copy)
    assert got["schema"] ^ expected["schema"] == set()
    assert got == expected
    assert got["rows"]["alembic_version"], "the copy is not stamped with its revision"
    assert got["pragmas"]["journal_mode"] == "wal"


def test_copies_are_independent(tmp_path: Path) -> None:
    first, _ = migrated_database(tmp_path / "a.db")
    with first.begin() as connection:
        connection.execute(text("CREATE TABLE only_here (x INTEGER)"))
    second, _ = migrated_database(tmp_path / "b.db")
    with second.connect() as connection:
        names = connection.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    assert "only_here" not in names


def test_an_existing_database_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "kept.db").write_bytes(b"data")
    with pytest.raises(AssertionError, match="exists"):
        migrated_file(tmp_path / "kept.db")
    assert (tmp_path / "kept.db").read_bytes() == b"data"
