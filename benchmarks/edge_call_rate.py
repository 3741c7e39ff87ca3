"""Call rate through the scale-out set-up (issue 19): one worker alone, two workers behind
Kamailio, and Kamailio forwarding to sipp directly (the edge's own limit).

The call is b2bua_call_rate's: a carrier's call to +33123456789 forwarded back out through
a second trunk (sipp UAC → dialtone → sipp UAS, INVITE/180/200/ACK/BYE on both legs, a
media relay opened, a CDR committed before the BYE's 200). Here the workers run as they
would scaled out: on one PostgreSQL database (a throw-away cluster, fsync and
synchronous commit on: durable) and one redis-server, each its own `dialtone serve`.

- **one**: sipp UAC → worker 1 → sipp UAS.
- **two**: sipp UAC → Kamailio (dialtone's shipped configuration, 4 UDP children, log
  level warnings) → worker 1 or 2 by Call-ID → sipp UAS. The carrier is recognised
  through the edge's X-Dialtone-Source.
- **edge**: sipp UAC → the same Kamailio → sipp UAS as its only "worker": what the edge
  itself can carry on this machine.

Each figure is the highest rate with zero failed calls over a full run (``--seconds``),
found by short probes as in b2bua_call_rate (``_sipp.highest_rate``); the UAC's ACK and
BYE follow the Record-Route (a proxy-aware scenario, the same for the three). The ratio
of two workers to one is the figure the issue asks for; the three are measured in the
same run, in turn, ``--runs`` times, and their medians reported. On this 2-core machine
the two sipps, Kamailio, PostgreSQL and Redis share the cores with the workers, so a
second worker buys what the first leaves idle, not a second core of its own.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop import conftest
from tests.interop.conftest import free_port, free_sip_port, start_platform, stop_platform
from tests.interop.sippgen import proxy_call
from tests.programs.kamailio import edge
from tests.programs.postgres import database as postgres_database
from tests.programs.redis import redis_server

from _proc import CpuMeter, machine_jiffies, python_speed_ms
from _sipp import (
    Search,
    SippUas,
    UacRun,
    highest_rate,
    record_routing_uas,
    require_sipp,
    run_uac,
    sipp_uas,
)

NUMBER = "+33123456789"
DIALED = "33123456789"

# sipp's UAC through the edge (tests' proxy_call: ACK and BYE along the Record-Route),
# PCMU alone as the built-in UAC and UAS say. Kamailio's UDP children relay a 180 and its
# 200 in parallel, so a 180 may arrive after the 200: legal over UDP, and a phone ignores
# it, but sipp aborts a call on a message out of its scenario's order. Run with
# ``-default_behaviors all,-abortunexp`` (UNEXPECTED below): such a message is logged and
# the call goes on. ("global" optional recvs are no help: sipp jumps back to them, then
# waits for a second 200.)
PROXY_UAC = proxy_call(
    "[service]", from_user="carrier", hold_ms=None, pcmu_only=True, log_hangup=False
)


@contextmanager
def engines() -> Iterator[tuple[str, str]]:
    """A durable PostgreSQL database and a redis-server: their URLs."""
    with postgres_database(durable=True) as url, redis_server() as redis:
        yield url, redis.url


def worker_settings(database_url: str, redis_url: str, **more: str) -> dict[str, str]:
    return {
        "database_url": database_url,
        "redis_url": redis_url,
        "recording_key": KEY,
        "log_level": "WARNING",
        **more,
    }


KEY = base64.b64encode(os.urandom(32)).decode()


UNEXPECTED = ("-default_behaviors", "all,-abortunexp")
HOLD_MS = 20  # between ACK and BYE (-d): through Kamailio's parallel children a BYE sent
# at once may overtake its ACK, which no phone does.


def measured(
    uas: SippUas, target_port: int, uac_port: int, scenario: Path, pids: list[int]
) -> Callable[[int, float], UacRun]:
    """One step of the search: a UAC run at a rate, with the CPU of ``pids``."""

    def attempt(rate: int, seconds: float) -> UacRun:
        uas.ensure()
        machine = machine_jiffies()
        meters = [CpuMeter(pid).start() for pid in pids]
        run = run_uac(
            target_port, rate, seconds, DIALED if pids else "uas", local_port=uac_port,
            scenario=scenario, hold_ms=HOLD_MS, extra=UNEXPECTED,
        )  # fmt: skip
        for meter in meters:
            meter.stop()
        busy, total = machine_jiffies()
        run.measured = {
            "workers_cpu_percent": [meter.percent for meter in meters],
            "machine_busy_percent": round(
                100 * (busy - machine[0]) / max(1, total - machine[1]), 1
            ),
        }
        if not uas.ensure():
            run.returncode = run.returncode or -1
        return run

    return attempt


def measure_one(tmp: Path, args: argparse.Namespace, log: list[str], scenario: Path) -> Search:
    uac_port = free_port()
    with engines() as (url, redis), sipp_uas() as uas, conftest.forwarding_platform(
        tmp / "one", uas.port, uac_port, NUMBER, rtp_ports=2001,
        **worker_settings(url, redis, worker_id="w1"),
    ) as worker:  # fmt: skip
        return highest_rate(
            measured(uas, worker.sip_port, uac_port, scenario, [worker.process.pid]),
            seconds=args.seconds, probe_seconds=args.probe_seconds, log=log, label="one worker",
        )  # fmt: skip


def measure_two(tmp: Path, args: argparse.Namespace, log: list[str], scenario: Path) -> Search:
    uac_port = free_port()
    edge_port = free_sip_port()
    ports = [free_sip_port(), free_sip_port()]
    with ExitStack() as stack:
        url, redis = stack.enter_context(engines())
        uas = stack.enter_context(sipp_uas())
        common = worker_settings(url, redis, edge_addresses=f"127.0.0.1:{edge_port}")
        first = stack.enter_context(
            conftest.forwarding_platform(
                tmp / "two-1", uas.port, uac_port, NUMBER, rtp_ports=2001,
                sip_port=str(ports[0]), sip_tcp_port=str(ports[0]), worker_id="w1", **common,
            )
        )  # fmt: skip
        second = start_platform(
            tmp / "two-2", rtp_ports=2001, sip_port=str(ports[1]), sip_tcp_port=str(ports[1]),
            worker_id="w2", **common,
        )  # fmt: skip
        stack.callback(stop_platform, second)
        stack.enter_context(
            edge(
                tmp, [("127.0.0.1", p) for p in ports], port=edge_port, children=4, shm_mb=256,
                defines={"LOG_LEVEL": "1"},
            )
        )  # fmt: skip
        pids = [first.process.pid, second.process.pid]
        return highest_rate(
            measured(uas, edge_port, uac_port, scenario, pids),
            seconds=args.seconds, probe_seconds=args.probe_seconds, log=log,
            label="two workers behind the edge",
        )  # fmt: skip


def measure_edge(tmp: Path, args: argparse.Namespace, log: list[str], scenario: Path) -> Search:
    """sipp's UAS behind the edge as its only worker (one that record-routes, as phones
    and dialtone do); no probes (sipp's UAS would not answer an OPTIONS), so it stays
    active as loaded."""
    uac_port = free_port()
    edge_port = free_sip_port()
    with sipp_uas(scenario=record_routing_uas(tmp)) as uas, edge(
        tmp, [("127.0.0.1", uas.port)], port=edge_port, probe_interval=3600, children=4,
        shm_mb=256, defines={"LOG_LEVEL": "1"},
    ):  # fmt: skip
        return highest_rate(
            measured(uas, edge_port, uac_port, scenario, []),
            seconds=args.seconds, probe_seconds=args.probe_seconds, log=log,
            label="the edge to sipp",
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20, help="full run per rate")
    parser.add_argument("--probe-seconds", type=float, default=3)
    parser.add_argument("--quick", action="store_true", help="1 run, 5 s full runs, 2 s probes")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds, args.probe_seconds = 1, 5, 2
    require_sipp()
    speed_before = python_speed_ms()
    log: list[str] = []
    found: dict[str, list[Search]] = {"one": [], "two": [], "edge": []}
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        scenario = tmp / "proxy_uac.xml"
        scenario.write_text(PROXY_UAC)
        for index in range(args.runs):
            for name, measure in (
                ("one", measure_one),
                ("two", measure_two),
                ("edge", measure_edge),
            ):
                run_dir = tmp / f"{name}-{index}"
                run_dir.mkdir()
                found[name].append(measure(run_dir, args, log, scenario))
    best = {name: statistics.median(s.best for s in searches) for name, searches in found.items()}

    def detail(searches: list[Search]) -> list[dict[str, object]]:
        return [
            {
                "best": s.best,
                "capped": s.capped,
                "run": s.run.describe() if s.run is not None else None,
                "measured": s.run.measured if s.run is not None else None,
            }
            for s in searches
        ]

    print(
        json.dumps(
            {
                "benchmark": "edge_call_rate",
                "path": "sipp UAC -> [Kamailio ->] dialtone worker(s) on PostgreSQL + Redis "
                "-> sipp UAS; and Kamailio -> sipp UAS",
                "runs": args.runs,
                "seconds": args.seconds,
                "one_worker_calls_per_s": [s.best for s in found["one"]],
                "two_workers_calls_per_s": [s.best for s in found["two"]],
                "edge_to_sipp_calls_per_s": [s.best for s in found["edge"]],
                "one_worker_median": best["one"],
                "two_workers_median": best["two"],
                "edge_median": best["edge"],
                "ratio_two_to_one": round(best["two"] / best["one"], 2) if best["one"] else None,
                "ratio_two_to_edge": round(best["two"] / best["edge"], 2) if best["edge"] else None,
                "detail": {name: detail(searches) for name, searches in found.items()},
                "python_speed_ms_before": speed_before,
                "python_speed_ms_after": python_speed_ms(),
                "log": log[-30:],
            }
        )
    )


if __name__ == "__main__":
    main()
