"""What a benchmark reads about the server process: CPU time, memory, socket drops, and an
optional py-spy profile. Linux only (``/proc``). Not a benchmark itself (leading ``_``)."""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process (every thread), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds per thread, keyed ``name/tid`` (the main thread is ``main``)."""
    out: dict[str, float] = {}
    for task in sorted(Path(f"/proc/{pid}/task").iterdir()):
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        key = "main" if task.name == str(pid) else f"{name}/{task.name}"
        out[key] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of every CPU of the machine since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def main_thread_wait_ns(pid: int) -> int:
    """Time the process's main thread spent runnable but waiting for a CPU (schedstat)."""
    try:
        return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _reference_work() -> int:
    # Plain interpreter work of the kind a SIP stack does (format, split, hash, look up),
    # independent of dialtone's code so that the figure only moves with the machine.
    table: dict[str, list[str]] = {}
    for i in range(20_000):
        line = f"Via: SIP/2.0/UDP 10.0.{i % 7}.{i % 251}:5060;branch=z9hG4bK{i};rport"
        name, _, value = line.partition(": ")
        table[f"{name.lower()}{i % 97}"] = value.split(";")
    return len(table)


def python_speed_ms(repeats: int = 7) -> float:
    """Milliseconds of CPU a fixed pure-Python workload takes here (median of ``repeats``).

    The machines are shared and their speed changes from day to day (the same commit has
    used 2.4 times the CPU per call on one day as on another): benchmarks print this beside
    their figures, measured at the start and the end of the run, so that figures from
    different runs can be related. Lower is faster."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        _reference_work()
        times.append(1000 * (time.process_time() - start))
    return round(sorted(times)[len(times) // 2], 2)


@dataclass
class CpuMeter:
    """CPU use of one process between ``start()`` and ``stop()``, with how busy the whole
    machine was (other work on a shared machine skews every figure) and how long the
    event loop thread waited for a CPU."""

    pid: int
    _cpu: float = 0.0
    _wall: float = 0.0
    _threads: dict[str, float] | None = None
    _machine: tuple[int, int] = (0, 0)
    _wait: int = 0
    cpu: float = 0.0
    wall: float = 0.0
    threads: dict[str, float] | None = None
    machine_busy_percent: float = 0.0  # of all CPUs together (100 = every core busy)
    loop_wait_percent: float = 0.0  # event loop runnable but not running

    def start(self) -> CpuMeter:
        self._cpu = cpu_seconds(self.pid)
        self._threads = thread_cpu_seconds(self.pid)
        self._machine = machine_jiffies()
        self._wait = main_thread_wait_ns(self.pid)
        self._wall = time.monotonic()
        return self

    def stop(self) -> CpuMeter:
        self.wall = time.monotonic() - self._wall
        self.cpu = cpu_seconds(self.pid) - self._cpu
        busy, total = machine_jiffies()
        if total > self._machine[1]:
            self.machine_busy_percent = round(
                100 * (busy - self._machine[0]) / (total - self._machine[1]), 1
            )
        waited = (main_thread_wait_ns(self.pid) - self._wait) / 1e9
        self.loop_wait_percent = round(100 * waited / self.wall, 1) if self.wall else 0.0
        before = self._threads or {}
        self.threads = {
            name: round(value - before.get(name, 0.0), 2)
            for name, value in thread_cpu_seconds(self.pid).items()
            if value - before.get(name, 0.0) > 0
        }
        return self

    @property
    def percent(self) -> float:
        """CPU use in percent of one core (above 100 when threads run in parallel)."""
        return round(100 * self.cpu / self.wall, 1) if self.wall else 0.0

    @property
    def main_percent(self) -> float:
        """The event loop thread's share of one core."""
        main = (self.threads or {}).get("main", 0.0)
        return round(100 * main / self.wall, 1) if self.wall else 0.0


def udp_drops(ports: set[int]) -> int:
    """Datagrams the kernel dropped (receive buffer full) on sockets bound to ``ports``."""
    total = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) in ports:
                total += int(fields[-1])
    return total


def udp_drops_of(pid: int) -> int:
    """Receive-buffer drops on every UDP socket the process holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    total = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[9] in inodes:
                total += int(fields[-1])
    return total


def find_py_spy(explicit: str | None = None) -> str | None:
    """py-spy from ``--py-spy``, $PY_SPY or PATH (it is not a project dependency:
    ``python -m venv /tmp/spy && /tmp/spy/bin/pip install py-spy``)."""
    for candidate in (explicit, os.environ.get("PY_SPY"), shutil.which("py-spy")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class Profiler:
    """py-spy sampling the server (non-blocking) while a measurement runs."""

    def __init__(self, py_spy: str | None, pid: int, out: Path, rate: int = 100) -> None:
        self.out = out
        self.process: subprocess.Popen[bytes] | None = None
        if py_spy is None:
            return
        self.process = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--output",
                str(out),
                "--rate",
                str(rate),
                "--nonblocking",
                "--threads",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        # py-spy writes its output when interrupted.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def hotspots(self, top: int = 15) -> dict[str, list[tuple[str, float]]]:
        """Top functions by own time and by inclusive time, in percent of the samples
        of the busiest thread (the event loop), plus the other threads' totals."""
        if self.process is None or not self.out.exists():
            return {}
        return summarise_profile(self.out, top)


def _frame(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module.py:123)", site-packages trimmed.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})" if where else name


def summarise_profile(path: Path, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """Self and inclusive hotspots of a py-spy ``--format raw --threads`` file."""
    per_thread: collections.Counter[str] = collections.Counter()
    stacks: list[tuple[str, list[str], int]] = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread = frames[0]
        per_thread[thread] += int(count)
        stacks.append((thread, frames[1:], int(count)))
    if not per_thread:
        return {}
    busiest = per_thread.most_common(1)[0][0]
    main_thread = next((t for t in per_thread if "MainThread" in t), busiest)
    total = per_thread[main_thread]
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    others: collections.Counter[str] = collections.Counter()
    for thread, frames, count in stacks:
        if not frames:
            continue
        if thread != main_thread:
            # Worker threads (database reads, CDR commits): where their time goes, by the
            # innermost frame of the project's own code.
            ours = [f for f in frames if "dialtone/" in f]
            others[_frame(ours[-1] if ours else frames[-1])] += count
            continue
        own[_frame(frames[-1])] += count
        for frame in {_frame(f) for f in frames}:
            inclusive[frame] += count
    skip = ("<module>", "Runner.run", "_run_code", "_run_module_as_main", "serve (", "invoke")
    skip += ("main (", "__call__", "wrapper (", "_main (")
    return {
        "event_loop_self": [(f, round(100 * n / total, 1)) for f, n in own.most_common(top)],
        "event_loop_inclusive": [
            (f, round(100 * n / total, 1))
            for f, n in inclusive.most_common(top + 25)
            if not any(s in f for s in skip)
        ][:top],
        "other_threads_by_innermost_dialtone_frame": [
            (f, round(100 * n / max(1, sum(others.values())), 1))
            for f, n in others.most_common(top)
        ],
        "samples_per_thread": [(t, n) for t, n in per_thread.most_common(8)],
    }


def print_hotspots(title: str, spots: dict[str, list[tuple[str, float]]]) -> None:
    if not spots:
        return
    print(f"-- profile: {title}", file=sys.stderr)
    for key, rows in spots.items():
        print(f"   {key}:", file=sys.stderr)
        for name, value in rows:
            print(f"     {value:>7} {name}", file=sys.stderr)
