"""``dialtone serve`` on PostgreSQL (issue 19): it migrates an empty database itself,
takes sipp's calls, and their CDRs are rows of PostgreSQL, once each."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.programs import postgres

from .conftest import require_sipp, serving

pytestmark = pytest.mark.interop
CALLS = 4


def test_serve_on_postgresql_takes_sipp_calls_and_stores_their_cdrs(tmp_path: Path) -> None:
    require_sipp()
    with postgres.cluster() as cluster:
        url = cluster.create_database("dialtone")
        with serving(tmp_path, database_url=url) as platform:
            done = platform.sipp("uac_pcap.xml", "33123456789", calls=CALLS, extra=("-d", "500"))
            assert done.returncode == 0, done.stdout + done.stderr + platform.log()
            with platform.http() as http:
                listed = http.get("/v1/calls").json()["calls"]
            assert "sqlite" not in platform.log().lower()
        with psycopg.connect(
            host=cluster.host, port=cluster.port, user=postgres.SUPERUSER, dbname="dialtone"
        ) as connection:
            rows = connection.execute(
                "SELECT id, status, sip_call_id, billed_seconds FROM call_records"
            ).fetchall()
            [(version,)] = connection.execute("SELECT version_num FROM alembic_version")
    assert len(rows) == CALLS, rows
    assert {status for _, status, _, _ in rows} == {"completed"}
    assert len({call_id for _, _, call_id, _ in rows}) == CALLS
    assert {row[0] for row in rows} == {call["id"] for call in listed}
    assert all(billed == 60 for *_, billed in rows)  # 60/60 rating, as on SQLite
    assert version  # serve migrated the empty database
