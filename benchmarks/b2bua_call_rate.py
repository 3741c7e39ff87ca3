"""Call rate through the B2BUA: sipp UAC → dialtone → sipp UAS, and sipp UAC → sipp UAS.

The path is a carrier's call forwarded back out through a carrier, digest-free on both
sides: an account holds +33123456789, routed ``forward`` to +442071838750, and has two
UDP trunks on 127.0.0.1, "carrier-out" at a sipp UAS (``-sn uas``, tried first outbound)
and "carrier-in" at the sipp UAC's source port, so the UAC's INVITEs are identified as
that carrier's by host and port. Each call is INVITE → 180 → 200 → ACK → BYE → 200 on both
legs, no media; dialtone still opens a media relay (two RTP sockets from the default-sized
range, 2001 ports) per call and commits a CDR to SQLite before it answers the BYE.

The figure is the highest rate with zero failed calls over a full run (``--seconds``,
30 s): short probes climb the steps, bisect the first failure, and a full run confirms.
The same search against the sipp UAS directly is the local limit of sipp itself; the
ratio compares across noisy machines. Medians over ``--runs``. Also reported: dialtone's
CPU at the confirmed rate (whole process and the event loop thread, from /proc), CPU time
per call, SIP socket drops, resident memory, and memory per concurrent call (a separate
run holding ``--hold-calls`` calls open at once), and the CPU per call of the compiled
build against plain Python (``DIALTONE_PURE=1``) at one fixed rate, paired runs
alternating, when a fresh compiled build is present. ``--profile`` samples the server with
py-spy (not a dependency; $PY_SPY or PATH) during an extra run at the confirmed rate.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop import conftest
from tests.interop.conftest import Platform, free_port

import dialtone
from _proc import (
    CpuMeter,
    Profiler,
    find_py_spy,
    machine_jiffies,
    memory_kb,
    print_hotspots,
    python_speed_ms,
    udp_drops,
)
from _sipp import Search, SippUas, UacRun, highest_rate, require_sipp, run_uac, sipp_uas

NUMBER = "+33123456789"
DIALED = "33123456789"
TARGET = 1000  # calls/s, issue 14's goal on a 2-core machine


@contextmanager
def forwarding_platform(
    uas_port: int, uac_port: int, rtp_ports: int = 2001, **settings: str
) -> Iterator[Platform]:
    """The interop suite's forwarding platform (``settings``: more ``DIALTONE_*``
    settings by name, e.g. ``overload_control="false"``), quiet, in a directory of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = {"log_level": "WARNING", **settings}
        with conftest.forwarding_platform(
            Path(tmp), uas_port, uac_port, NUMBER, rtp_ports=rtp_ports, **settings
        ) as platform:
            yield platform


def measured_attempt(
    platform: Platform, uas: SippUas, uac_port: int, rate: int, seconds: float
) -> UacRun:
    """One sipp UAC run through dialtone, with dialtone's CPU and socket drops."""
    uas.ensure()
    pid = platform.process.pid
    drops = udp_drops({platform.sip_port})
    meter = CpuMeter(pid).start()
    run = run_uac(platform.sip_port, rate, seconds, DIALED, local_port=uac_port)
    meter.stop()
    run.measured = {
        "cpu_percent": meter.percent,
        "event_loop_cpu_percent": meter.main_percent,
        "event_loop_waiting_for_cpu_percent": meter.loop_wait_percent,
        "machine_busy_percent": meter.machine_busy_percent,
        "cpu_ms_per_call": round(1000 * meter.cpu / max(1, run.successful), 2),
        "threads_cpu_s": meter.threads,
        "sip_socket_drops": udp_drops({platform.sip_port}) - drops,
        "rss_kb": memory_kb(pid).get("VmRSS"),
    }
    if not uas.ensure():
        run.returncode = run.returncode or -1  # not the server's failure, but not a pass
        run.measured["uas_died"] = True
    if not run.ok:
        print(f"   dialtone: {run.measured}", file=sys.stderr)
        settle(pid)
    time.sleep(1)  # the last CDRs commit; the next step starts from a quiet server
    return run


def settle(
    pid: int, *, linger: float = 33.0, quiet_percent: float = 5.0, give_up: float = 120.0
) -> None:
    """After an overloaded run, wait until the server is idle and the transactions of that
    run have ended (RFC 3261 keeps them 32 s): otherwise the next, lower rate is measured
    on a server still working off the previous one's backlog. A server still busy after
    ``give_up`` seconds is measured anyway (the failures will show it)."""
    start = time.monotonic()
    deadline = start + linger
    while time.monotonic() < start + give_up:
        meter = CpuMeter(pid).start()
        time.sleep(1)
        meter.stop()
        if meter.percent < quiet_percent and time.monotonic() >= deadline:
            return


