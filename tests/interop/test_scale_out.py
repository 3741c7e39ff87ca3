"""Issue 19's acceptance on the real engines together: two `dialtone serve` workers on one
PostgreSQL database (a throw-away cluster) and one redis-server, behind Kamailio.

- A phone (baresip) registers through the edge and lands on one worker; a route changed
  over the API of that worker is followed by the next call, which the edge gives to the
  OTHER worker (its look-up cache kept for 60 s: only the shared invalidation can make
  it see the change), and that call reaches the phone registered through the first.
- While the phone is in that call, a second call of the same user, placed through the
  edge and landing on the first worker, is refused 486 `concurrency.user_limit` (V2
  counted across workers in Redis).
- kill -9 of one worker under sipp traffic: new calls go to the other after Kamailio's
  probe, and every call answered 200 and hung up has its CDR exactly once in PostgreSQL.

The parts are each tested alone beside their code (test_edge*.py, test_shared_state.py,
test_postgresql.py, test_workers.py); this is them together, as an operator runs them.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.programs.kamailio import Edge
from tests.programs.postgres import database as postgres_database
from tests.programs.postgres import require_postgres
from tests.programs.redis import RedisServer, redis_server

from .baresip import Baresip, require_baresip
from .conftest import (
    Platform,
    calls,
    poll,
    registrations,
    require_sipp,
    sippgen,
)
from .edge_cluster import PASSWORD, read_text, sipp_through, workers_behind_edge
from .sippgen import proxy_call

pytestmark = pytest.mark.interop


@dataclass
class Cluster:
    workers: list[Platform]
    edge: Edge
    redis: RedisServer
    database_url: str
    tmp: Path

    def other_than(self, worker: Platform) -> Platform:
        return next(w for w in self.workers if w is not worker)

    def dispatch_only_to(self, worker: Platform) -> None:
        """New dialogs go to ``worker`` alone (the other is disabled at the edge, as after
        a failed probe; "d" so that probes do not bring it back during the test)."""
        for each in self.workers:
            state = "a" if each is worker else "d"
            self.edge.kamcmd("dispatcher.set_state", state, "1", f"sip:127.0.0.1:{each.sip_port}")

    def cdr_counts(self) -> dict[str, int]:
        """Call records per SIP Call-ID, read straight from PostgreSQL."""
        url = self.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as db:
            rows = db.execute(
                "SELECT sip_call_id, count(*) FROM call_records GROUP BY sip_call_id"
            ).fetchall()
        return {str(call_id): int(count) for call_id, count in rows}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Two workers (w1, w2) on PostgreSQL and Redis behind an edge; an account with a
    number and the user bob (202)."""
    require_sipp()
    require_postgres()
    with (
        postgres_database() as url,
        redis_server() as redis,
        workers_behind_edge(
            tmp_path,
            database_url=url,
            redis_url=redis.url,
            # Only the shared invalidation can make a change reach the other worker.
            lookup_cache_seconds="60",
        ) as (workers, kamailio),
    ):
        yield Cluster(workers, kamailio, redis, url, tmp_path)


def _sipp(
    cluster: Cluster, name: str, xml: str, **options: Any
) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    """sipp through the cluster's edge (edge_cluster.sipp_through's options)."""
    return sipp_through(cluster.tmp, cluster.edge.port, name, xml, **options)


def _read(cluster: Cluster, name: str) -> str:
    return read_text(cluster.tmp, name)


