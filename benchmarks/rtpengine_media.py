"""Concurrent G.711 calls through rtpengine against dialtone's own relay (issue 19).

The set-up is relay_media.py's: N bridged calls (a carrier's call forwarded out through a
second trunk) set up through a real `dialtone serve`, then 20 ms G.711 packets both ways
for ``--seconds`` per level (100·N packets/s into the media engine and as many out); a
level passes with less than 0.1 % of packets lost or late (> 40 ms). The generator and
sink are the C one (rtp_blast.c: a Python loop tops out near 500 calls). Three
measurements, in turn, in the same run:

- **rtpengine**: `media_engine = "rtpengine"`, Debian's rtpengine 10.5 in user space (no
  kernel module: it cannot be built or loaded here), `--rtpengine-threads` (4: more
  than the cores, as its threads also wait in system calls), 4 ports a
  call;
- **python**: the built-in relay (`media_engine = "python"`, the default);
- **reference**: the generator and sink talking to themselves without any relay, at the
  same levels: the measuring side's own limit on this machine.

The issue's goal is 5,000 concurrent calls through rtpengine on this 2-core machine,
where the generator, the sink, rtpengine and dialtone share the two cores. Medians over
``--runs``; ratios against the Python relay and the reference of the same run.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import relay_media
from _proc import python_speed_ms

RTPENGINE_LEVELS = (
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    4000,
    5000,
)  # 4 ports a call: 5,000 take 20,400 of the ~22,700 below the ephemeral range
PYTHON_LEVELS = (250, 500, 750, 1000, 1500, 2000)
GOAL = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="media per level")
    parser.add_argument("--rtpengine-levels", default=",".join(map(str, RTPENGINE_LEVELS)))
    parser.add_argument("--python-levels", default=",".join(map(str, PYTHON_LEVELS)))
    parser.add_argument("--late-ms", type=float, default=40.0)
    parser.add_argument("--setup-rate", type=float, default=200, help="calls/s while setting up")
    parser.add_argument("--sockets", type=int, default=32, help="RTP sockets per side")
    parser.add_argument(
        "--rtpengine-threads", type=int, default=4, help="rtpengine's --num-threads"
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 run, 3 s, levels 250,500 and 250,500,1000"
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 3
        args.python_levels, args.rtpengine_levels = "250,500", "250,500,1000"
    engine_levels = {
        "rtpengine": [int(n) for n in args.rtpengine_levels.split(",")],
        "python": [int(n) for n in args.python_levels.split(",")],
    }
    speed_before = python_speed_ms()
    best: dict[str, list[int]] = {"rtpengine": [], "python": [], "reference": []}
    detail: dict[str, list[list[dict[str, object]]]] = {name: [] for name in best}
    for _ in range(args.runs):
        for engine, levels in engine_levels.items():
            found, results, _profile = asyncio.run(
                relay_media.measure_relay(levels, args, None, engine)
            )
            best[engine].append(found)
            detail[engine].append(results)
        # The measuring side alone, up to one level past the highest an engine reached.
        every = sorted(set(engine_levels["rtpengine"]) | set(engine_levels["python"]))
        top = max(best["rtpengine"][-1], best["python"][-1], every[0])
        upto = [n for n in every if n <= top] + [n for n in every if n > top][:1]
        found, results = relay_media.reference_levels(upto, args)
        best["reference"].append(found)
        detail["reference"].append(results)
    median = {name: statistics.median(values) for name, values in best.items()}
    keep = (
        "calls",
        "ok",
        "bad_percent",
        "loss_percent",
        "late_percent",
        "delay_ms",
        "server_cpu_percent",
        "engine_cpu_percent",
        "engine_socket_drops",
        "server_socket_drops",
        "machine_busy_percent",
        "setup_failed",
    )
    print(
        json.dumps(
            {
                "benchmark": "rtpengine_media",
                "path": "RTP generator -> media engine (bridged forward call set up through "
                "dialtone) -> RTP sink",
                "runs": args.runs,
                "rtpengine_threads": args.rtpengine_threads,
                "seconds_per_level": args.seconds,
                "late_ms": args.late_ms,
                "max_bad_percent": 100 * relay_media.MAX_BAD,
                "max_concurrent_calls": best,
                "median": median,
                "ratio_rtpengine_to_python": (
                    round(median["rtpengine"] / median["python"], 2) if median["python"] else None
                ),
                "ratio_rtpengine_to_reference": (
                    round(median["rtpengine"] / median["reference"], 2)
                    if median["reference"]
                    else None
                ),
                "goal_concurrent_calls_rtpengine": GOAL,
                "meets_goal": median["rtpengine"] >= GOAL,
                "levels": {
                    name: [[{k: f[k] for k in keep if k in f} for f in run] for run in runs]
                    for name, runs in detail.items()
                },
                "python_speed_ms_before_after": [speed_before, python_speed_ms()],
            }
        )
    )


if __name__ == "__main__":
    main()
