"""sipp for the benchmarks: a UAC run at a fixed rate, a UAS in the background, and the
search for the highest rate with zero failed calls. Not a benchmark itself (leading ``_``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop.conftest import free_port

SIPP = shutil.which("sipp")

# Rates tried, in calls per second; the search refines between the last passing step and
# the first failing one.
STEPS = (
    50,
    100,
    150,
    200,
    250,
    300,
    400,
    500,
    600,
    800,
    1000,
    1500,
    2000,
    3000,
    4000,
    6000,
    8000,
    10000,
)


def require_sipp() -> str:
    if SIPP is None:
        sys.exit("sipp is not installed (Debian package sip-tester)")
    return SIPP


@dataclass
class UacRun:
    """What one sipp UAC run did (from its -trace_stat file and its exit code)."""

    rate: int
    calls: int
    seconds: float
    returncode: int
    successful: int
    failed: int
    retransmissions: int
    wall: float
    call_length: str
    measured: dict[str, object] = field(default_factory=dict)  # e.g. the server's CPU

    @property
    def ok(self) -> bool:
        """Every call succeeded, and within the time the rate allows (a server that
        queues calls for seconds does not sustain the rate even if they all succeed)."""
        return (
            self.returncode == 0
            and self.successful == self.calls
            and self.failed == 0
            and self.wall <= self.seconds * 1.1 + 2.0
        )

    @property
    def call_length_s(self) -> float:
        """Mean call length (sipp's ``HH:MM:SS:mmmuuu``), in seconds; inf if unknown."""
        try:
            hours, minutes, seconds, micros = (int(x) for x in self.call_length.split(":"))
        except ValueError:
            return float("inf")
        return hours * 3600 + minutes * 60 + seconds + micros / 1e6

    def describe(self) -> str:
        busy = self.measured.get("machine_busy_percent")
        return (
            f"{self.successful}/{self.calls} ok, {self.failed} failed, "
            f"{self.retransmissions} retrans, {self.wall:.1f} s, call length {self.call_length}, "
            f"exit {self.returncode}" + (f", machine {busy} % busy" if busy is not None else "")
        )


def stat_summary(path: Path) -> dict[str, str]:
    """The last line of a sipp ``-trace_stat`` CSV, keyed by its header."""
    if not path.exists():
        return {}
    lines = path.read_text().strip().splitlines()
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))


def run_uac(
    target_port: int,
    rate: int,
    seconds: float,
    service: str,
    *,
    local_port: int | None = None,
    calls: int | None = None,
    limit: int | None = None,
    hold_ms: int = 0,
    extra: Sequence[str] = (),
    scenario: Path | None = None,
) -> UacRun:
    """sipp's built-in UAC (``-sn uac``: INVITE, ACK, pause ``hold_ms``, BYE; no media)
    at ``rate`` calls/s for ``seconds`` (or ``calls`` calls), from ``local_port``; or the
    scenario file ``scenario`` (e.g. one whose ACK and BYE follow the Record-Route of a
    proxy, which the built-in UAC ignores)."""
    sipp = require_sipp()
    total = calls if calls is not None else max(1, round(rate * seconds))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        done = subprocess.run(
            [
                sipp,
                f"127.0.0.1:{target_port}",
                *(["-sf", str(scenario)] if scenario is not None else ["-sn", "uac"]),
                "-s",
                service,
                "-i",
                "127.0.0.1",
                "-p",
                str(local_port or free_port()),
                "-r",
                str(rate),
                "-m",
                str(total),
                "-l",
                str(limit or max(rate * 5, 10)),
                "-d",
                str(hold_ms),
                "-timeout",
                f"{int(seconds + hold_ms / 1000 + 60)}s",
                "-timeout_error",
                "-recv_timeout",
                "10000",
                "-nostdin",
                "-trace_stat",
                "-stf",
                "stats.csv",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + hold_ms / 1000 + 90,
            check=False,
            cwd=tmp,
        )
        wall = time.monotonic() - started
        summary = stat_summary(Path(tmp) / "stats.csv")
    return UacRun(
        rate=rate,
        calls=total,
        seconds=seconds + hold_ms / 1000,
        returncode=done.returncode,
        successful=int(summary.get("SuccessfulCall(C)", 0) or 0),
        failed=int(summary.get("FailedCall(C)", 0) or 0),
        retransmissions=int(summary.get("Retransmissions(C)", 0) or 0),
        wall=wall,
        call_length=summary.get("CallLength(C)", "?"),
    )


class SippUas:
    """sipp's built-in UAS (``-sn uas``: 180, 200, then BYE answered) on 127.0.0.1, in the
    foreground of its own process (ended by its pid). ``ensure()`` restarts it on the same
    port if it has gone, and says so: a benchmark must not blame the server for it. With
    ``stats`` it writes its counts every second (``totals()``)."""

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        *,
        stats: bool = False,
        scenario: Path | None = None,
    ) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.stats = stats
        self.scenario = scenario

    def start(self) -> None:
        sipp = require_sipp()
        stats = ["-trace_stat", "-stf", "uas_stats.csv", "-fd", "1"] if self.stats else []
        self.process = subprocess.Popen(
            [
                sipp,
                *(["-sf", str(self.scenario)] if self.scenario else ["-sn", "uas"]),
                "-i",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-nostdin",
                *stats,
            ],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "uas.stderr").open("ab"),
        )
        time.sleep(0.3)
        if self.process.poll() is not None:
            raise RuntimeError(f"sipp UAS on port {self.port} exited: {self._why()}")

    def _why(self) -> str:
        code = self.process.returncode if self.process is not None else None
        err = (self.directory / "uas.stderr").read_text(errors="replace")[-500:]
        return f"exit status {code}; stderr: {err.strip() or '(empty)'}"

    def ensure(self) -> bool:
        """True when it was running; otherwise restart it (False)."""
        if self.process is not None and self.process.poll() is None:
            return True
        print(f"sipp UAS on port {self.port} had gone ({self._why()}); restarted", file=sys.stderr)
        self.restarts += 1
        self.start()
        return False

    def totals(self) -> dict[str, str]:
        """Its counts since it (re)started, as of its last write (each second): the
        last line of its ``-trace_stat`` file; empty without ``stats``."""
        return stat_summary(self.directory / "uas_stats.csv")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def sipp_uas(
    port: int | None = None, *, stats: bool = False, scenario: Path | None = None
) -> Iterator[SippUas]:
    """A running :class:`SippUas` (the built-in UAS, or ``scenario``), stopped on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        uas = SippUas(Path(tmp), port, stats=stats, scenario=scenario)
        uas.start()
        try:
            yield uas
        finally:
            uas.stop()


def record_routing_uas(directory: Path) -> Path:
    """sipp's built-in UAS with the request's Record-Route copied into its 180 and 200
    (RFC 3261 §12.1.1), which the built-in one leaves out: behind a proxy the caller's
    BYE must carry the proxy's route. Written in ``directory``; its path."""
    # sipp exits 99 after dumping a scenario: its output is what counts.
    dumped = subprocess.run(
        [require_sipp(), "-sd", "uas"], capture_output=True, text=True, check=False
    ).stdout
    if '<recv request="ACK"' not in dumped:
        raise RuntimeError(f"sipp -sd uas gave no scenario: {dumped[:200]!r}")
    head, tail = dumped.split('<recv request="ACK"', 1)
    head = head.replace("[last_CSeq:]\n", "[last_CSeq:]\n      [last_Record-Route:]\n")
    path = directory / "uas_record_route.xml"
    path.write_text(head + '<recv request="ACK"' + tail)
    return path


