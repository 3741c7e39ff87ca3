"""Migration 0025: the mark of what a customer's SMPP bind is owed, added to messages
without rebuilding them (a rebuild would cascade-delete their parts), with its partial
index, and back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text
from tests.database import empty_engine

from dialtone.store.db import alembic_config

T = "2026-01-01 00:00:00"
COUNTS = "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM message_parts)"


def test_0025_keeps_messages_and_their_parts_both_ways(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path / "m.db")
    config = alembic_config(engine)
    command.upgrade(config, "0024")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, name, status, billing_increment, created_at) "
                f"VALUES ('AC1', 'A', 'active', '60/60', '{T}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO messages (id, account_id, direction, sender, recipient, body, "
                "encoding, segments, status, origin, attempts, created_at, updated_at, "
                f"expires_at) VALUES ('SM1', 'AC1', 'outbound', '+1', '+2', 'hi', 'GSM-7', "
                f"1, 'delivered', 'smpp', 1, '{T}', '{T}', '{T}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO message_parts (message_id, seq, total, status) "
                "VALUES ('SM1', 1, 1, 'delivered')"
            )
        )

    command.upgrade(config, "0025")
    with engine.begin() as connection:
        assert tuple(connection.execute(text(COUNTS)).one()) == (1, 1)
        # Nothing stored before owes a bind: what waited in memory went with the stop.
        assert connection.execute(text("SELECT bind_notice_due_at FROM messages")).scalar() is None
        connection.execute(text(f"UPDATE messages SET bind_notice_due_at = '{T}'"))
    [index] = [
        i
        for i in inspect(engine).get_indexes("messages")
        if i["name"] == "ix_messages_bind_notice_due"
    ]
    assert index["column_names"] == ["account_id", "bind_notice_due_at"]
    with engine.connect() as connection:
        sql = connection.execute(
            text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_bind_notice_due'"
                if engine.dialect.name == "postgresql"
                else "SELECT sql FROM sqlite_master WHERE name = 'ix_messages_bind_notice_due'"
            )
        ).scalar()
    # PostgreSQL writes the predicate back in parentheses.
    assert "WHERE bind_notice_due_at IS NOT NULL" in str(sql).replace("(", "").replace(")", "")

    command.downgrade(config, "0024")
    with engine.connect() as connection:
        assert tuple(connection.execute(text(COUNTS)).one()) == (1, 1)
    assert "bind_notice_due_at" not in {c["name"] for c in inspect(engine).get_columns("messages")}
