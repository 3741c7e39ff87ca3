"""Durable ingestion on PostgreSQL against SQLite, in the same run (issue 19, Figures).

Two paths the platform writes through, each measured on both engines as shipped:
SQLite in WAL mode with ``synchronous=FULL``, and a PostgreSQL cluster started here from
Debian's package with ``fsync=on``, ``synchronous_commit=on`` and full page writes
(tests/programs/postgres.py, ``durable=True``), reached over TCP on 127.0.0.1.

- **CDRs by group commit** (the runtime's path: ``runtime.cdr_writer.CdrWriter`` on one
  database thread): ``--writers`` coroutines each commit one call record after another
  for ``--seconds``, as calls ending together do; a record counts once its ``write_cdr``
  returned (committed: its BYE could be answered).
- **Usage events** (``services.billing.usage.ingest``, the ``POST /v1/usage`` path):
  batches of ``--batch`` events, one transaction each, ``INSERT … ON CONFLICT DO
  NOTHING``, with ``--dup-share`` of each batch repeating earlier ids (a client's retry),
  for ``--seconds``.

Each figure is the median of ``--runs`` runs on a fresh database; after each run the rows
are counted (every acknowledged record present once, no duplicate). The ratio is
PostgreSQL's events/s over SQLite's. (benchmarks/usage_ingestion.py measures the HTTP
API end to end on SQLite, with crashes.) Prints readable lines, then one JSON object as
its last line; exits 1 on a correctness failure, never because of speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.programs import postgres

from dialtone.runtime.cdr_writer import CdrWriter
from dialtone.services.accounts import accounts
from dialtone.services.billing import usage
from dialtone.services.telephony.calls import CallOutcome
from dialtone.store.db import open_database, transaction
from dialtone.store.models import CallRecord, UsageEvent

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ENGINES = ("sqlite", "postgresql")


@contextmanager
def fresh_database(engine: str, work: Path, cluster: postgres.Cluster | None) -> Iterator[str]:
    """The URL of a new, empty database of ``engine``, removed after."""
    if engine == "sqlite":
        path = work / f"bench-{time.monotonic_ns()}.db"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert cluster is not None
    url = cluster.create_database()
    try:
        yield url
    finally:
        cluster.drop_database(url.rsplit("/", 1)[1])


def _account(sessions: sessionmaker[Session]) -> str:
    with transaction(sessions) as session:
        return accounts.create_account(session, "Bench", now=T0).account.id


def cdr_run(sessions: sessionmaker[Session], seconds: float, writers: int) -> tuple[float, int]:
    """(records committed per second, rows found) for ``writers`` concurrent callers."""
    account = _account(sessions)
    serial = count()

    def outcome() -> CallOutcome:
        n = next(serial)
        start = T0 + timedelta(seconds=n)
        return CallOutcome(
            account_id=account, direction="inbound", from_number="+14155550100",
            to_number="+33123456789", started_at=start, answered_at=start,
            ended_at=start + timedelta(seconds=30 + n % 90), status="completed",
            hangup_cause="caller-bye", sip_call_id=f"bench-{n}", sip_local_tag="t",
        )  # fmt: skip

    async def run() -> tuple[float, int]:
        committed = 0
        with ThreadPoolExecutor(1, thread_name_prefix="db") as executor:
            writer = CdrWriter(sessions, executor)
            start = time.perf_counter()
            deadline = start + seconds

            async def caller() -> None:
                nonlocal committed
                while time.perf_counter() < deadline:
                    await writer.write_cdr(outcome())
                    committed += 1

            await asyncio.gather(*(caller() for _ in range(writers)))
            wall = time.perf_counter() - start
            await writer.close()
        return committed / wall, committed

    rate, committed = asyncio.run(run())
    with sessions() as session:
        rows = session.scalar(select(func.count()).select_from(CallRecord)) or 0
        distinct = session.scalar(select(func.count(func.distinct(CallRecord.sip_call_id)))) or 0
    if rows != committed or distinct != rows:
        raise RuntimeError(f"CDRs: {committed} committed, {rows} rows, {distinct} distinct")
    return rate, rows


def usage_run(
    sessions: sessionmaker[Session], seconds: float, batch: int, dup_share: float
) -> tuple[float, int]:
    """(events acknowledged per second, rows found) for batches of ``batch`` events."""
    account = _account(sessions)
    fresh = count()
    sent: list[int] = []
    acknowledged = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        repeats = min(len(sent), round(batch * dup_share))
        numbers = sent[-repeats:] if repeats else []
        new = [next(fresh) for _ in range(batch - len(numbers))]
        events = [
            usage.Event(
                transaction_id=f"tx-{n:09d}", code="call", at=T0 + timedelta(seconds=n),
                destination="+33612345678", caller="+33199000001",
                duration=Decimal(n % 600), segments=0,
            )
            for n in numbers + new
        ]  # fmt: skip
        with transaction(sessions) as session:
            stored = usage.ingest(session, account, events, now=T0)
        if stored != len(new):
            raise RuntimeError(f"usage: {stored} stored of a batch with {len(new)} new ids")
        sent += new
        acknowledged += len(events)
    wall = time.perf_counter() - start
    with sessions() as session:
        rows = session.scalar(select(func.count()).select_from(UsageEvent)) or 0
    if rows != len(sent):
        raise RuntimeError(f"usage: {len(sent)} distinct ids acknowledged, {rows} rows")
    return acknowledged / wall, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per run and path")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--writers", type=int, default=200, help="concurrent CDR writers")
    parser.add_argument("--batch", type=int, default=500, help="usage events per request")
    parser.add_argument("--dup-share", type=float, default=0.05)
    parser.add_argument("--quick", action="store_true", help="1 run of 2 s per path")
    args, _ = parser.parse_known_args()  # run_all passes its own flags to everyone
    if args.quick:
        args.seconds, args.runs = 2.0, 1
    if postgres.binaries() is None:
        print("PostgreSQL is not installed (Debian package postgresql)", file=sys.stderr)
        return 2
    paths: dict[str, Callable[[sessionmaker[Session]], tuple[float, int]]] = {
        "cdr_group_commit": lambda s: cdr_run(s, args.seconds, args.writers),
        "usage_events": lambda s: usage_run(s, args.seconds, args.batch, args.dup_share),
    }
    rates: dict[str, dict[str, list[float]]] = {p: {e: [] for e in ENGINES} for p in paths}
    with (
        tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp,
        postgres.cluster(durable=True) as cluster,
    ):
        work = Path(tmp)
        for index in range(args.runs):
            for path, run in paths.items():
                # Alternated engines: a slow moment of the machine falls on both.
                for engine in ENGINES if index % 2 == 0 else ENGINES[::-1]:
                    with fresh_database(engine, work, cluster) as url:
                        db, sessions = open_database(url)
                        try:
                            rate, rows = run(sessions)
                        finally:
                            db.dispose()
                    rates[path][engine].append(rate)
                    print(
                        f"run {index + 1} {path} on {engine}: {rate:,.0f} events/s"
                        f" ({rows:,} rows, each once)",
                        flush=True,
                    )
    result: dict[str, object] = {
        "benchmark": "durable_ingestion",
        "seconds_per_run": args.seconds,
        "runs": args.runs,
        "writers": args.writers,
        "batch": args.batch,
        "postgresql": "fsync=on synchronous_commit=on full_page_writes=on, TCP 127.0.0.1",
        "sqlite": "WAL synchronous=FULL",
    }
    for path, by_engine in rates.items():
        medians = {e: statistics.median(v) for e, v in by_engine.items()}
        ratio = medians["postgresql"] / medians["sqlite"] if medians["sqlite"] else None
        print(
            f"median {path}: SQLite {medians['sqlite']:,.0f}/s, PostgreSQL"
            f" {medians['postgresql']:,.0f}/s, PostgreSQL/SQLite {ratio:.2f}"
        )
        result[path] = {
            "events_per_s": {e: [round(r) for r in v] for e, v in by_engine.items()},
            "median_events_per_s": {e: round(m) for e, m in medians.items()},
            "postgresql_over_sqlite": round(ratio, 3) if ratio else None,
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
