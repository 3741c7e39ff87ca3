"""Two dialtone workers behind a Kamailio edge, and sipp calling through it: the set-up
the scale-out tests share (test_edge_workers.py on one SQLite file, test_scale_out.py on
PostgreSQL and Redis)."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.programs.kamailio import Edge, edge

from .conftest import (
    SIPP,
    Platform,
    add_user,
    free_port,
    free_rtp_range,
    free_sip_port,
    provision,
    sippgen,
    start_platform,
    stop_platform,
)

PASSWORD = "correct-horse-1"


@contextmanager
def workers_behind_edge(
    tmp: Path, per_worker: Callable[[int], dict[str, str]] = lambda index: {}, **shared: str
) -> Iterator[tuple[list[Platform], Edge]]:
    """Two workers (data dirs w1 and w2, ``worker_id`` w1 and w2) behind an edge, with
    ``shared`` settings and ``per_worker(index)``'s; an account with a number and the user
    bob (202, PASSWORD), provisioned through the first and known to both."""
    edge_port = free_sip_port()
    ports = [free_sip_port(), free_sip_port()]
    common = {
        "edge_addresses": f"127.0.0.1:{edge_port}",
        # One key for all: what one seals (trunk passwords, recordings) another opens.
        "recording_key": base64.b64encode(os.urandom(32)).decode(),
        "ring_seconds": "0.2",
        "digest_algorithms": "MD5",
        **shared,
    }
    workers: list[Platform] = []
    try:
        for index, port in enumerate(ports):
            workers.append(
                start_platform(
                    tmp / f"w{index + 1}",
                    rtp_ports=100,
                    sip_port=str(port),
                    sip_tcp_port=str(port),
                    worker_id=f"w{index + 1}",
                    **common,
                    **per_worker(index),
                )
            )
        first, second = workers
        provision(first)
        second.account_id, second.api_key = first.account_id, first.api_key
        second.number = first.number
        add_user(first, "bob", "202", PASSWORD)
        second.extra["bob"] = first.extra["bob"]
        with edge(tmp, [("127.0.0.1", p) for p in ports], port=edge_port) as kamailio:
            yield workers, kamailio
    finally:
        for worker in workers:
            stop_platform(worker)


def sipp_through(
    tmp: Path,
    edge_port: int,
    name: str,
    xml: str,
    *,
    calls: int = 1,
    rate: float = 1,
    auth: tuple[str, str] | None = None,
    background: bool = False,
) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    """sipp as a UAC through the edge, scenario ``xml``; its errors go to ``name``.err and
    its log (answered calls, with sippgen.proxy_call) to ``name``.log under ``tmp``."""
    assert SIPP is not None
    scenario = sippgen.write(tmp, f"{name}.xml", xml)
    args = [
        SIPP, f"127.0.0.1:{edge_port}", "-sf", str(scenario), "-i", "127.0.0.1",
        "-p", str(free_port()), "-mp", str(free_rtp_range(40)[0]),
        "-m", str(calls), "-r", str(rate), "-l", str(calls), "-timeout", "60s",
        "-nostdin", "-trace_err", "-error_file", str(tmp / f"{name}.err"),
        "-trace_logs", "-log_file", str(tmp / f"{name}.log"), "-recv_timeout", "8000",
    ]  # fmt: skip
    if auth is not None:
        args += ["-au", auth[0], "-ap", auth[1]]
    if background:
        return subprocess.Popen(
            args, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
        )
    return subprocess.run(args, cwd=tmp, capture_output=True, text=True, timeout=90, check=False)


def read_text(tmp: Path, name: str) -> str:
    """A file sipp wrote under ``tmp``, or "" when it wrote none."""
    path = tmp / name
    return path.read_text(errors="replace") if path.exists() else ""
