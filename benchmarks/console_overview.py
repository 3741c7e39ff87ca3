"""The console's overview page with 100,000 call records in the account (issue 18:
goal server time p95 ≤ 50 ms; report the page weight and the time to interactive).

A SQLite database migrated by Alembic (``open_database``) gets an account on the
``essential`` plan (so the billing tiles are drawn), a few users, an administrator with a
console password, and ``--cdrs`` call records (default 100,000) spread over the last
``--days`` days (90), inserted with one core ``INSERT`` per ``--chunk`` rows (executemany):
a realistic mix of directions (inbound, outbound, internal), statuses (mostly completed,
then no-answer, busy, failed, canceled), durations (a long tail: most calls are short)
and parties (a share placed or taken by users, the rest by no user: a trunk or an IVR).
Then a real ``dialtone serve`` starts on that data directory (free local ports).

Server time: the administrator signs in over HTTP and ``GET /console/`` is asked
``--requests`` times (≥ 200) on one keep-alive connection, one at a time, after
``--warmup`` unmeasured requests; each time is from the request sent to the last byte
of the answer on localhost (the server's time plus well under a millisecond of client).
The reference measured the same way in the same run is ``GET /healthz`` (the cheapest
answer of the same server: routing, middleware, JSON): the overview is reported as a
ratio to it, which moves less with the machine's load than the milliseconds.

Browser: headless Debian chromium (``/usr/bin/chromium`` or ``--chromium``) driven by
Playwright (no browser is downloaded), with the session's cookie. ``--loads`` (≥ 5) first
loads, each in a fresh browser context (empty cache): page weight is the bytes
transferred for the page and everything it loads (Resource Timing ``transferSize``:
headers and bodies as sent; the live feed's stream, still open, is left out), with the
bodies by kind (HTML, CSS, JS, other); time to interactive is navigation start →
``domInteractive``, with ``DOMContentLoaded`` end, the load event's end and the live
feed open beside it; medians of the loads.

``--profile`` samples the server with py-spy while the overview is asked (the hot frames
are printed). Prints readable lines, then one JSON object as its last line. Exits 1 when
a page does not answer 200 (never because of speed).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert
from tests.interop.conftest import Platform, start_platform, stop_platform

from _proc import CpuMeter, Profiler, find_py_spy, print_hotspots, python_speed_ms
from dialtone.services.accounts import accounts, console_access
from dialtone.services.billing import subscriptions
from dialtone.services.ids import new_id
from dialtone.services.telephony import users
from dialtone.store.db import open_database, transaction
from dialtone.store.models import CallRecord

GOAL_P95_MS = 50.0  # issue 18
EMAIL = "ada@bench.test"
PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
# (value, weight): the mixes of a business line.
DIRECTIONS = (("inbound", 48), ("outbound", 42), ("internal", 10))
STATUSES = (("completed", 72), ("no-answer", 14), ("busy", 6), ("failed", 5), ("canceled", 3))
CAUSES = {
    "completed": "normal",
    "no-answer": "no-answer-480",
    "busy": "busy-486",
    "failed": "failed-503",
    "canceled": "caller-cancel",
}


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def call_rows(
    account_id: str, user_ids: list[str], count: int, days: int, *, now: datetime, seed: int
) -> list[dict[str, Any]]:
    """``count`` call records of the account over the ``days`` days before ``now``; more
    on weekdays and in office hours, as a business's line has."""
    rng = random.Random(seed)
    span = days * 86_400
    rows: list[dict[str, Any]] = []
    while len(rows) < count:
        started = now - timedelta(seconds=rng.uniform(60, span))
        # Nights and weekends keep a third of their draws: fewer calls, never none.
        office = started.weekday() < 5 and 8 <= started.hour < 19
        if not office and rng.random() > 0.33:
            continue
        direction = _pick(rng, DIRECTIONS)
        status = _pick(rng, STATUSES)
        answered = status == "completed"
        talk = round(min(rng.lognormvariate(4.3, 1.1), 7200), 3) if answered else 0.0
        ring = round(rng.uniform(2, 25), 3)
        user = rng.choice(user_ids) if user_ids and rng.random() < 0.7 else None
        caller_user = rng.choice(user_ids) if direction != "inbound" and user_ids else None
        n = len(rows)
        rows.append(
            {
                "id": new_id("CA"),
                "account_id": account_id,
                "direction": direction,
                "from_number": f"+3319{n % 10_000_000:07d}"
                if direction == "inbound"
                else "+33184000001",
                "to_number": f"+336{(n * 7919) % 100_000_000:08d}"
                if direction == "outbound"
                else "+33184000001",
                "started_at": started,
                "answered_at": started + timedelta(seconds=ring) if answered else None,
                "ended_at": started + timedelta(seconds=ring + talk),
                "duration": Decimal(str(talk)),
                "billed_seconds": (int(talk) + 59) // 60 * 60 if talk else 0,
                "billing_increment": "60/60",
                "status": status,
                "hangup_cause": CAUSES[status],
                "sip_call_id": f"{n:08x}-bench@dialtone",
                "sip_local_tag": f"t{n:x}",
                "recording_path": None,
                "legs": "[]",
                "user_id": user if direction != "outbound" else caller_user,
                "trunk_id": None,
                "caller_user_id": caller_user if direction != "inbound" else None,
            }
        )
    return rows


