"""``dialtone serve`` on PostgreSQL (issue 19): it migrates an empty database itself,
takes sipp's calls, and their CDRs are rows of PostgreSQL, once each."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import psycopg
import pytest

from tests.programs import postgres

from .conftest import free_port, require_sipp, serving
from .test_crash_durability import _one_call

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


def test_postgresql_down_mid_traffic_loses_nothing_acknowledged_and_recovers(
    tmp_path: Path,
) -> None:
    """PostgreSQL dies under a running dialtone (SIGKILL of every PostgreSQL process): a
    call then is refused or its hang-up not acknowledged, never acknowledged and lost;
    once PostgreSQL is back, the next call goes through without restarting dialtone (the
    pool checks each connection before use)."""
    with postgres.cluster(durable=True) as cluster:
        url = cluster.create_database("dialtone")
        with (
            serving(tmp_path, database_url=url, ring_seconds="0") as platform,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        ):
            sock.bind(("127.0.0.1", free_port()))
            sock.settimeout(15)
            assert _one_call(platform, sock, "before-the-crash")
            cluster.kill()
            try:
                during = _one_call(platform, sock, "while-down")
            except TimeoutError:
                during = False
            cluster.restart()
            deadline = time.monotonic() + 30
            after = False
            n = 0
            while not after and time.monotonic() < deadline:
                n += 1
                try:
                    after = _one_call(platform, sock, f"after-{n}")
                except TimeoutError:
                    after = False
            assert after, platform.log()
            if not during:
                # Said in one line, not a traceback per call.
                assert "record not written: database unreachable" in platform.log()
                assert "Traceback" not in platform.log()
        with psycopg.connect(
            host=cluster.host, port=cluster.port, user=postgres.SUPERUSER, dbname="dialtone"
        ) as connection:
            stored = {
                call_id for (call_id,) in connection.execute("SELECT sip_call_id FROM call_records")
            }
    assert "before-the-crash" in stored
    assert f"after-{n}" in stored
    if during:
        assert "while-down" in stored
