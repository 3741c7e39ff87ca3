"""Call rate: sipp UAC against `dialtone serve`, and against a sipp UAS as the local limit.

Calls are INVITE → 100/180 → 200 → ACK → BYE → 200 with no media from sipp (dialtone still
opens an RTP socket, starts its greeting and writes a CDR and a recording per call). The
rate steps up; a step passes when every call of a 10 s run succeeds. The figure is the
highest passing rate, and the same search against `sipp -sn uas` on this machine gives the
reference, so the ratio is comparable across noisy machines. Medians over --runs.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop.conftest import (
    free_port,
    provision,
    start_platform,
    stop_platform,
)

STEPS = (50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000, 4000, 6000, 8000)


def run_sipp_uac(target_port: int, rate: int, seconds: int, service: str) -> tuple[bool, str]:
    """Drive ``rate`` calls/s for ``seconds``; True when every call succeeded."""
    calls = rate * seconds
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                "sipp",
                f"127.0.0.1:{target_port}",
                "-sn",
                "uac",
                "-s",
                service,
                "-i",
                "127.0.0.1",
                "-p",
                str(free_port()),
                "-r",
                str(rate),
                "-m",
                str(calls),
                "-l",
                str(rate * 5),
                "-timeout",
                f"{seconds + 30}s",
                "-timeout_error",
                "-recv_timeout",
                "10000",
                "-nostdin",
                "-trace_stat",
                "-stf",
                "stats.csv",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
            cwd=tmp,
        )
        summary = _summary(Path(tmp) / "stats.csv")
    ok = done.returncode == 0 and summary.get("SuccessfulCall(C)") == str(calls)
    return ok, f"exit={done.returncode} success={summary.get('SuccessfulCall(C)')}/{calls}"


def _summary(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    lines = path.read_text().strip().splitlines()
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))


def highest_rate(target_port: int, seconds: int, service: str, log: list[str]) -> int:
    """The highest step with zero failed calls (a failed step is tried once more)."""
    best = 0
    for rate in STEPS:
        ok, detail = run_sipp_uac(target_port, rate, seconds, service)
        if not ok:
            ok, detail = run_sipp_uac(target_port, rate, seconds, service)
        log.append(f"port {target_port} rate {rate}/s: {'ok' if ok else 'FAIL'} ({detail})")
        print(log[-1], file=sys.stderr, flush=True)
        if not ok:
            break
        best = rate
    return best


def measure_dialtone(seconds: int, log: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        # As many RTP ports as the default range (TERMS V1: 20000–22000).
        platform = start_platform(Path(tmp), rtp_ports=2001, ring_seconds="0", log_level="WARNING")
        try:
            provision(platform)
            return highest_rate(platform.sip_port, seconds, "33123456789", log)
        finally:
            stop_platform(platform)


def measure_sipp_uas(seconds: int, log: list[str]) -> int:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        uas = subprocess.Popen(
            ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-nostdin", "-bg"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        uas.wait(timeout=10)  # -bg forks; the parent exits at once
        time.sleep(0.5)
        try:
            return highest_rate(port, seconds, "uas", log)
        finally:
            subprocess.run(["pkill", "-f", f"sipp -sn uas -i 127.0.0.1 -p {port}"], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("sipp is not installed (Debian package sip-tester)")
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
                "target_calls_per_s": 100,
                "meets_target": mine >= 100,
            }
        )
    )


if __name__ == "__main__":
    main()