def prepare(data_dir: Path, cdrs: int, days: int, chunk: int, seed: int) -> dict[str, Any]:
    """The data directory's database: migrated, the account and its calls. Returns what
    was made and how long the insert took."""
    now = datetime.now(UTC)
    engine, sessions = open_database(f"sqlite:///{data_dir / 'dialtone.db'}")
    try:
        with transaction(sessions) as session:
            account_id = accounts.create_account(session, "Bench Ltd", now=now).account.id
            subscriptions.subscribe(
                session, account_id, plan_code="essential", currency="EUR", country="FR",
                now=now, started_at=now - timedelta(days=days), accesses=5,
            )  # fmt: skip
            admin = users.create_user(
                session, account_id, name="Ada Admin", role="administrator", email=EMAIL,
                now=now, realm="dialtone",
            )  # fmt: skip
            console_access.set_user_password(session, account_id, admin.id, PASSWORD)
            user_ids = [admin.id] + [
                users.create_user(
                    session,
                    account_id,
                    name=f"User {i}",
                    extension=f"{201 + i}",
                    now=now,
                    realm="dialtone",
                ).id
                for i in range(11)
            ]
        rows = call_rows(account_id, user_ids, cdrs, days, now=now, seed=seed)
        start = time.perf_counter()
        table = CallRecord.__table__
        for offset in range(0, len(rows), chunk):
            with transaction(sessions) as session:
                session.execute(insert(table), rows[offset : offset + chunk])
        inserted = time.perf_counter() - start
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return {"account_id": account_id, "insert_s": inserted, "now": now}


def sign_in(base_url: str) -> httpx.Client:
    """A client holding the administrator's session cookie."""
    client = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
    form = client.get("/console/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    answer = client.post(
        "/console/sign-in",
        data={"email": EMAIL, "password": PASSWORD, "csrf": token.group(1)},
    )
    if answer.status_code != 303 or "dt_session" not in client.cookies:
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:300]}")
    return client


def timed(client: httpx.Client, path: str, count: int) -> tuple[list[float], int]:
    """Milliseconds of each of ``count`` GETs of ``path`` (request sent → last byte);
    and the size of the last body."""
    times: list[float] = []
    size = 0
    for _ in range(count):
        start = time.perf_counter()
        answer = client.get(path)
        body = answer.content
        times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        size = len(body)
    return times, size


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


