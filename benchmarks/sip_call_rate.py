"""Call rate: sipp UAC against `dialtone serve`, and against a sipp UAS as the local limit.

Calls are INVITE → 100/180 → 200 → ACK → BYE → 200 with no media from sipp (dialtone still
opens an RTP socket, starts its greeting and writes a CDR and a recording per call). The
rate steps up; a step passes when every call of a 10 s run succeeds (a failing step is
tried once more, and the search bisects between the last passing and the first failing
step). The figure is the highest passing rate, and the same search against `sipp -sn uas`
on this machine gives the reference, so the ratio is comparable across noisy machines.
Medians over --runs.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop.conftest import (
    provision,
    start_platform,
    stop_platform,
)

from _proc import python_speed_ms
from _sipp import highest_rate, require_sipp, run_uac, sipp_uas


def measure_dialtone(seconds: float, log: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        # As many RTP ports as the default range (TERMS V1: 20000–22000).
        platform = start_platform(Path(tmp), rtp_ports=2001, ring_seconds="0", log_level="WARNING")
        try:
            provision(platform)
            return highest_rate(
                lambda rate, secs: run_uac(platform.sip_port, rate, secs, "33123456789"),
                seconds=seconds,
                probe_seconds=seconds,
                log=log,
                label="dialtone",
            ).best
        finally:
            stop_platform(platform)


def measure_sipp_uas(seconds: float, log: list[str]) -> int:
    with sipp_uas() as uas:
        return highest_rate(
            lambda rate, secs: run_uac(uas.port, rate, secs, "uas"),
            seconds=seconds,
            probe_seconds=seconds,
            log=log,
            label="sipp-uas",
        ).best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--quick", action="store_true", help="1 run, 3 s per step")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 3
    require_sipp()
    speed_before = python_speed_ms()
    log: list[str] = []
    ours, reference = [], []
    for _ in range(args.runs):
        ours.append(measure_dialtone(args.seconds, log))
        reference.append(measure_sipp_uas(args.seconds, log))
    mine, ref = statistics.median(ours), statistics.median(reference)
    print(
        json.dumps(
            {
                "benchmark": "sip_call_rate",
                "seconds_per_step": args.seconds,
                "runs": args.runs,
                "dialtone_max_calls_per_s": ours,
                "sipp_uas_max_calls_per_s": reference,
                "dialtone_median": mine,
                "sipp_uas_median": ref,
                "ratio_to_sipp_uas": round(mine / ref, 3) if ref else None,
                "python_speed_ms_before_after": [speed_before, python_speed_ms()],
                "target_calls_per_s": 100,
                "meets_target": mine >= 100,
            }
        )
    )


if __name__ == "__main__":
    main()
