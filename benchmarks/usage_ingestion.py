"""Durable usage ingestion (issue 6: goal ≥ 10,000 events/s through ``POST /v1/usage``,
with no duplicate and none lost after ``kill -9``).

A real ``dialtone serve`` (SQLite, WAL, ``synchronous=FULL``) on free local ports and a
temporary data directory; an account and its API key come from ``dialtone accounts
create``. ``--clients`` threads, each with its own HTTP connection, post Lago-style
batches of ``--batch`` events until ``--events`` events have been posted. Every event
has its own ``transaction_id`` except ``--dup-share`` of them (5 %), which repeat an id
of an earlier batch, byte for byte, as a client's retry would. The request bodies are
serialised before the clock starts.

Throughput is the events of acknowledged (2xx) batches per second of wall time, from the
first request to the last answer; median of ``--runs`` runs, each on a fresh account.
After each run the SQLite file is read directly (read-only): the account's rows must be
exactly the distinct ids sent, each once.

The reference measured in the same run is the raw SQLite floor: the same rows, in the
same batches, inserted by a plain ``sqlite3`` script into a copy of the server's
``usage_events`` schema (read from its database) with the server's pragmas, one
transaction of ``executemany(INSERT … ON CONFLICT DO NOTHING)`` per batch. A second
floor, one ``execute`` per row as ``services/usage.py`` does it, is measured in the last
run and reported beside it.

The crash test (``--crashes`` times, ``--seed``): the clients post ``--crash-events``
events, and once a randomly drawn share of the batches (10 to 80 %) has been
acknowledged the server gets SIGKILL after a random 0 to 250 ms (so the kill lands in
any phase of the requests in flight: parsing, inserting, committing); clients stop at
their first transport error. The server restarts on the same data directory; every id
of an acknowledged batch must be stored exactly once. Then every batch is posted again
(a client retrying after the crash) and the account must hold each id of the plan
exactly once.

``--profile`` samples the server with py-spy ($PY_SPY, PATH or ``--py-spy``) during the
last throughput run. Prints readable lines, then one JSON object as its last line. Exits
1 on a correctness failure (an acknowledged event lost, an event stored twice), never
because of speed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop.conftest import Platform, start_platform, stop_platform

from _proc import (
    CpuMeter,
    Profiler,
    _frame,
    find_py_spy,
    print_hotspots,
    python_speed_ms,
)

GOAL = 10_000  # events/s, issue 6
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
CODES = ("call", "call", "forward", "sms")
# Frames every sample of a thread passes through: left out of the inclusive profile.
BOILERPLATE = ("_bootstrap", "typer/", "_click/", "runpy", "cli.py", "Runner.run", "__call__")
INSERT = (
    "INSERT INTO usage_events (account_id, transaction_id, code, at, destination, caller,"
    " duration, segments, received_at, rated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
    " ON CONFLICT (account_id, transaction_id) DO NOTHING"
)


# -- the events ---------------------------------------------------------------------------


def event(prefix: str, n: int) -> tuple[dict[str, object], tuple[object, ...]]:
    """Event number ``n`` of a plan, as posted and as the server stores it (without the
    account and the time received): always the same for the same ``n``, so a retry
    sends the same content."""
    code = CODES[n % len(CODES)]
    tid = f"{prefix}{n:09d}"
    at = (EPOCH + timedelta(seconds=n)).isoformat()  # 2025-01-01T00:00:00+00:00
    destination = f"+336{(n * 7919) % 100_000_000:08d}"
    posted: dict[str, object] = {
        "transaction_id": tid,
        "code": code,
        "timestamp": at[:19] + "Z",
        "destination": destination,
    }
    caller = None
    duration: float = 0
    segments = 0
    if code == "sms":
        segments = posted["segments"] = 1 + n % 3
    else:
        duration = posted["duration"] = n % 3600 + (n % 10) / 10
        if n % 2:
            caller = posted["caller"] = f"+3319{n % 10_000_000:07d}"
    row = (tid, code, f"{at[:10]} {at[11:19]}.000000", destination, caller, duration, segments)
    return posted, row


@dataclass(frozen=True, slots=True)
class Batch:
    index: int
    ids: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]  # for the SQLite floor
    body: bytes


@dataclass
class Plan:
    prefix: str
    batches: list[Batch]

    @property
    def events(self) -> int:
        return sum(len(b.ids) for b in self.batches)

    @property
    def distinct(self) -> set[str]:
        return {i for b in self.batches for i in b.ids}


def make_plan(prefix: str, events: int, size: int, dup_share: float, rng: random.Random) -> Plan:
    """``events`` events in batches of ``size``; from the second batch on, ``dup_share``
    of each batch repeats ids of earlier batches (never twice in one batch)."""
    batches: list[Batch] = []
    earlier: list[int] = []
    fresh = 0
    posted = 0
    while posted < events:
        count = min(size, events - posted)
        repeats = min(len(earlier), round(count * dup_share)) if batches else 0
        numbers = rng.sample(earlier, repeats) if repeats else []
        new = list(range(fresh, fresh + count - repeats))
        fresh += len(new)
        numbers += new
        rng.shuffle(numbers)
        made = [event(prefix, n) for n in numbers]
        batches.append(
            Batch(
                index=len(batches),
                ids=tuple(str(e["transaction_id"]) for e, _ in made),
                rows=tuple(row for _, row in made),
                body=json.dumps({"events": [e for e, _ in made]}, separators=(",", ":")).encode(),
            )
        )
        earlier += new
        posted += count
    return Plan(prefix, batches)


# -- the server ---------------------------------------------------------------------------


def create_accounts(platform: Platform, names: list[str]) -> list[tuple[str, str]]:
    """(account id, API key) of each name, from ``dialtone accounts create`` (the
    commands run side by side: each takes seconds to start)."""
    commands = [
        subprocess.Popen(
            [sys.executable, "-m", "dialtone.cli", "accounts", "create", name],
            env=platform.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    out = []
    for command in commands:
        stdout, stderr = command.communicate(timeout=120)
        if command.returncode != 0:
            raise RuntimeError(f"dialtone accounts create failed: {stderr}")
        values = dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)
        out.append((values["account_id"], values["api_key"]))
    return out


def database(platform: Platform) -> Path:
    return platform.data_dir / "dialtone.db"


def stored_ids(db: Path, account_id: str, prefix: str) -> collections.Counter[str]:
    """How many rows each transaction_id of the account starting with ``prefix`` has,
    read-only from the file."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            "SELECT transaction_id, count(*) FROM usage_events"
            " WHERE account_id = ? AND substr(transaction_id, 1, ?) = ?"
            " GROUP BY transaction_id",
            (account_id, len(prefix), prefix),
        ).fetchall()
    finally:
        con.close()
    return collections.Counter({tid: n for tid, n in rows})


