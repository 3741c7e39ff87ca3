"""Goodput under overload: twice the zero-failure rate through the B2BUA for 30 s.

The path is ``b2bua_call_rate``'s (sipp UAC → dialtone: trunk in, forward route, trunk
out → sipp UAS; every call INVITE → 180 → 200 → ACK → BYE on both legs). Each run first
finds the reference, the highest rate with zero failed calls over a full run
(``_sipp.highest_rate``, as ``b2bua_call_rate`` does), on the same server; then offers
twice that for ``--seconds`` and counts the calls that completed. Overload control
should refuse the excess with 503 at once, so the completed calls per second stay at
least 90 % of the reference (``goal_ratio``) and sipp sees no retransmission storm
(its retransmission count is reported; a server that queues instead of refusing makes
the callers retransmit). The same offered load against a server with overload control
off (``DIALTONE_OVERLOAD_CONTROL=false``) shows what it prevents; ``--no-compare`` skips
it. A call refused with 503 counts as failed for sipp's built-in UAC; the goodput is the
successful calls over the run's wall time (tail included).

Medians over ``--runs``; the machine's speed (``python_speed_ms_before_after``) is
printed beside them, since the machines are shared. Prints one JSON object as its last
line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop.conftest import (
    Platform,
    free_port,
)

from _proc import CpuMeter, python_speed_ms, udp_drops
from _sipp import SippUas, UacRun, highest_rate, require_sipp, run_uac, sipp_uas
from b2bua_call_rate import DIALED, forwarding_platform, settle

GOAL_RATIO = 0.9  # completed calls/s under 2x overload, against the zero-failure rate


def attempt(platform: Platform, uas: SippUas, uac_port: int, rate: int, seconds: float) -> UacRun:
    """One sipp UAC run through dialtone, with its CPU and socket drops."""
    uas.ensure()
    drops = udp_drops({platform.sip_port})
    meter = CpuMeter(platform.process.pid).start()
    run = run_uac(platform.sip_port, rate, seconds, DIALED, local_port=uac_port)
    meter.stop()
    run.measured = {
        "cpu_percent": meter.percent,
        "machine_busy_percent": meter.machine_busy_percent,
        "sip_socket_drops": udp_drops({platform.sip_port}) - drops,
    }
    if not uas.ensure():
        run.returncode = run.returncode or -1
        run.measured["uas_died"] = True
    return run


def overloaded(
    platform: Platform, uas: SippUas, uac_port: int, *, seconds: float, reference: int
) -> dict[str, object]:
    """Offer twice ``reference`` for ``seconds``; the figures of that run against it."""
    rate = 2 * reference
    settle(platform.process.pid)
    run = attempt(platform, uas, uac_port, rate, seconds)
    goodput = run.successful / max(run.wall, seconds)
    out: dict[str, object] = {
        "offered_per_s": rate,
        "completed": run.successful,
        "refused_or_failed": run.failed,
        "completed_per_s": round(goodput, 1),
        "ratio_to_zero_failure_rate": round(goodput / reference, 3) if reference else None,
        "sipp_retransmissions": run.retransmissions,
        "retransmissions_per_offered_call": round(run.retransmissions / max(1, run.calls), 4),
        "mean_call_length": run.call_length,
        "wall_s": round(run.wall, 1),
        **run.measured,
    }
    print(f"  {rate}/s offered: {out}", file=sys.stderr, flush=True)
    return out


def one_run(
    seconds: float, probe_seconds: float, compare: bool, log: list[str]
) -> dict[str, object]:
    uac_port = free_port()
    result: dict[str, object] = {}
    with sipp_uas() as uas, forwarding_platform(uas.port, uac_port) as platform:

        def step(rate: int, secs: float) -> UacRun:
            run = attempt(platform, uas, uac_port, rate, secs)
            if not run.ok:
                settle(platform.process.pid)  # the next rate starts from a quiet server
            time.sleep(1)
            return run

        search = highest_rate(
            step,
            seconds=seconds,
            probe_seconds=probe_seconds,
            log=log,
            label="dialtone",
        )
        reference = search.best
        result["zero_failure_per_s"] = reference
        if reference:
            result["on"] = overloaded(platform, uas, uac_port, seconds=seconds, reference=reference)
    if compare and reference:
        with (
            sipp_uas() as uas,
            forwarding_platform(uas.port, uac_port, overload_control="false") as platform,
        ):
            result["off"] = overloaded(
                platform, uas, uac_port, seconds=seconds, reference=reference
            )
    return result


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30, help="full run per rate")
    parser.add_argument("--probe-seconds", type=float, default=3)
    parser.add_argument("--no-compare", action="store_true", help="skip the run without control")
    parser.add_argument("--quick", action="store_true", help="1 run, 10 s")
    # make bench passes every benchmark the same options; ours ignores the others'.
    args, _ = parser.parse_known_args()
    if args.quick:
        args.runs, args.seconds, args.probe_seconds = 1, 10, 2
    require_sipp()
    speed_before = python_speed_ms()
    log: list[str] = []
    runs = [
        one_run(args.seconds, args.probe_seconds, not args.no_compare, log)
        for _ in range(args.runs)
    ]

    def pick(side: str, key: str) -> float | None:
        values = [r[side][key] for r in runs if isinstance(r.get(side), dict)]  # type: ignore[index]
        return median([float(v) for v in values if v is not None])

    ratio = pick("on", "ratio_to_zero_failure_rate")
    print(
        json.dumps(
            {
                "benchmark": "b2bua_overload",
                "path": "sipp uac -> dialtone (trunk in, forward route, trunk out) -> sipp uas",
                "offered": "2 x the zero-failure rate found in the same run",
                "seconds": args.seconds,
                "runs": runs,
                "zero_failure_per_s_median": median(
                    [float(r["zero_failure_per_s"]) for r in runs]  # type: ignore[arg-type]
                ),
                "completed_per_s_median": pick("on", "completed_per_s"),
                "ratio_median": ratio,
                "retransmissions_median": pick("on", "sipp_retransmissions"),
                "without_control_ratio_median": pick("off", "ratio_to_zero_failure_rate"),
                "without_control_retransmissions_median": pick("off", "sipp_retransmissions"),
                "goal_ratio": GOAL_RATIO,
                "meets_goal": ratio is not None and ratio >= GOAL_RATIO,
                "python_speed_ms_before_after": [speed_before, python_speed_ms()],
            }
        )
    )


if __name__ == "__main__":
    main()