# What the page's own script reads once loaded: navigation and resource timings.
TIMINGS_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource").map(r => ({
    name: r.name, type: r.initiatorType, transfer: r.transferSize, body: r.encodedBodySize,
    done: r.responseEnd > 0 }));
  return { interactive: nav.domInteractive, dcl: nav.domContentLoadedEventEnd,
           load: nav.loadEventEnd, transfer: nav.transferSize, body: nav.encodedBodySize,
           resources };
}"""


def _kind(name: str) -> str:
    path = name.split("?", 1)[0]
    if path.endswith(".css"):
        return "css"
    if path.endswith(".js"):
        return "js"
    return "other"


def browser_loads(
    base_url: str, cookie: str, loads: int, chromium: str
) -> tuple[list[dict[str, Any]], str | None]:
    """``loads`` first loads of the overview, each in a fresh context; (their figures,
    why there are none)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [], "playwright is not installed"
    if not Path(chromium).exists():
        return [], f"{chromium} not found"
    out: list[dict[str, Any]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for _ in range(loads):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_cookies([{"name": "dt_session", "value": cookie, "url": base_url}])
                page = context.new_page()
                answer = page.goto(f"{base_url}/console/", wait_until="load")
                if answer is None or answer.status != 200:
                    raise RuntimeError(f"the browser got {answer and answer.status}")
                page.wait_for_selector("html[data-live-state=open]", timeout=15_000)
                live_open = page.evaluate("() => performance.now()")
                found = page.evaluate(TIMINGS_JS)
                context.close()
                kinds = {"html": found["body"], "css": 0, "js": 0, "other": 0}
                transfer = found["transfer"]
                for resource in found["resources"]:
                    if "/console/live" in resource["name"]:
                        continue  # the live feed: a stream, open as long as the page
                    kinds[_kind(resource["name"])] += resource["body"]
                    transfer += resource["transfer"]
                out.append(
                    {
                        "transfer_bytes": transfer,
                        "body_bytes": kinds,
                        "interactive_ms": round(found["interactive"], 1),
                        "dom_content_loaded_ms": round(found["dcl"], 1),
                        "load_ms": round(found["load"], 1),
                        "live_open_ms": round(live_open, 1),
                    }
                )
        finally:
            browser.close()
    return out, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--chunk", type=int, default=10_000, help="rows per INSERT")
    parser.add_argument("--requests", type=int, default=300, help="timed GETs (≥ 200)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--loads", type=int, default=7, help="browser loads (≥ 5)")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--quick", action="store_true", help="10,000 records, 200 GETs, 5 loads")
    parser.add_argument("--profile", action="store_true", help="py-spy the server")
    parser.add_argument("--py-spy", help="path of py-spy (default: $PY_SPY or PATH)")
    args, _ = parser.parse_known_args()  # run_all passes its own flags to everyone
    if args.quick:
        args.cdrs, args.requests, args.loads = 10_000, 200, 5
    args.requests = max(args.requests, 200)
    args.loads = max(args.loads, 5)
    speed_before = python_speed_ms()
    hotspots: dict[str, list[tuple[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        work = Path(tmp)
        (work / "var").mkdir()
        made = prepare(work / "var", args.cdrs, args.days, args.chunk, args.seed)
        print(
            f"{args.cdrs:,} call records over {args.days} days inserted in"
            f" {made['insert_s']:.1f} s",
            flush=True,
        )
        platform: Platform = start_platform(work, log_level="WARNING")
        try:
            client = sign_in(platform.base_url)
            timed(client, "/console/", args.warmup)
            timed(client, "/healthz", args.warmup)
            profiler = None
            if args.profile:
                spy = find_py_spy(args.py_spy)
                if spy is None:
                    print("--profile: py-spy not found; no profile", file=sys.stderr)
                else:
                    profiler = Profiler(spy, platform.process.pid, work / "profile.txt")
                    time.sleep(1)
            meter = CpuMeter(platform.process.pid).start()
            # Interleaved in blocks, so that a change of the machine's load between the
            # two does not land on one of them only.
            overview: list[float] = []
            health: list[float] = []
            page_bytes = 0
            block = 50
            for done in range(0, args.requests, block):
                count = min(block, args.requests - done)
                times, page_bytes = timed(client, "/console/", count)
                overview += times
                health += timed(client, "/healthz", count)[0]
            meter.stop()
            cpu = {
                "server_cpu_s": round(meter.cpu, 2),
                "server_cpu_percent": meter.percent,
                "machine_busy_percent": meter.machine_busy_percent,
            }
            if profiler is not None:
                profiler.stop()
                hotspots = profiler.hotspots(25)
            cookie = client.cookies["dt_session"]
            client.close()
            loads, no_browser = browser_loads(platform.base_url, cookie, args.loads, args.chromium)
        finally:
            stop_platform(platform)
    speed_after = python_speed_ms()

    p50, p95 = statistics.median(overview), percentile(overview, 0.95)
    h50, h95 = statistics.median(health), percentile(health, 0.95)
    if hotspots:
        print_hotspots("dialtone serve while GET /console/ was asked", hotspots)
    print(
        f"GET /console/ ({page_bytes:,} bytes of HTML) × {len(overview)}: p50 {p50:.1f} ms,"
        f" p95 {p95:.1f} ms, max {max(overview):.1f} ms (goal p95 ≤ {GOAL_P95_MS:.0f} ms);"
        f" GET /healthz p50 {h50:.2f} ms, p95 {h95:.2f} ms; overview/healthz p50"
        f" {p50 / h50:.1f}×; server CPU {meter.percent}% of a core, machine"
        f" {meter.machine_busy_percent}% busy",
        flush=True,
    )

    def med(key: str) -> float | None:
        return round(statistics.median(x[key] for x in loads), 1) if loads else None

    body = (
        {
            k: round(statistics.median(x["body_bytes"][k] for x in loads))
            for k in loads[0]["body_bytes"]
        }
        if loads
        else None
    )
    if loads:
        print(
            f"browser, {len(loads)} first loads: {med('transfer_bytes'):,.0f} bytes transferred"
            f" (bodies {body}); interactive {med('interactive_ms')} ms, DOMContentLoaded"
            f" {med('dom_content_loaded_ms')} ms, load {med('load_ms')} ms, live feed open"
            f" {med('live_open_ms')} ms (medians)"
        )
    else:
        print(f"browser: not measured ({no_browser})")
    print(f"python speed: {speed_before} ms before, {speed_after} ms after (lower is faster)")
    print(
        json.dumps(
            {
                "benchmark": "console_overview",
                "cdrs": args.cdrs,
                "days": args.days,
                "insert_s": round(made["insert_s"], 2),
                "requests": len(overview),
                "overview_html_bytes": page_bytes,
                "overview_p50_ms": round(p50, 2),
                "overview_p95_ms": round(p95, 2),
                "overview_max_ms": round(max(overview), 2),
                "goal_p95_ms": GOAL_P95_MS,
                "meets_goal": p95 <= GOAL_P95_MS,
                "reference": "GET /healthz, same server, same connection, interleaved",
                "healthz_p50_ms": round(h50, 3),
                "healthz_p95_ms": round(h95, 3),
                "ratio_p50": round(p50 / h50, 2),
                "ratio_p95": round(p95 / h95, 2),
                "server_cpu": cpu,
                "browser_loads": len(loads),
                "browser_skipped": no_browser,
                "page_weight_bytes_median": med("transfer_bytes"),
                "page_body_bytes_median": body,
                "time_to_interactive_ms_median": med("interactive_ms"),
                "dom_content_loaded_ms_median": med("dom_content_loaded_ms"),
                "load_event_ms_median": med("load_ms"),
                "live_feed_open_ms_median": med("live_open_ms"),
                "browser_runs": loads,
                "python_speed_ms_before_after": [speed_before, speed_after],
                "profile": hotspots or None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
