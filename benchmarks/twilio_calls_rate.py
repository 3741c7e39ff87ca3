"""Calls created per second through the Twilio-compatible API (issue 16, Figures), against
the SIP-level call rate through the B2BUA on the same server in the same run.

The server is the B2BUA benchmark's (``b2bua_call_rate.forwarding_platform``: ``dialtone
serve`` quiet in a temporary directory, an account holding +33123456789 routed
``forward`` to +442071838750, a UDP trunk "carrier-out" at a sipp UAS, tried first
outbound, and "carrier-in" at the sipp UAC's port). The sipp UAS (``-sn uas``: 180, 200,
BYE answered) writes its counts every second, so the calls that reached it are counted
by the far end itself (its received calls: it answers each at once).

The API load: ``POST /2010-04-01/Accounts/{sid}/Calls.json`` (Basic auth with the
account's auth token) with ``To`` +442071838750, ``From`` the account's number (V10) and
``Twiml`` ``<Response><Pause length="1"/><Hangup/></Response>``, each request a new
call, sent open loop by an asyncio httpx client at a fixed rate for the run's seconds
(each request starts at its time whatever the others are doing; ``started_late`` counts
those more than 50 ms late: many late means this process, sharing the machine, was the
limit). Each call goes out through carrier-out, is answered, pauses
a second and is hung up by dialtone. An attempt passes when every request got its 201,
every call's CDR (its id is the SID the 201 gave) says ``completed`` and was answered,
the UAS received every call and failed none, and the requests were all answered within the
time the rate allows. Failures are reported by kind: ``http_<code>``, ``http_error``
(no answer), each with the reason code of its body (``api.busy``: admission's places
were all taken for 2 s) or the exception's name; ``no_cdr``, ``cdr_<status>``,
``not_answered``, ``uas_missing`` (fewer INVITEs reached the UAS than calls were
created), ``uas_failed``, ``uas_restarted``.

The figure is the highest such rate over a full run (``--seconds``), searched as the SIP
benchmarks search (``_sipp.highest_rate``: short probes climb ``API_STEPS`` and bisect,
a full run confirms; a probe whose requests take ``--probe-max-latency`` seconds on
average fails as slow: the API queueing them). The reference in the same run, on the
same server and UAS: the SIP-level rate (sipp UAC → dialtone → sipp UAS, b2bua_call_rate's
search with the same seconds, waiting for the server to go quiet after a failed probe
but lingering 10 s rather than 33). ``ratio_to_sip``: API rate over SIP rate, medians over
``--runs`` (a fresh server each run): how much of the call engine's rate survives the
HTTP API and the TwiML in front of it. Also reported at the confirmed API rate: the
201's latency (p50, p95), dialtone's CPU and its CPU per call.

``--quick``: 1 run, 2 s full runs, 1 s probes, climbing only the lowest steps
(``QUICK_API_STEPS``, ``QUICK_SIP_STEPS``): a smoke check of the machinery, about a
minute, whose rates are capped and mean nothing. Prints readable lines on stderr, then
one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from tests.interop.conftest import FORWARD_TO, Platform, free_port

import dialtone
from _proc import CpuMeter, python_speed_ms
from _sipp import (
    STEPS,
    Search,
    SippUas,
    UacRun,
    highest_rate,
    require_sipp,
    run_uac,
    sipp_uas,
)
from b2bua_call_rate import DIALED, forwarding_platform, settle

TWIML = '<Response><Pause length="1"/><Hangup/></Response>'
API_STEPS = (10, 20, 30, 40, 60, 80, 100, 125, 150, 200, 250, 300, 400, 500)
# --quick climbs only these (a smoke check of the machinery, not a figure).
QUICK_API_STEPS = (10, 20, 40)
QUICK_SIP_STEPS = (50, 100, 200)
# After the last request: how long the calls may take to end and be recorded (the call
# lasts a second once answered).
CDR_WAIT = 20.0


@dataclass
class Posted:
    due: float
    sent: float = 0.0
    answered: float = 0.0
    status: int = 0  # 0: no HTTP answer
    sid: str = ""
    reason: str = ""  # a refusal's reason code (dialtone's, beside Twilio's code)


@dataclass
class ApiAttempt:
    rate: int
    seconds: float
    posted: list[Posted] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    completed: int = 0
    wall: float = 0.0
    measured: dict[str, Any] = field(default_factory=dict)

    def latencies_ms(self) -> list[float]:
        return [1000 * (p.answered - p.sent) for p in self.posted if p.status == 201]


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value at or above ``fraction`` of them)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return round(ordered[int(rank) - 1], 1)


def sip_length(seconds: float) -> str:
    """``seconds`` as sipp writes a call length (``HH:MM:SS:mmmuuu``)."""
    micros = round(seconds * 1e6)
    whole, micros = divmod(micros, 1_000_000)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{micros:06d}"


# -- the API load ---------------------------------------------------------------------------


async def post_at_rate(platform: Platform, rate: int, seconds: float) -> tuple[list[Posted], float]:
    """``rate`` calls a second for ``seconds``, open loop; each request's outcome, and the
    time from the first request's start to the last answer."""
    count = max(1, round(rate * seconds))
    url = f"/2010-04-01/Accounts/{platform.account_id}/Calls.json"
    form = {"To": FORWARD_TO, "From": platform.number, "Twiml": TWIML}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(
        base_url=platform.base_url,
        auth=(platform.account_id, platform.extra["auth_token"]),
        limits=limits,
        timeout=30,
    ) as http:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        posted = [Posted(due=start + i / rate) for i in range(count)]

        async def one(item: Posted) -> None:
            await asyncio.sleep(max(0.0, item.due - loop.time()))
            item.sent = loop.time()
            try:
                answer = await http.post(url, data=form)
            except httpx.HTTPError as exc:
                item.answered = loop.time()
                item.reason = type(exc).__name__
                return
            item.answered = loop.time()
            item.status = answer.status_code
            with contextlib.suppress(ValueError):
                body = answer.json()
                item.sid = str(body.get("sid", "")) if answer.status_code == 201 else ""
                item.reason = str(body.get("reason") or body.get("code") or "")

        await asyncio.gather(*(one(p) for p in posted))
        wall = max(p.answered for p in posted) - start
    return posted, wall