def schema(db: Path) -> list[str]:
    """The CREATE statements of ``usage_events`` and its indexes, from the server's file."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'usage_events' AND sql IS NOT NULL"
            " ORDER BY type DESC"  # the table before its indexes
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


# -- posting ------------------------------------------------------------------------------


@dataclass
class Outcome:
    wall: float = 0.0
    acked: list[int] = field(default_factory=list)  # batch indexes answered 2xx
    accepted: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    client_cpu: float = 0.0

    def acked_events(self, plan: Plan) -> int:
        return sum(len(plan.batches[i].ids) for i in self.acked)

    def acked_ids(self, plan: Plan) -> set[str]:
        return {t for i in self.acked for t in plan.batches[i].ids}


def post_all(
    base_url: str,
    api_key: str,
    plan: Plan,
    clients: int,
    *,
    stop_on_transport_error: bool = False,
    on_ack: threading.Event | None = None,
    ack_target: int = 0,
) -> Outcome:
    """Post every batch of ``plan`` over ``clients`` connections, in plan order.
    ``on_ack`` is set once ``ack_target`` batches have been acknowledged."""
    outcome = Outcome()
    lock = threading.Lock()
    cursor = iter(plan.batches)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}

    def worker() -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as http:
            while True:
                with lock:
                    batch = next(cursor, None)
                if batch is None:
                    return
                try:
                    answer = http.post("/v1/usage", content=batch.body)
                except httpx.TransportError as exc:
                    with lock:
                        outcome.errors.append(f"batch {batch.index}: {type(exc).__name__}")
                    if stop_on_transport_error:
                        return
                    continue
                with lock:
                    if answer.is_success:
                        body = answer.json()
                        outcome.acked.append(batch.index)
                        outcome.accepted += body["accepted"]
                        outcome.duplicates += body["duplicates"]
                        if on_ack is not None and len(outcome.acked) >= ack_target:
                            on_ack.set()
                    else:
                        outcome.errors.append(
                            f"batch {batch.index}: HTTP {answer.status_code} {answer.text[:200]}"
                        )

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    cpu = time.process_time()
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.wall = time.perf_counter() - start
    outcome.client_cpu = time.process_time() - cpu
    return outcome


# -- throughput ---------------------------------------------------------------------------


def sqlite_floor(
    create: list[str], plan: Plan, account_id: str, path: Path, *, per_row: bool
) -> tuple[float, int]:
    """(seconds, rows stored) for the plan's rows inserted into a fresh file with the
    server's pragmas, one transaction per batch."""
    received = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    batches = [[(account_id, *row, received) for row in b.rows] for b in plan.batches]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        con.execute(f"PRAGMA {pragma}")
    for statement in create:
        con.execute(statement)
    start = time.perf_counter()
    for rows in batches:
        con.execute("BEGIN")
        if per_row:
            for row in rows:
                con.execute(INSERT, row)
        else:
            con.executemany(INSERT, rows)
        con.execute("COMMIT")
    seconds = time.perf_counter() - start
    stored = con.execute("SELECT count(*) FROM usage_events").fetchone()[0]
    con.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return seconds, stored


