"""Kamailio, the SIP edge (issue 19), started by a test: dialtone's shipped configuration
as ``dialtone edge config`` writes it, on free loopback ports, in a directory of its own.

``edge(tmp, workers=[...])`` starts ``kamailio -DD -E`` (foreground, log on stderr into
``kamailio.log``), waits until it answers an OPTIONS addressed to itself, yields an
:class:`Edge`, and stops it (SIGTERM, then SIGKILL), leaving nothing behind. Without the
program the test skips, except under ``CI=true`` where that fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialtone.cli.edge_config import EdgeConfig, Listen, dispatcher_list, kamailio_cfg
from tests.interop.conftest import free_sip_port

KAMAILIO = shutil.which("kamailio") or (
    "/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None
)
KAMCMD = shutil.which("kamcmd") or (
    "/usr/sbin/kamcmd" if Path("/usr/sbin/kamcmd").exists() else None
)


def require_kamailio() -> str:
    """The kamailio binary; skip without it, except in CI (``CI=true``): a failure there."""
    if KAMAILIO is not None:
        return KAMAILIO
    why = "kamailio (Debian package kamailio) is not installed; .ci/run installs it"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why)
    pytest.skip(why)


@dataclass
class Edge:
    """A running Kamailio edge in front of ``workers``."""

    port: int
    workers: list[tuple[str, int]]
    dir: Path
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        """``127.0.0.1:port``: what the workers' ``edge_addresses`` name."""
        return f"127.0.0.1:{self.port}"

    @property
    def ctl(self) -> str:
        return f"unix:{self.dir / 'ctl.sock'}"

    def log(self) -> str:
        return (self.dir / "kamailio.log").read_text(errors="replace")

    def kamcmd(self, *args: str) -> str:
        """A control command (``dispatcher.list``, ``dispatcher.set_state ip 1 sip:…``)."""
        assert KAMCMD is not None
        done = subprocess.run(
            [KAMCMD, "-s", self.ctl, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert done.returncode == 0, f"kamcmd {args}: {done.stdout}{done.stderr}"
        return done.stdout

    def worker_flags(self) -> dict[int, str]:
        """Each worker's dispatcher state by port: ``AP`` active and probed, ``IP``
        inactive and probed, ``AX`` not probed yet."""
        flags: dict[int, str] = {}
        uri = None
        for raw in self.kamcmd("dispatcher.list").splitlines():
            line = raw.strip()
            if line.startswith("URI:"):
                uri = line.split()[-1]
            elif line.startswith("FLAGS:") and uri is not None:
                flags[int(uri.rsplit(":", 1)[1])] = line.split()[-1]
                uri = None
        return flags

    def set_inactive(self, port: int) -> None:
        """Mark a worker inactive as a failed probe would (in-dialog traffic still goes)."""
        self.kamcmd("dispatcher.set_state", "ip", "1", f"sip:127.0.0.1:{port}")

    def options(self, timeout: float = 1.0) -> bool:
        """Whether the edge answers an OPTIONS to itself with 200."""
        return options_ok(self.port, timeout)


def options_ok(port: int, timeout: float = 1.0) -> bool:
    """Send ``OPTIONS sip:127.0.0.1:port`` over UDP; True on a 200."""
    call_id = uuid.uuid4().hex
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        local = sock.getsockname()[1]
        request = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{call_id[:10]};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@127.0.0.1:{local}>;tag={call_id[:8]}\r\n"
            f"To: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        sock.settimeout(timeout)
        sock.sendto(request.encode(), ("127.0.0.1", port))
        try:
            data, _ = sock.recvfrom(65536)
        except OSError:
            return False
    return data.startswith(b"SIP/2.0 200")


@contextmanager
def edge(
    tmp: Path,
    workers: list[tuple[str, int]],
    *,
    port: int | None = None,
    pike_density: int = 10_000,
    probe_interval: int = 1,
    fr_timer_ms: int = 1000,
    children: int = 1,
    shm_mb: int = 32,
    defines: Mapping[str, str] | None = None,
) -> Iterator[Edge]:
    """Kamailio with dialtone's configuration in front of ``workers`` (UDP and TCP on
    ``port``, a free one when None). Test values: a high pike density (everything on
    loopback is one source IP), 1 s probes, 1 s fr_timer. The benchmarks give it more
    UDP ``children`` and shared memory, and ``defines`` (``-A NAME=value``, e.g.
    ``LOG_LEVEL``)."""
    binary = require_kamailio()
    del tmp  # Kamailio may run as root (CI) or not: a directory outside pytest's 0700 tree
    run_dir = Path(tempfile.mkdtemp(prefix="dialtone-edge-"))
    port = port or free_sip_port()
    config = EdgeConfig(
        workers=tuple(workers),
        listens=(Listen("udp", "127.0.0.1", port), Listen("tcp", "127.0.0.1", port)),
        dispatcher_list=run_dir / "dispatcher.list",
        pike_density=pike_density,
        probe_interval=probe_interval,
        fr_timer_ms=fr_timer_ms,
        ctl_socket=f"unix:{run_dir / 'ctl.sock'}",
    )
    (run_dir / "kamailio.cfg").write_text(kamailio_cfg(config))
    (run_dir / "dispatcher.list").write_text(dispatcher_list(config))
    log = (run_dir / "kamailio.log").open("wb")
    process = subprocess.Popen(
        [binary, "-f", str(run_dir / "kamailio.cfg"), "-DD", "-E", "-n", str(children),
         "-m", str(shm_mb), "-M", "8", "-w", str(run_dir), "-Y", str(run_dir),
         "-P", str(run_dir / "kamailio.pid"),
         *(arg for name, value in (defines or {}).items() for arg in ("-A", f"{name}={value}"))],
        stdout=log, stderr=subprocess.STDOUT, cwd=run_dir,
    )  # fmt: skip
    running = Edge(port, list(workers), run_dir, process)
    try:
        deadline = time.monotonic() + 20
        while not running.options(0.3):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"kamailio did not start:\n{running.log()[-4000:]}")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # -DD keeps every child in our process group's reach through the main one.
                process.kill()
                process.wait()
        log.close()
        shutil.rmtree(run_dir, ignore_errors=True)