def cdr_rowid(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT coalesce(max(rowid), 0) FROM call_records").fetchone()[0])


def cdrs_since(database: Path, rowid: int) -> dict[str, tuple[str, bool]]:
    """The CDRs recorded after ``rowid``: id -> (status, answered)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT id, status, answered_at IS NOT NULL FROM call_records WHERE rowid > ?",
            (rowid,),
        ).fetchall()
    return {str(r[0]): (str(r[1]), bool(r[2])) for r in rows}


def uas_counts(uas: SippUas) -> tuple[int, int]:
    """Calls the UAS received (each answered 200 at once) and calls it failed so far.
    Its successful count is no use here: sipp's built-in UAS counts a call a success
    four seconds after its BYE."""
    totals = uas.totals()
    return int(totals.get("IncomingCall(C)", 0) or 0), int(totals.get("FailedCall(C)", 0) or 0)


def api_attempt(platform: Platform, uas: SippUas, rate: int, seconds: float) -> ApiAttempt:
    """One run of API calls at ``rate`` for ``seconds``; waits until they have ended."""
    database = platform.data_dir / "dialtone.db"
    uas.ensure()
    restarts = uas.restarts
    rowid = cdr_rowid(database)
    reached_before, uas_failed_before = uas_counts(uas)
    meter = CpuMeter(platform.process.pid).start()
    posted, wall = asyncio.run(post_at_rate(platform, rate, seconds))
    meter.stop()
    attempt = ApiAttempt(rate, seconds, posted, wall=wall)
    for item in posted:
        if item.status != 201:
            kind = f"http_{item.status}" if item.status else "http_error"
            attempt.failures[f"{kind} {item.reason}".strip()] += 1
    sids = {p.sid for p in posted if p.sid}
    deadline = time.monotonic() + CDR_WAIT
    records: dict[str, tuple[str, bool]] = {}
    while time.monotonic() < deadline:
        records = cdrs_since(database, rowid)
        if sids <= records.keys():
            break
        time.sleep(0.5)
    time.sleep(1.5)  # the UAS writes its counts each second
    reached, uas_failed = uas_counts(uas)
    reached -= reached_before
    uas_failed -= uas_failed_before
    for sid in sids:
        if sid not in records:
            attempt.failures["no_cdr"] += 1
            continue
        status, answered = records[sid]
        if status != "completed":
            attempt.failures[f"cdr_{status}"] += 1
        elif not answered:
            attempt.failures["not_answered"] += 1
        else:
            attempt.completed += 1
    if uas.restarts != restarts or not uas.ensure():
        attempt.failures["uas_restarted"] += 1
    else:
        if reached < len(sids):
            attempt.failures["uas_missing"] += len(sids) - reached
        if uas_failed:
            attempt.failures["uas_failed"] += uas_failed
    late = sum(1 for p in posted if p.sent - p.due > 0.05)
    latencies = attempt.latencies_ms()
    attempt.measured = {
        "requests": len(posted),
        "created_201": len(sids),
        "completed_cdrs": attempt.completed,
        "reached_uas": reached,
        "failures": dict(attempt.failures),
        "api_ms_p50": percentile(latencies, 0.50),
        "api_ms_p95": percentile(latencies, 0.95),
        "api_ms_mean": round(statistics.fmean(latencies), 1) if latencies else None,
        "started_late": late,
        "wall_s": round(wall, 2),
        "cpu_percent": meter.percent,
        "event_loop_cpu_percent": meter.main_percent,
        "machine_busy_percent": meter.machine_busy_percent,
        "cpu_ms_per_call": round(1000 * meter.cpu / max(1, len(posted)), 2),
    }
    return attempt


def as_run(attempt: ApiAttempt) -> UacRun:
    """An API attempt in the shape the rate search reads (sipp's): a call is successful
    when its CDR is completed and answered; the mean API latency stands for the call
    length (a probe whose requests queue fails as slow)."""
    calls = len(attempt.posted)
    failed = sum(attempt.failures.values())
    mean = attempt.measured.get("api_ms_mean")
    run = UacRun(
        rate=attempt.rate,
        calls=calls,
        seconds=attempt.seconds,
        returncode=0 if failed == 0 else 1,
        successful=attempt.completed if failed == 0 else min(attempt.completed, calls - 1),
        failed=failed,
        retransmissions=0,
        wall=attempt.wall,
        call_length=sip_length(mean / 1000) if mean is not None else "?",
    )
    run.measured = attempt.measured
    return run


# -- one run: the API search, then the SIP search on the same server -------------------------


@dataclass
class RunResult:
    api: Search
    sip: Search


def sip_attempt(platform: Platform, uas: SippUas, uac_port: int, rate: int, secs: float) -> UacRun:
    """b2bua_call_rate's attempt, a shorter linger after a failure (this server's
    transactions of a failed probe are few at these rates)."""
    uas.ensure()
    meter = CpuMeter(platform.process.pid).start()
    run = run_uac(platform.sip_port, rate, secs, DIALED, local_port=uac_port)
    meter.stop()
    run.measured = {
        "cpu_percent": meter.percent,
        "machine_busy_percent": meter.machine_busy_percent,
        "cpu_ms_per_call": round(1000 * meter.cpu / max(1, run.successful), 2),
    }
    if not uas.ensure():
        run.returncode = run.returncode or -1
    if not run.ok:
        settle(platform.process.pid, linger=10.0)
    time.sleep(1)
    return run


def measure(args: argparse.Namespace, index: int, log: list[str]) -> RunResult:
    uac_port = free_port()
    with (
        sipp_uas(stats=True) as uas,
        forwarding_platform(uas.port, uac_port, 2001) as platform,
    ):

        def api(rate: int, secs: float) -> UacRun:
            run = as_run(api_attempt(platform, uas, rate, secs))
            if not run.ok:
                print(f"   dialtone: {run.measured}", file=sys.stderr)
                settle(platform.process.pid, linger=5.0)
            return run

        found_api = highest_rate(
            api,
            seconds=args.seconds,
            probe_seconds=args.probe_seconds,
            log=log,
            label=f"run {index + 1} api",
            steps=QUICK_API_STEPS if args.quick else API_STEPS,
            probe_max_call_length=args.probe_max_latency,
        )
        found_sip = highest_rate(
            lambda rate, secs: sip_attempt(platform, uas, uac_port, rate, secs),
            seconds=args.seconds,
            probe_seconds=args.probe_seconds,
            log=log,
            label=f"run {index + 1} sip",
            steps=QUICK_SIP_STEPS if args.quick else STEPS,
        )
    return RunResult(found_api, found_sip)


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10, help="full run per rate")
    parser.add_argument("--probe-seconds", type=float, default=2)
    parser.add_argument(
        "--probe-max-latency",
        type=float,
        default=0.5,
        help="a probe whose requests take this long on average (s) fails as slow",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 run, 2 s full runs, 1 s probes, only the lowest steps (a smoke check)",
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds, args.probe_seconds = 1, 2, 1
    require_sipp()
    speed_before = python_speed_ms()
    log: list[str] = []
    runs = [measure(args, index, log) for index in range(args.runs)]
    api = median([float(r.api.best) for r in runs]) or 0.0
    sip = median([float(r.sip.best) for r in runs]) or 0.0
    confirmed = [r.api.run.measured for r in runs if r.api.run is not None]

    def pick(key: str) -> float | None:
        return median([float(m[key]) for m in confirmed if m.get(key) is not None])

    print(
        json.dumps(
            {
                "benchmark": "twilio_calls_rate",
                "path": "httpx POST Calls.json (Twiml: Pause 1, Hangup) -> dialtone -> "
                "trunk carrier-out -> sipp uas",
                "reference_path": "sipp uac -> dialtone (trunk in, forward route, trunk out) "
                "-> the same sipp uas",
                "seconds_per_full_run": args.seconds,
                "probe_seconds": args.probe_seconds,
                "runs": args.runs,
                "api_max_calls_per_s": [r.api.best for r in runs],
                "sip_max_calls_per_s": [r.sip.best for r in runs],
                "api_median": api,
                "sip_median": sip,
                "ratio_to_sip": round(api / sip, 3) if sip else None,
                "api_capped_at_highest_step": any(r.api.capped for r in runs),
                "sip_capped_at_highest_step": any(r.sip.capped for r in runs),
                "quick": args.quick,
                "api_ms_p50_at_max": pick("api_ms_p50"),
                "api_ms_p95_at_max": pick("api_ms_p95"),
                "dialtone_cpu_percent_at_api_max": pick("cpu_percent"),
                "dialtone_cpu_ms_per_api_call": pick("cpu_ms_per_call"),
                "machine_busy_percent_at_api_max": pick("machine_busy_percent"),
                "failures_at_api_max": [m.get("failures") for m in confirmed],
                "api_runs_at_max": confirmed,
                "search_log": log,
                "build": dialtone.BUILD.mode,
                "python_speed_ms_before_after": [speed_before, python_speed_ms()],
            }
        )
    )
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
