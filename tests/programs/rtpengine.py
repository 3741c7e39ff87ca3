"""rtpengine started by a test (issue 19): Debian's ``rtpengine-daemon`` in user space
(``--table=-1``: no kernel module, no iptables), on a free NG port and a free port range,
recording to pcap in a directory of its own; ready when it answers a NG ``ping``;
stopped with SIGTERM (then SIGKILL), leaving nothing running.

Without the program the test skips, except under ``CI=true`` where it fails (as the
other interop peers do)."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop.conftest import free_port, free_rtp_range

RTPENGINE = shutil.which("rtpengine")


@dataclass(frozen=True)
class Rtpengine:
    """A running rtpengine: its NG address, its port range and its recording directory."""

    ng: tuple[str, int]
    ports: tuple[int, int]
    recording_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def ng_text(self) -> str:
        return f"{self.ng[0]}:{self.ng[1]}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def need_rtpengine() -> str:
    """rtpengine's path; skip (fail under CI=true) without it."""
    if RTPENGINE is None:
        why = "rtpengine is not installed (apt-get install rtpengine-daemon)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(why)
        pytest.skip(why)
    return RTPENGINE


def ping(address: tuple[str, int], timeout: float = 0.2) -> bool:
    """Whether a NG ``ping`` to ``address`` gets its ``pong``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(b"probe d7:command4:pinge", address)
            return sock.recv(1000) == b"probe d6:result4:ponge"
        except OSError:
            return False


@contextmanager
def rtpengine(
    directory: Path,
    *,
    ports: int = 200,
    threads: int = 2,
    log_level: int = 6,
    open_files: int | None = None,
    port_range: tuple[int, int] | None = None,
) -> Iterator[Rtpengine]:
    """rtpengine on 127.0.0.1, recording (pcap) under ``directory``/rec. The media
    benchmark gives it thousands of ``ports``, more ``threads``, a quieter ``log_level``
    and the ``open_files`` its sockets need (one per port), and a ``port_range`` of its
    own (not claimed: rtpengine skips a port it finds taken), since the tests' port
    space holds no 20,000 consecutive free ports."""
    program = need_rtpengine()
    ng = ("127.0.0.1", free_port())
    low, high = port_range if port_range is not None else free_rtp_range(ports)
    recording_dir = directory / "rec"
    recording_dir.mkdir(parents=True, exist_ok=True)
    log_path = directory / "rtpengine.log"
    args = [
        program,
        "--config-file=none",  # else /etc/rtpengine/rtpengine.conf is read
        "--table=-1",  # user space: no kernel module
        "--foreground",
        "--log-stderr",
        f"--log-level={log_level}",
        "--interface=127.0.0.1",
        f"--listen-ng={ng[0]}:{ng[1]}",
        f"--port-min={low}",
        f"--port-max={high}",
        f"--recording-dir={recording_dir}",
        "--recording-method=pcap",
        f"--pidfile={directory / 'rtpengine.pid'}",
        "--delete-delay=0",
        f"--num-threads={threads}",
        "--timeout=60",
        "--silent-timeout=600",
    ]
    with log_path.open("wb") as log:
        # In its own directory: a core file (rtpengine 10.5 has dumped one once on
        # SIGTERM here) lands there, never in the working tree.
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    if open_files is not None:
        _allow_files(process.pid, open_files)
    try:
        deadline = time.monotonic() + 10
        while not ping(ng):
            if process.poll() is not None:
                raise RuntimeError(f"rtpengine exited {process.returncode}: {log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"rtpengine not ready in 10 s: {log_path.read_text()}")
            time.sleep(0.05)
        yield Rtpengine(ng, (low, high), recording_dir, log_path, process)
    finally:
        stop(process)


def _allow_files(pid: int, count: int) -> None:
    """Raise the running process's limit of open files to ``count`` (its sockets are
    opened per call, later; root may raise the hard limit too, others get what the hard
    limit allows)."""
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (count, max(count, hard)))
    except (ValueError, OSError):
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (min(count, hard), hard))


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 5 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
