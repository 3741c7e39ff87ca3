"""Migration 0023: the email tables and an account's postal address, added without
rebuilding accounts (a rebuild would cascade-delete what references them), and back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text
from tests.database import empty_engine

from dialtone.store.db import alembic_config

T = "2026-01-01 00:00:00"


def test_0024_keeps_accounts_and_what_references_them_both_ways(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path / "m.db")
    config = alembic_config(engine)
    command.upgrade(config, "0023")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, name, status, billing_increment, created_at) "
                f"VALUES ('AC1', 'A', 'active', '60/60', '{T}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO webhook_deliveries (account_id, event, url, body, state, "
                f"attempts, created_at) VALUES ('AC1', 'e', 'https://x', '{{}}', 'pending', "
                f"0, '{T}')"
            )
        )

    command.upgrade(config, "0024")
    tables = set(inspect(engine).get_table_names())
    assert {"email_messages", "email_suppressions"} <= tables
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar() == 1
        connection.execute(text("UPDATE accounts SET postal_address = '1 rue de la Paix'"))

    command.downgrade(config, "0023")
    assert "email_messages" not in set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar() == 1
        columns = {c["name"] for c in inspect(engine).get_columns("accounts")}
    assert "postal_address" not in columns
