"""What differs between the two engines dialtone runs on, in one place: the statements
written once for SQLite and PostgreSQL alike call these instead of importing a dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(session: Session, table: Any, columns: Sequence[str]) -> Any:
    """``INSERT … ON CONFLICT (columns) DO NOTHING`` on the session's engine: a row whose
    key is already stored (a retry, another worker's same row) is skipped, not an error
    that would abort the transaction (PostgreSQL) or the statement (SQLite). Both
    engines' rowcount then counts the rows actually inserted."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(columns))
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(columns))
    raise NotImplementedError(f"no INSERT … ON CONFLICT for the {name} engine")