@dataclass
class Run:
    events_per_s: float
    new_rows_per_s: float
    floor_events_per_s: float
    floor_per_row_events_per_s: float | None
    acked_events: int
    distinct: int
    rows: int
    lost: int
    duplicated: int
    stray: int
    errors: list[str]
    server_cpu_percent: float
    server_cpu_us_per_event: float
    client_cpu_percent: float
    machine_busy_percent: float
    ms_per_batch: float

    @property
    def correct(self) -> bool:
        return not (self.lost or self.duplicated or self.stray)


def throughput_run(
    platform: Platform,
    account: tuple[str, str],
    *,
    index: int,
    args: argparse.Namespace,
    rng: random.Random,
    work: Path,
) -> tuple[Run, Profiler | None]:
    """One timed pass on a fresh account, its check, and the SQLite floor for its rows."""
    account_id, key = account
    plan = make_plan(f"r{index}-", args.events, args.batch, args.dup_share, rng)
    last = index == args.runs - 1
    profiler = None
    if args.py_spy_path and last:
        profiler = Profiler(args.py_spy_path, platform.process.pid, work / "profile.txt")
        time.sleep(1)
    meter = CpuMeter(platform.process.pid).start()
    outcome = post_all(platform.base_url, key, plan, args.clients)
    meter.stop()
    if profiler is not None:
        profiler.stop()
    sent = plan.distinct
    stored = stored_ids(database(platform), account_id, plan.prefix)
    acked = outcome.acked_ids(plan)
    create = schema(database(platform))
    floor_s, floor_stored = sqlite_floor(create, plan, account_id, work / "floor.db", per_row=False)
    if floor_stored != len(sent):
        raise RuntimeError(f"the floor stored {floor_stored} rows, expected {len(sent)}")
    per_row = None
    if last:  # the server's way (one statement per row) without the server: once is enough
        per_row_s, _ = sqlite_floor(create, plan, account_id, work / "floor.db", per_row=True)
        per_row = plan.events / per_row_s
    acked_events = outcome.acked_events(plan)
    run = Run(
        events_per_s=acked_events / outcome.wall,
        new_rows_per_s=outcome.accepted / outcome.wall,
        floor_events_per_s=plan.events / floor_s,
        floor_per_row_events_per_s=per_row,
        acked_events=acked_events,
        distinct=len(sent),
        rows=sum(stored.values()),
        # With every batch acknowledged the rows must be the distinct ids sent; with
        # failed batches, at least the ids of the acknowledged ones.
        lost=len((acked if outcome.errors else sent) - stored.keys()),
        duplicated=sum(1 for n in stored.values() if n > 1),
        stray=len(stored.keys() - sent),
        errors=outcome.errors,
        server_cpu_percent=meter.percent,
        server_cpu_us_per_event=1e6 * meter.cpu / max(1, acked_events),
        client_cpu_percent=round(100 * outcome.client_cpu / outcome.wall, 1),
        machine_busy_percent=meter.machine_busy_percent,
        ms_per_batch=1000 * outcome.wall * args.clients / max(1, len(plan.batches)),
    )
    if outcome.accepted != len(sent) and not outcome.errors:
        run.errors.append(f"server said {outcome.accepted} accepted, {len(sent)} distinct sent")
    print(
        f"run {index + 1}: {run.events_per_s:8,.0f} events/s acknowledged"
        f" ({acked_events:,} events in {len(plan.batches)} batches of {args.batch},"
        f" {outcome.wall:.1f} s, {run.ms_per_batch:.0f} ms per batch per client);"
        f" SQLite floor {run.floor_events_per_s:,.0f}/s"
        + (f" (one execute per row {per_row:,.0f}/s)" if per_row else "")
        + f"; {run.rows:,} rows for {run.distinct:,} distinct ids sent (lost {run.lost},"
        f" duplicated {run.duplicated}, stray {run.stray}); server CPU"
        f" {run.server_cpu_percent}% ({run.server_cpu_us_per_event:.0f} µs/event), client CPU"
        f" {run.client_cpu_percent}%, machine {run.machine_busy_percent}% busy"
        + (f"; {len(run.errors)} errors, first: {run.errors[0]}" if run.errors else ""),
        flush=True,
    )
    return run, profiler


