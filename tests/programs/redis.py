"""A throw-away ``redis-server`` (Debian's ``redis-server``) for tests: started on a free
TCP port of 127.0.0.1, nothing saved (``--save '' --appendonly no``), stopped with
SIGTERM then SIGKILL, its directory removed. Under ``CI=true`` a missing program fails
the test; otherwise it skips (as the other interop tests do)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop.conftest import free_port


def require_redis() -> str:
    """The redis-server program, or a skip (a failure in CI)."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        why = "redis-server is not installed (Debian package redis-server)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(why)
        pytest.skip(why)
    return found


@dataclass
class RedisServer:
    """A running redis-server: its address, and what kills and restarts it."""

    program: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.program,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if self.ping():
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer within 10 s")

    def ping(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def command(self, *words: str) -> bytes:
        """One command in the inline protocol (FLUSHALL between tests)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall((" ".join(words) + "\r\n").encode())
            return sock.recv(65536)

    def flush(self) -> None:
        assert self.command("FLUSHALL").startswith(b"+OK")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def kill(self) -> None:
        """kill -9: Redis gone mid-traffic."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server for the block (see the module docstring)."""
    program = require_redis()
    directory = Path(tempfile.mkdtemp(prefix="dialtone-redis-"))
    server = RedisServer(program, free_port(socket.SOCK_STREAM), directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
