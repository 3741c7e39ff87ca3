"""Migration 0019: call records name the user who placed the call (TERMS D1), existing
records included, from their traceback chain (TERMS V11)."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import text
from tests.database import empty_engine

from dialtone.store.db import alembic_config

T = "2026-01-01 00:00:00"


def test_0019_fills_the_placing_user_of_existing_records_and_goes_back(tmp_path: Path) -> None:
    engine = empty_engine(tmp_path / "m.db")
    config = alembic_config(engine)
    command.upgrade(config, "0018")
    device = {"kind": "user", "id": "US1", "source": "udp:127.0.0.1:5062", "user_agent": None}
    callee = {"kind": "device", "id": "US2", "source": "udp:127.0.0.1:5064", "user_agent": None}
    trunk = {"kind": "trunk", "id": "TR1", "source": "udp:192.0.2.1:5060", "user_agent": None}
    rows = {
        "CA1": json.dumps([device, callee]),  # a device's call to a colleague
        "CA2": json.dumps([trunk, callee]),  # a call from outside
        "CA3": "[]",  # no chain
        "CA4": "not json",  # unreadable: left alone, not an error
        "CA5": json.dumps({"kind": "user", "id": "US1"}),  # not a list
        "CA6": json.dumps([{"kind": "user"}]),  # a user's leg without its id
        "CA7": json.dumps(["US1"]),  # a leg that is not an object
    }
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, name, status, billing_increment, created_at) "
                f"VALUES ('AC1', 'A', 'active', '60/60', '{T}')"
            )
        )
        for n, (call_id, legs) in enumerate(rows.items()):
            connection.execute(
                text(
                    "INSERT INTO call_records (id, account_id, direction, from_number, "
                    "to_number, started_at, ended_at, duration, billed_seconds, "
                    "billing_increment, status, hangup_cause, sip_call_id, sip_local_tag, "
                    "legs, user_id) VALUES (:id, 'AC1', 'internal', '201', '202', :t, :t, "
                    "0, 0, '60/60', 'completed', 'caller-bye', :sip, 't', :legs, 'US2')"
                ),
                {"id": call_id, "t": T, "sip": f"c{n}", "legs": legs},
            )

    command.upgrade(config, "head")
    with engine.connect() as connection:
        filled = dict(connection.execute(text("SELECT id, caller_user_id FROM call_records")).all())
    assert filled == {"CA1": "US1"} | {f"CA{n}": None for n in range(2, 8)}

    command.downgrade(config, "0018")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM call_records")).scalar() == 7
    command.upgrade(config, "head")


def test_0019_fills_every_batch(tmp_path: Path) -> None:
    """The backfill reads and writes 1,000 records at a time: the records past the first
    batch are filled too (1,001: the last one alone in the second batch)."""
    engine = empty_engine(tmp_path / "m.db")
    config = alembic_config(engine)
    command.upgrade(config, "0018")
    legs = json.dumps([{"kind": "user", "id": "US1", "source": "udp:127.0.0.1:5062"}])
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, name, status, billing_increment, created_at) "
                f"VALUES ('AC1', 'A', 'active', '60/60', '{T}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO call_records (id, account_id, direction, from_number, "
                "to_number, started_at, ended_at, duration, billed_seconds, "
                "billing_increment, status, hangup_cause, sip_call_id, sip_local_tag, "
                "legs, user_id) VALUES (:id, 'AC1', 'internal', '201', '202', :t, :t, "
                "0, 0, '60/60', 'completed', 'caller-bye', :id, 't', :legs, 'US2')"
            ),
            [{"id": f"CA{n:05d}", "t": T, "legs": legs} for n in range(1001)],
        )
    command.upgrade(config, "head")
    with engine.connect() as connection:
        filled = connection.execute(
            text("SELECT count(*) FROM call_records WHERE caller_user_id = 'US1'")
        ).scalar()
    assert filled == 1001