# -- crash --------------------------------------------------------------------------------


@dataclass
class Crash:
    batches: int
    acked_batches: int
    acknowledged: int  # distinct ids of acknowledged batches
    lost: int
    duplicated: int
    stored_unacknowledged: int  # in flight at the kill: committed, never answered
    kill_after_share: float
    kill_after_last_ack: bool
    repost_lost: int
    repost_duplicated: int
    repost_errors: int

    @property
    def correct(self) -> bool:
        return not (self.lost or self.duplicated or self.repost_lost or self.repost_duplicated)


def crash_run(
    platform: Platform,
    account: tuple[str, str],
    index: int,
    args: argparse.Namespace,
    rng: random.Random,
) -> tuple[Crash, Platform]:
    """kill -9 while the clients post, restart on the same data directory, check, re-post
    everything, check again. Returns the restarted server (the next crash kills it)."""
    account_id, key = account
    plan = make_plan(f"c{index}-", args.crash_events, args.batch, args.dup_share, rng)
    share = rng.uniform(0.1, 0.8)
    target = max(1, int(share * len(plan.batches)))
    pause = rng.uniform(0.0, 0.25)
    reached = threading.Event()
    pid = platform.process.pid

    def kill() -> None:
        reached.wait()
        time.sleep(pause)
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        outcome = post_all(
            platform.base_url,
            key,
            plan,
            args.clients,
            stop_on_transport_error=True,
            on_ack=reached,
            ack_target=target,
        )
    finally:
        reached.set()  # target never reached (every batch failed): kill all the same
        killer.join()
        platform.process.wait()
    after_last_ack = len(outcome.acked) == len(plan.batches)
    acked = outcome.acked_ids(plan)
    home = platform.data_dir.parent
    platform.log_path.replace(home / f"serve-killed-{index}.log")
    platform = start_platform(home, log_level="WARNING")  # the same data directory
    stored = stored_ids(database(platform), account_id, plan.prefix)
    again = post_all(platform.base_url, key, plan, args.clients)
    stored_again = stored_ids(database(platform), account_id, plan.prefix)
    everything = plan.distinct
    crash = Crash(
        batches=len(plan.batches),
        acked_batches=len(outcome.acked),
        acknowledged=len(acked),
        lost=len(acked - stored.keys()),
        duplicated=sum(1 for n in stored.values() if n > 1),
        stored_unacknowledged=len(stored.keys() - acked),
        kill_after_share=round(share, 3),
        kill_after_last_ack=after_last_ack,
        repost_lost=len(everything - stored_again.keys()),
        repost_duplicated=sum(1 for n in stored_again.values() if n > 1),
        repost_errors=len(again.errors),
    )
    if again.accepted + len(stored) != len(stored_again):
        print(
            f"   crash {index + 1}: the re-post reported {again.accepted} accepted, but the"
            f" rows went from {len(stored)} to {len(stored_again)}",
            flush=True,
        )
    print(
        f"crash {index + 1}: kill -9 after {crash.acked_batches}/{crash.batches} batches"
        f" acknowledged ({crash.acknowledged:,} ids); after the restart lost {crash.lost},"
        f" duplicated {crash.duplicated}, stored but never acknowledged"
        f" {crash.stored_unacknowledged}; after re-posting every batch"
        f" ({len(everything):,} ids): lost {crash.repost_lost}, duplicated"
        f" {crash.repost_duplicated}, errors {crash.repost_errors}"
        + (" (the kill came after the last answer)" if after_last_ack else ""),
        flush=True,
    )
    return crash, platform


