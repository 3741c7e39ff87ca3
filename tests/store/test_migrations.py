"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError
from tests.database import empty_engine

from dialtone.services.telephony import trunks
from dialtone.store import sealed
from dialtone.store.db import alembic_config, migrate
from dialtone.store.models import Base


def test_migrations_match_models(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path / "m.db")
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrate_twice_is_a_no_op_and_wal_is_on(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path / "m.db")
    migrate(engine)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"accounts", "api_keys", "users", "phone_numbers", "call_records"} <= tables
    assert {"registrations", "trunks", "ring_groups", "ring_group_members", "voicemails"} <= tables
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("table", ["audit_events", "ledger_entries"])
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET at = at", "DELETE FROM {table}", "TRUNCATE {table}"],
)
def test_the_audit_log_and_the_ledger_refuse_changes(
    tmp_path: Path, table: str, statement: str
) -> None:
    """Append-only on either engine: SQLite's triggers (0003, 0016), PostgreSQL's (0031),
    one message. SQLite has no TRUNCATE (its DELETE without WHERE meets the trigger)."""
    engine = empty_engine(tmp_path / "m.db")
    if statement.startswith("TRUNCATE") and engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no TRUNCATE")
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events VALUES ('AE1', '2026-01-01 00:00:00', NULL, 'operator',"
                " 'x', 'refused', 'V5', 'destination.denied', 'm', '{}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO ledger_entries (tx_key, line_no, at, account, amount_e4, currency,"
                " memo) VALUES ('k', 1, '2026-01-01 00:00:00', 'cash', 100, 'EUR', '')"
            )
        )
    with engine.begin() as connection, pytest.raises(DatabaseError, match="append-only"):
        connection.execute(text(statement.format(table=table)))
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1


def test_0002_keeps_existing_rows_both_ways(tmp_path: Path) -> None:
    """0002 rebuilds users and phone_numbers on SQLite; with foreign keys on, a careless
    rebuild of accounts would cascade-delete every account's data. Nothing may be lost."""
    engine = empty_engine(tmp_path / "m.db")
    config = alembic_config(engine)
    command.upgrade(config, "0001")
    t = "2026-01-01 00:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(f"INSERT INTO accounts VALUES ('AC1', 'A', 'active', '60/60', '{t}')")
        )
        connection.execute(
            text(f"INSERT INTO api_keys VALUES ('KE1', 'AC1', 'd', 'p', 'h', '{t}', NULL)")
        )
        connection.execute(
            text(f"INSERT INTO users VALUES ('US1', 'AC1', 'Al', NULL, 'user', '{t}')")
        )
        connection.execute(
            text(f"INSERT INTO phone_numbers VALUES ('PN1', '+33123456789', 'AC1', NULL, '{t}')")
        )
    counts = (
        "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM api_keys), "
        "(SELECT count(*) FROM users), (SELECT count(*) FROM phone_numbers)"
    )

    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert tuple(connection.execute(text(counts)).one()) == (1, 1, 1, 1)
        account = connection.execute(
            text("SELECT channels_per_user, recording_policy FROM accounts")
        ).one()
        assert tuple(account) == (1, "off")
        assert connection.execute(text("SELECT status FROM users")).scalar() == "active"
        assert (
            connection.execute(text("SELECT route_kind FROM phone_numbers")).scalar() == "greeting"
        )

    command.downgrade(config, "0001")
    with engine.connect() as connection:
        assert tuple(connection.execute(text(counts)).one()) == (1, 1, 1, 1)
        assert "registrations" not in inspect(connection).get_table_names()
    command.upgrade(config, "head")