def test_two_workers_on_postgresql_and_redis_behind_the_edge(cluster: Cluster) -> None:
    require_baresip()
    first = cluster.workers[0]
    bob = Baresip(
        cluster.tmp, "bob", user="bob", password=PASSWORD, registrar_port=cluster.edge.port
    )
    try:
        assert poll(lambda: registrations(first)), bob.log()[-3000:] + cluster.edge.log()[-3000:]
        # The worker the REGISTER landed on (the edge hashes its Call-ID) is "worker 1".
        [home] = [w for w in cluster.workers if "user bob registered" in w.log()]
        other = cluster.other_than(home)
        number = first.number

        # Worker 2 takes new calls and reads the number's route (the default greeting)
        # into its look-up cache, kept 60 s.
        cluster.dispatch_only_to(other)
        warm = _sipp(cluster, "warm", proxy_call(number, hold_ms=200))
        assert warm.returncode == 0, _read(cluster, "warm.err") + cluster.edge.log()[-3000:]
        assert poll(lambda: len(calls(first)) == 1)

        # The route changed over worker 1's API ...
        with home.http() as http:
            routed = http.put(
                f"/v1/numbers/{number}/route", json={"kind": "user", "target": home.extra["bob"]}
            )
        assert routed.status_code == 200, routed.text
        # ... is followed by the next call, which lands on worker 2: it rings bob, whose
        # phone registered through worker 1.
        held = _sipp(cluster, "held", proxy_call(number, hold_ms=6000), background=True)
        assert isinstance(held, subprocess.Popen)
        try:
            bob.wait_event("CALL_ESTABLISHED")
            # bob is in a call on worker 2. His second call, through the edge to worker
            # 1, is refused there by V2 counted across the workers.
            cluster.dispatch_only_to(home)
            second = _sipp(
                cluster,
                "second",
                sippgen.call(
                    "+442071838751",
                    from_user="bob",
                    auth=True,
                    expect=486,
                    expect_header=("Reason", "concurrency.user_limit"),
                ),
                auth=("bob", PASSWORD),
            )
            assert second.returncode == 0, _read(cluster, "second.err")
            held.wait(timeout=60)
        finally:
            if held.poll() is None:
                held.kill()
                held.wait()
        assert held.returncode == 0, _read(cluster, "held.err")
        bob.wait_event("CALL_CLOSED")
    finally:
        bob.stop()

    log = cluster.edge.log()
    assert log.count(f"dispatch INVITE to sip:127.0.0.1:{other.sip_port}") >= 2, log[-3000:]
    # The refusal is audited with its rule, read through worker 2's API from PostgreSQL.
    with other.http() as http:
        audited = http.get("/v1/audit", params={"code": "concurrency.user_limit"})
    assert audited.status_code == 200, audited.text
    [refusal] = audited.json()["events"]
    assert (refusal["rule"], refusal["outcome"]) == ("V2", "refused"), refusal
    # The greeting and bob's call are PostgreSQL rows, each once; bob's was answered by
    # his device through worker 2.
    records = poll(lambda: [r for r in calls(first) if r["status"] == "completed"] or None)
    assert records is not None
    assert len(records) == 2, records
    legs = sorted([leg["kind"] for leg in r["legs"]] for r in records)
    assert ["public", "device"] in legs, records
    assert all(count == 1 for count in cluster.cdr_counts().values())


def test_kill_9_of_a_worker_under_traffic_loses_no_answered_call(cluster: Cluster) -> None:
    victim, survivor = cluster.workers[1], cluster.workers[0]
    total, rate = 40, 5
    sipp = _sipp(
        cluster, "traffic", proxy_call(survivor.number, hold_ms=1500), calls=total, rate=rate,
        background=True,
    )  # fmt: skip
    assert isinstance(sipp, subprocess.Popen)
    try:
        time.sleep(3)  # calls on both workers
        victim.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        inactive = poll(
            lambda: cluster.edge.worker_flags().get(victim.sip_port, "").startswith("I"), 10
        )
        failover = time.monotonic() - killed
        assert inactive, cluster.edge.worker_flags()
        sipp.wait(timeout=90)
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.wait()
    answered = re.findall(r"answered-and-hung-up (\S+)", _read(cluster, "traffic.log"))
    lost = total - len(answered)
    print(
        f"kill -9 on PostgreSQL and Redis: inactive at the edge {failover:.2f} s after; "
        f"{len(answered)}/{total} calls answered and hung up, {lost} lost"
    )
    # Only the calls in progress on the victim are lost.
    assert lost <= 10, _read(cluster, "traffic.err")[-3000:]
    # The first new call hashed to the victim after the kill was failed over to the
    # survivor (or the probe marked the victim first).
    assert "worker silent, now trying" in cluster.edge.log() or failover < 1.5
    counts = cluster.cdr_counts()
    missing = {c: counts.get(c, 0) for c in answered if counts.get(c, 0) != 1}
    assert not missing, missing