def measure_dialtone(
    seconds: float, probe: float, log: list[str], profile: dict[str, object] | None
) -> Search:
    uac_port = free_port()
    with sipp_uas() as uas, forwarding_platform(uas.port, uac_port, 2001) as platform:
        search = highest_rate(
            lambda rate, secs: measured_attempt(platform, uas, uac_port, rate, secs),
            seconds=seconds,
            probe_seconds=probe,
            log=log,
            label="dialtone",
        )
        if profile is not None and search.best:
            with tempfile.TemporaryDirectory() as tmp:
                profiler = Profiler(
                    str(profile["py_spy"]), platform.process.pid, Path(tmp) / "profile.txt"
                )
                time.sleep(1)
                run = measured_attempt(platform, uas, uac_port, search.best, seconds)
                profiler.stop()
                profile["rate"] = search.best
                profile["run"] = run.describe()
                profile["cpu_percent_while_profiled"] = run.measured.get("cpu_percent")
                profile["hotspots"] = profiler.hotspots()
        if search.run is not None:
            search.run.measured["rss_kb_end"] = memory_kb(platform.process.pid)
        return search


def cpu_per_call(rate: int, seconds: float, pure: bool) -> dict[str, object]:
    """dialtone's CPU per call at a fixed ``rate`` below both builds' limits, with its
    sans-I/O packages compiled (mypyc) or as plain Python (``DIALTONE_PURE=1``)."""
    uac_port = free_port()
    settings = {"pure": "1"} if pure else {}
    with sipp_uas() as uas, forwarding_platform(uas.port, uac_port, 2001, **settings) as platform:
        warm = run_uac(platform.sip_port, 100, 2, DIALED, local_port=uac_port)
        time.sleep(1)
        run = measured_attempt(platform, uas, uac_port, rate, seconds)
    return {
        "ok": run.ok and warm.ok,
        "cpu_ms_per_call": run.measured["cpu_ms_per_call"],
        "event_loop_cpu_percent": run.measured["event_loop_cpu_percent"],
    }


def compare_builds(rate: int, seconds: float, runs: int) -> dict[str, object]:
    """Paired runs, pure and compiled alternating, medians: the speed-up mypyc gives on
    this machine today. Reported only when a compiled build is present and fresh."""
    if not dialtone.BUILD.compiled:
        return {"skipped": f"no compiled build: {dialtone.BUILD.why}"}
    pure: list[float] = []
    compiled: list[float] = []
    failed = 0
    for _ in range(runs):
        for mode, into in (("pure", pure), ("compiled", compiled)):
            got = cpu_per_call(rate, seconds, pure=mode == "pure")
            print(f"{mode} at {rate}/s: {got}", file=sys.stderr, flush=True)
            failed += not got["ok"]
            into.append(float(got["cpu_ms_per_call"]))  # type: ignore[arg-type]
    return {
        "rate": rate,
        "seconds": seconds,
        "runs": runs,
        "cpu_ms_per_call_pure": pure,
        "cpu_ms_per_call_compiled": compiled,
        "pure_over_compiled": round(statistics.median(pure) / statistics.median(compiled), 3),
        "runs_with_failed_calls": failed,
    }


def measure_reference(seconds: float, probe: float, log: list[str]) -> Search:
    with sipp_uas() as uas:

        def attempt(rate: int, secs: float) -> UacRun:
            uas.ensure()
            machine = machine_jiffies()
            run = run_uac(uas.port, rate, secs, "uas")
            busy, total = machine_jiffies()
            run.measured["machine_busy_percent"] = round(
                100 * (busy - machine[0]) / max(1, total - machine[1]), 1
            )
            if not uas.ensure():
                run.returncode = run.returncode or -1
            return run

        return highest_rate(
            attempt,
            seconds=seconds,
            probe_seconds=probe,
            log=log,
            label="sipp-uas",
        )


def count_udp_sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:
            continue
        count += str(target).startswith("socket:")
    return count