def test_0003_adds_permissions_and_the_audit_log_without_losing_rows(tmp_path: Path) -> None:
    """0003 only adds columns to accounts (no rebuild, so no cascade) and the audit table
    with its append-only triggers; its downgrade takes them away and keeps the rows."""
    engine = empty_engine(tmp_path / "m.db")
    config = alembic_config(engine)
    command.upgrade(config, "0002")
    t = "2026-01-01 00:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO accounts (id, name, status, billing_increment, created_at) "
                f"VALUES ('AC1', 'A', 'active', '60/60', '{t}')"
            )
        )
        connection.execute(
            text(
                f"INSERT INTO phone_numbers (id, number, account_id, created_at) "
                f"VALUES ('PN1', '+33123456789', 'AC1', '{t}')"
            )
        )
    command.upgrade(config, "head")
    with engine.begin() as connection:
        row = connection.execute(
            text("SELECT country, premium_rate_allowed, high_cost_allowed FROM accounts")
        ).one()
        assert tuple(row) == (None, 0, 0)
        assert connection.execute(text("SELECT count(*) FROM phone_numbers")).scalar() == 1
        connection.execute(
            text(
                f"INSERT INTO audit_events VALUES ('AE1', '{t}', 'AC1', 'operator', 'x', "
                "'refused', 'V5', 'destination.denied', 'm', '{}')"
            )
        )
    with engine.begin() as connection, pytest.raises(DatabaseError, match="append-only"):
        connection.execute(text("DELETE FROM audit_events"))
    command.downgrade(config, "0002")
    with engine.connect() as connection:
        assert "audit_events" not in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT count(*) FROM phone_numbers")).scalar() == 1
        columns = {c["name"] for c in inspect(connection).get_columns("accounts")}
        assert "premium_rate_allowed" not in columns
    command.upgrade(config, "head")


def test_0007_rebuilds_api_keys_without_losing_a_key(tmp_path: Path) -> None:
    """0007 rebuilds api_keys (a foreign key to users cannot be added in place): every
    key survives both ways, and deleting a user then takes that user's keys (D1)."""
    engine = empty_engine(tmp_path / "m.db")
    config = alembic_config(engine)
    command.upgrade(config, "0006")
    t = "2026-01-01 00:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO accounts (id, name, status, billing_increment, created_at) "
                f"VALUES ('AC1', 'A', 'active', '60/60', '{t}')"
            )
        )
        connection.execute(
            text(f"INSERT INTO api_keys VALUES ('KE1', 'AC1', 'd', 'p', 'h1', '{t}', NULL)")
        )
    command.upgrade(config, "head")
    with engine.begin() as connection:
        row = connection.execute(text("SELECT id, user_id, expires_at FROM api_keys")).one()
        assert tuple(row) == ("KE1", None, None)
        connection.execute(
            text(
                f"INSERT INTO users (id, account_id, name, role, created_at) "
                f"VALUES ('US1', 'AC1', 'U', 'user', '{t}')"
            )
        )
        connection.execute(
            text(
                f"INSERT INTO api_keys (id, account_id, name, prefix, key_hash, created_at, "
                f"user_id) VALUES ('KE2', 'AC1', 'u', 'p', 'h2', '{t}', 'US1')"
            )
        )
        connection.execute(text("DELETE FROM users WHERE id = 'US1'"))
        keys = connection.execute(text("SELECT id FROM api_keys")).scalars().all()
        assert keys == ["KE1"]
    command.downgrade(config, "0006")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM api_keys")).scalars().all() == ["KE1"]


def test_0017_seals_plain_trunk_passwords(tmp_path: Path) -> None:
    """Issue 13 item 5: a trunk password stored in plain text before 0017 is sealed by
    it with the platform's key (and the plain column is gone); without the key the
    upgrade stops rather than keep it plain."""
    key = bytes(range(32))
    for with_key in (False, True):
        engine = empty_engine(tmp_path / f"{with_key}.db")
        command.upgrade(alembic_config(engine), "0016")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO trunks (id, account_id, name, host, port, transport, username,"
                    " password, caller_id_format, priority, enabled, created_at) VALUES"
                    " ('TR1', NULL, 'C', '192.0.2.1', 5060, 'udp', 'acme', 'plain-pw',"
                    " 'e164', 100, TRUE, '2026-01-01 00:00:00')"
                )
            )
        if not with_key:
            with pytest.raises(RuntimeError, match="plain text"):
                migrate(engine)
            continue
        migrate(engine, lambda: key)
        with engine.connect() as connection:
            raw = repr(connection.execute(text("SELECT * FROM trunks")).all())
            value = connection.execute(text("SELECT password_sealed FROM trunks")).scalar()
        assert "plain-pw" not in raw
        assert sealed.is_sealed_text(value)
        assert trunks.open_password("TR1", value, key) == "plain-pw"