def busy_frames(raw: Path, top: int) -> dict[str, list[tuple[str, float]]]:
    """Where the server's CPU goes across every thread (the API's database work runs in
    worker threads, not on the event loop): own and inclusive time per frame, in percent
    of the samples that were not waiting (idle selectors, locks, queues)."""
    idle = ("select (selectors", "epoll", "wait (threading", "_worker (concurrent", "get (queue")
    idle += ("run_forever", "acquire")
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_frame(f) for f in stack.split(";")[1:]]
        if not frames or any(s in frames[-1] for s in idle):
            continue
        busy += int(count)
        own[frames[-1]] += int(count)
        for name in set(frames):
            inclusive[name] += int(count)
    if not busy:
        return {}
    return {
        "busy_self_all_threads": [(f, round(100 * n / busy, 1)) for f, n in own.most_common(top)],
        "busy_inclusive_all_threads": [
            (f, round(100 * n / busy, 1))
            for f, n in inclusive.most_common(top * 4)
            if not any(s in f for s in BOILERPLATE)
        ][:top],
    }


# -- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events posted per run")
    parser.add_argument("--batch", type=int, default=500, help="events per request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dup-share", type=float, default=0.05, help="retried events")
    parser.add_argument("--crashes", type=int, default=3)
    parser.add_argument("--crash-events", type=int, default=20_000, help="events per crash")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="1 run of 20,000, 1 crash")
    parser.add_argument("--profile", action="store_true", help="py-spy the server")
    parser.add_argument("--py-spy", help="path of py-spy (default: $PY_SPY or PATH)")
    args, _ = parser.parse_known_args()  # run_all passes its own flags to everyone
    if args.quick:
        args.events, args.runs, args.crashes, args.crash_events = 20_000, 1, 1, 10_000
    args.py_spy_path = None
    if args.profile:
        args.py_spy_path = find_py_spy(args.py_spy)
        if args.py_spy_path is None:
            print("--profile: py-spy not found; no profile", file=sys.stderr)
    rng = random.Random(args.seed)
    speed_before = python_speed_ms()
    runs: list[Run] = []
    crashes: list[Crash] = []
    hotspots: dict[str, list[tuple[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="usage-bench-") as tmp:
        work = Path(tmp)
        (work / "server").mkdir()
        platform = start_platform(work / "server", log_level="WARNING")
        try:
            names = [f"Bench {i}" for i in range(args.runs)] + ["Crash"] * bool(args.crashes)
            accounts = create_accounts(platform, names)
            for index in range(args.runs):
                run, profiler = throughput_run(
                    platform, accounts[index], index=index, args=args, rng=rng, work=work
                )
                runs.append(run)
                if profiler is not None:
                    hotspots = profiler.hotspots(20)
                    if profiler.out.exists():
                        hotspots.update(busy_frames(profiler.out, 25))
            for index in range(args.crashes):
                crash, platform = crash_run(platform, accounts[-1], index, args, rng)
                crashes.append(crash)
        finally:
            stop_platform(platform)
    speed_after = python_speed_ms()

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values)) if values else None

    eps = median([r.events_per_s for r in runs])
    floor = median([r.floor_events_per_s for r in runs])
    per_row = median([r.floor_per_row_events_per_s for r in runs if r.floor_per_row_events_per_s])
    lost = sum(c.lost + c.repost_lost for c in crashes) + sum(r.lost for r in runs)
    duplicated = sum(c.duplicated + c.repost_duplicated for c in crashes)
    duplicated += sum(r.duplicated for r in runs)
    stray = sum(r.stray for r in runs)
    if hotspots:
        print_hotspots("dialtone serve during the last throughput run", hotspots)
    if eps is not None and floor:
        print(
            f"median: {eps:,} events/s acknowledged (goal {GOAL:,}); raw SQLite floor"
            f" {floor:,}/s (one execute per row: {per_row:,}/s); server/floor {eps / floor:.3f}"
        )
    print(
        f"crash: {len(crashes)} × kill -9, {sum(c.acknowledged for c in crashes):,} ids"
        f" acknowledged, lost {sum(c.lost for c in crashes)}, duplicated"
        f" {sum(c.duplicated for c in crashes)}; after re-post lost"
        f" {sum(c.repost_lost for c in crashes)}, duplicated"
        f" {sum(c.repost_duplicated for c in crashes)}"
    )
    print(f"python speed: {speed_before} ms before, {speed_after} ms after (lower is faster)")
    print(
        json.dumps(
            {
                "benchmark": "usage_ingestion",
                "events_per_run": args.events,
                "batch": args.batch,
                "clients": args.clients,
                "dup_share": args.dup_share,
                "runs": args.runs,
                "events_per_s": [round(r.events_per_s) for r in runs],
                "events_per_s_median": eps,
                "new_rows_per_s_median": median([r.new_rows_per_s for r in runs]),
                "floor_events_per_s": [round(r.floor_events_per_s) for r in runs],
                "floor_events_per_s_median": floor,
                "floor_per_row_events_per_s_median": per_row,
                "ratio": round(eps / floor, 3) if eps and floor else None,
                "goal_events_per_s": GOAL,
                "meets_goal": bool(eps and eps >= GOAL),
                "ms_per_batch_per_client_median": median([r.ms_per_batch for r in runs]),
                "server_cpu_percent_median": median([r.server_cpu_percent for r in runs]),
                "server_cpu_us_per_event_median": median([r.server_cpu_us_per_event for r in runs]),
                "client_cpu_percent_median": median([r.client_cpu_percent for r in runs]),
                "machine_busy_percent_median": median([r.machine_busy_percent for r in runs]),
                "throughput_http_errors": sum(len(r.errors) for r in runs),
                "throughput_rows_correct": all(r.correct for r in runs),
                "crash_runs": len(crashes),
                "crash_events_per_run": args.crash_events,
                "seed": args.seed,
                "acknowledged": sum(c.acknowledged for c in crashes),
                "stored_unacknowledged": sum(c.stored_unacknowledged for c in crashes),
                "lost": lost,
                "duplicated": duplicated,
                "stray_rows": stray,
                "crashes": [c.__dict__ for c in crashes],
                "python_speed_ms_before_after": [speed_before, speed_after],
                "profile": hotspots or None,
            }
        )
    )
    return 1 if lost or duplicated or stray else 0


if __name__ == "__main__":
    sys.exit(main())