def measure_memory(calls: int, rate: int) -> dict[str, object]:
    """RSS before and while ``calls`` bridged calls are up at once (set up at ``rate``/s,
    held until all are up, then hung up)."""
    uac_port = free_port()
    ramp = calls / rate
    hold_ms = int((ramp + 6) * 1000)
    with (
        sipp_uas() as uas,
        forwarding_platform(uas.port, uac_port, 4 * calls + 1) as platform,
    ):
        pid = platform.process.pid
        warm = run_uac(platform.sip_port, 50, 2, DIALED, local_port=uac_port)
        time.sleep(1)
        before, sockets_before = memory_kb(pid), count_udp_sockets(pid)
        result: list[UacRun] = []
        worker = threading.Thread(
            target=lambda: result.append(
                run_uac(
                    platform.sip_port,
                    rate,
                    ramp,
                    DIALED,
                    local_port=uac_port,
                    calls=calls,
                    limit=calls,
                    hold_ms=hold_ms,
                )
            )
        )
        worker.start()
        time.sleep(ramp + 3)
        held, sockets_held = memory_kb(pid), count_udp_sockets(pid)
        worker.join()
        time.sleep(1)
        after = memory_kb(pid)
    concurrent = (sockets_held - sockets_before) // 2
    run = result[0] if result else None
    per_call = (held["VmRSS"] - before["VmRSS"]) / concurrent if concurrent > 0 else None
    out: dict[str, object] = {
        "calls_held": calls,
        "relays_open_at_sample": concurrent,
        "rss_kb_before": before["VmRSS"],
        "rss_kb_held": held["VmRSS"],
        "rss_kb_after_hangup": after["VmRSS"],
        "kb_per_concurrent_call": round(per_call, 1) if per_call is not None else None,
        "all_calls_ok": bool(run and run.ok and warm.ok),
        "run": run.describe() if run else None,
    }
    print(f"memory: {out}", file=sys.stderr, flush=True)
    return out


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30, help="full run per rate")
    parser.add_argument("--probe-seconds", type=float, default=3)
    parser.add_argument("--hold-calls", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="1 run, 5 s, 200 calls held")
    parser.add_argument(
        "--builds-rate", type=int, default=150, help="calls/s of the pure/compiled comparison"
    )
    parser.add_argument("--builds-seconds", type=float, default=15, help="per comparison run")
    parser.add_argument("--profile", action="store_true", help="py-spy the server")
    parser.add_argument("--py-spy", help="path of py-spy (default: $PY_SPY or PATH)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds, args.probe_seconds, args.hold_calls = 1, 5, 2, 200
    require_sipp()
    speed_before = python_speed_ms()
    profile: dict[str, object] | None = None
    if args.profile:
        py_spy = find_py_spy(args.py_spy)
        if py_spy is None:
            print("--profile: py-spy not found; no profile", file=sys.stderr)
        else:
            profile = {"py_spy": py_spy}
    log: list[str] = []
    ours: list[Search] = []
    reference: list[Search] = []
    for index in range(args.runs):
        last = index == args.runs - 1
        ours.append(
            measure_dialtone(args.seconds, args.probe_seconds, log, profile if last else None)
        )
        reference.append(measure_reference(args.seconds, args.probe_seconds, log))
    memory = measure_memory(args.hold_calls, 200)
    builds = compare_builds(args.builds_rate, args.builds_seconds, args.runs)
    mine = statistics.median(s.best for s in ours)
    ref = statistics.median(s.best for s in reference)
    confirmed = [s.run.measured for s in ours if s.run is not None]

    def pick(key: str) -> float | None:
        return median([float(m[key]) for m in confirmed if m.get(key) is not None])  # type: ignore[arg-type]

    if profile is not None:
        print_hotspots(f"dialtone at {profile.get('rate')} calls/s", profile.get("hotspots", {}))  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "benchmark": "b2bua_call_rate",
                "path": "sipp uac -> dialtone (trunk in, forward route, trunk out) -> sipp uas",
                "seconds_per_full_run": args.seconds,
                "probe_seconds": args.probe_seconds,
                "runs": args.runs,
                "dialtone_max_calls_per_s": [s.best for s in ours],
                "sipp_uas_max_calls_per_s": [s.best for s in reference],
                "dialtone_median": mine,
                "sipp_uas_median": ref,
                "sipp_uas_capped_at_highest_step": any(s.capped for s in reference),
                "ratio_to_sipp_uas": round(mine / ref, 3) if ref else None,
                "dialtone_cpu_percent_at_max": pick("cpu_percent"),
                "dialtone_event_loop_cpu_percent_at_max": pick("event_loop_cpu_percent"),
                "dialtone_cpu_ms_per_call": pick("cpu_ms_per_call"),
                "dialtone_rss_kb_at_max": pick("rss_kb"),
                "machine_busy_percent_at_max": pick("machine_busy_percent"),
                "event_loop_waiting_for_cpu_percent_at_max": pick(
                    "event_loop_waiting_for_cpu_percent"
                ),
                "memory": memory,
                "build": dialtone.BUILD.mode,
                "pure_vs_compiled": builds,
                "python_speed_ms_before_after": [speed_before, python_speed_ms()],
                "target_calls_per_s": TARGET,
                "meets_target": mine >= TARGET,
                "profile": (
                    {k: v for k, v in profile.items() if k != "py_spy"}
                    if profile is not None
                    else None
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
