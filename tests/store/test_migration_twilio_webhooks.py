"""Migration 0027: a delivery's format and method and a message's callback format,
added without rebuilding the tables; what was stored keeps today's shape, and back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text
from tests.database import empty_engine

from dialtone.store.db import alembic_config

T = "2026-01-01 00:00:00"
COUNTS = (
    "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM message_parts), "
    "(SELECT count(*) FROM webhook_deliveries)"
)


def test_0027_keeps_deliveries_and_messages_both_ways(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path / "m.db")
    config = alembic_config(engine)
    command.upgrade(config, "0025")
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
                f"1, 'delivered', 'api', 1, '{T}', '{T}', '{T}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO message_parts (message_id, seq, total, status) "
                "VALUES ('SM1', 1, 1, 'delivered')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO webhook_deliveries (account_id, event, url, body, state, "
                f"attempts, created_at) VALUES ('AC1', 'message.status', 'https://e.com/', "
                f"'{{}}', 'failed', 3, '{T}')"
            )
        )

    command.upgrade(config, "0027")
    with engine.begin() as connection:
        assert tuple(connection.execute(text(COUNTS)).one()) == (1, 1, 1)
        shape = connection.execute(text("SELECT format, method FROM webhook_deliveries")).one()
        assert tuple(shape) == ("dialtone", "POST")
        assert connection.execute(text("SELECT callback_format FROM messages")).scalar() == (
            "dialtone"
        )
    assert "ix_webhook_deliveries_account_id_id" in {
        i["name"] for i in inspect(engine).get_indexes("webhook_deliveries")
    }

    command.downgrade(config, "0025")
    with engine.connect() as connection:
        assert tuple(connection.execute(text(COUNTS)).one()) == (1, 1, 1)
    assert "format" not in {c["name"] for c in inspect(engine).get_columns("webhook_deliveries")}
    assert "callback_format" not in {c["name"] for c in inspect(engine).get_columns("messages")}