@dataclass
class Search:
    """The outcome of a rate search: the best rate with zero failed calls over a full
    run, and the full run at that rate."""

    best: int
    run: UacRun | None
    capped: bool  # every step passed: the limit is above the highest step tried


def highest_rate(
    attempt: Callable[[int, float], UacRun],
    *,
    seconds: float,
    probe_seconds: float,
    log: list[str],
    label: str,
    steps: Sequence[int] = STEPS,
    probe_max_call_length: float = 0.5,
) -> Search:
    """Find the highest rate with zero failed calls over ``seconds``.

    Short probes (``probe_seconds``) climb ``steps`` until one fails twice in a row (a
    probe also fails when calls last ``probe_max_call_length`` seconds on average: a
    server queueing calls for that long passes a short probe but not a long run), then
    bisect between the last passing and the first failing rate to within ~10 %; the best
    probed rate is then confirmed with a full run, stepping down when that fails.
    ``attempt(rate, seconds)`` runs one step.
    """

    def note(rate: int, seconds: float, run: UacRun, verdict: str) -> None:
        log.append(f"{label} {rate}/s x {seconds:g} s: {verdict} ({run.describe()})")
        print(log[-1], file=sys.stderr, flush=True)

    def probe(rate: int) -> bool:
        for _ in range(2):
            run = attempt(rate, probe_seconds)
            slow = probe_seconds < seconds and run.call_length_s >= probe_max_call_length
            note(rate, probe_seconds, run, "FAIL" if not run.ok else "SLOW" if slow else "ok")
            if run.ok and not slow:
                return True
            time.sleep(2)  # let a saturated server drain before the retry
        return False

    passed: list[int] = []
    failed: int | None = None
    for rate in steps:
        if not probe(rate):
            failed = rate
            break
        passed.append(rate)
    capped = failed is None
    if passed and failed is not None:
        low, high = passed[-1], failed
        while high - low > max(10, low // 10):
            middle = (low + high) // 2
            middle -= middle % 10
            if middle <= low:
                break
            if probe(middle):
                passed.append(middle)
                low = middle
            else:
                high = middle
    candidates = sorted(set(passed), reverse=True)
    if probe_seconds >= seconds:
        best = candidates[0] if candidates else 0
        return Search(best, None, capped)
    for rate in candidates:
        run = attempt(rate, seconds)
        note(rate, seconds, run, "ok" if run.ok else "FAIL")
        if run.ok:
            return Search(rate, run, capped and rate == candidates[0])
        time.sleep(2)
    return Search(0, None, False)
