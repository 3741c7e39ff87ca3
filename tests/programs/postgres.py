"""A throw-away PostgreSQL cluster for tests, from Debian's ``postgresql`` package.

``cluster()`` runs ``initdb`` and ``postgres`` in a fresh directory (outside pytest's
0700 tmp, so that ``nobody`` can own it when the tests run as root: PostgreSQL refuses
to run as root), on a free TCP port of 127.0.0.1 and a unix socket in that directory,
trust authentication, and yields a ``Cluster``: ``create_database()`` makes a database
(optionally a copy of a template, which is fast) and returns its SQLAlchemy URL.
``database()`` is the short form: one fresh database on a cluster of its own.

The functional tests' clusters run with ``fsync=off`` (``durable=False``): nothing they
check depends on the disk. A test of durability (kill -9, nothing acknowledged lost)
asks for ``durable=True``: fsync, full page writes and synchronous commit as shipped.

Without PostgreSQL installed the caller is skipped, except under ``CI=true`` where that
is a failure (as tests/interop/conftest.py does for sipp).
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

# The user the cluster runs as when the tests run as root (PostgreSQL refuses root).
_UNPRIVILEGED = ("nobody", "nogroup")
_READY_SECONDS = 30.0
_STOP_SECONDS = 10.0
SUPERUSER = "postgres"
# A role that must give its password over TCP (every other connection is trusted): for
# the tests of a wrong password. Created by ``Cluster.password_role``.
PASSWORD_ROLE = "dialtone_pw"


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps them versioned under
    /usr/lib/postgresql; the /usr/bin wrappers need a configured cluster), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parent.parent.name.split(".")[0]),
    )
    return Path(found[-1]).parent if found else None


def require_postgres() -> Path:
    """The bin directory; skips without PostgreSQL, except under ``CI=true`` (a failure)."""
    found = binaries()
    if found is not None:
        return found
    why = "PostgreSQL is not installed (Debian package postgresql)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why)
    pytest.skip(why)


def _as_owner(command: list[str]) -> list[str]:
    """``command`` run as the cluster's owner: ``nobody`` when we are root. Either way the
    program is stopped (SIGINT: a fast shutdown) when the test process dies without
    stopping it (setpriv's parent-death signal, set after the change of user)."""
    wrapper = ["setpriv", "--pdeathsig", "INT"]
    if os.geteuid() == 0:
        user, group = _UNPRIVILEGED
        wrapper += [f"--reuid={user}", f"--regid={group}", "--clear-groups"]
    return [*wrapper, *command] if shutil.which("setpriv") else command


def _candidate_port() -> int:
    """A TCP port probed free on 127.0.0.1, below the kernel's ephemeral range (where no
    socket bound to port 0 can take it meanwhile), drawn at random: the interop helpers'
    ``free_port`` would do, but importing tests.interop.conftest costs seconds of every
    worker's start, and ``start`` retries on the rare port taken between probe and bind."""
    try:
        low, _ = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low = 32768
    while True:
        port = random.randrange(max(1024, low - 12000), low - 2000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


@dataclass
class Cluster:
    """A running cluster: where it listens and how to make databases on it."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    durable: bool
    _names: Iterator[int] = field(default_factory=lambda: count(1))
    # One connection for CREATE and DROP DATABASE: a new one would fork a server process
    # twice per test.
    _admin: psycopg.Connection[tuple[object, ...]] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL (psycopg 3) of ``database`` on this cluster, over TCP."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection to the ``postgres`` database (CREATE/DROP DATABASE)."""
        return psycopg.connect(
            host=self.host, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new database (a copy of ``template`` when given); its URL."""
        name = name or f"t{os.getpid()}_{next(self._names)}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            # PostgreSQL 15's default strategy (WAL_LOG) copies block by block through the
            # log: no checkpoint per copy, unlike FILE_COPY (3x slower here, with stalls).
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        self._kept().execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any connection still open on it."""
        self._kept().execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def _kept(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._admin is None or self._admin.closed:
            self._admin = self.admin()
        return self._admin

    def close_admin(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def execute(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the superuser on ``database`` (autocommit)."""
        with psycopg.connect(
            host=self.host, port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        ) as connection:
            connection.execute(statement.encode())

    def password_role(self, password: str) -> str:
        """Create ``PASSWORD_ROLE`` (owner of a database of the same name) with
        ``password``; its name."""
        self.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{password}'")
        self.execute(f"CREATE DATABASE {PASSWORD_ROLE} OWNER {PASSWORD_ROLE}")
        return PASSWORD_ROLE

    def kill(self) -> None:
        """SIGKILL the postmaster and its children at once (a crash of the server: what
        was committed must be there after ``restart``, by WAL replay)."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=_STOP_SECONDS)

    def restart(self) -> None:
        """Start the cluster again on the same directory and port (after ``kill``)."""
        self._admin = None
        bin_dir = require_postgres()
        self.process = _launch(bin_dir, self.directory, self.port, self.durable).process
        _wait_ready(self)

    def log(self) -> str:
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _initdb(bin_dir: Path, data: Path) -> None:
    completed = subprocess.run(
        _as_owner(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(data),
                "--auth=trust",
                f"--username={SUPERUSER}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        ),
        capture_output=True,
        check=False,
    )
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).decode(errors="replace")
        raise RuntimeError(f"initdb failed ({completed.returncode}):\n{output}")
    # First match wins: the password role is checked before the trust lines.
    hba = data / "pg_hba.conf"
    hba.write_text(f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())


def _settings(directory: Path, port: int, durable: bool) -> list[str]:
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(directory),
        "max_connections": "200",
        "shared_buffers": "32MB",
        # The process's own log file, read back when a start fails.
        "logging_collector": "off",
    }
    if durable:
        settings |= {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    else:
        settings |= {
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            # Every test copies a ~10 MB template through the log: checkpoint seldom.
            "checkpoint_timeout": "1h",
            "max_wal_size": "4GB",
        }
    return [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]


def _wait_ready(cluster: Cluster) -> None:
    deadline = time.monotonic() + _READY_SECONDS
    while True:
        if cluster.process.poll() is not None:
            raise RuntimeError(f"postgres exited ({cluster.process.returncode}):\n{cluster.log()}")
        try:
            with cluster.admin():
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres not ready in time:\n{cluster.log()}") from None
            time.sleep(0.05)


def start(durable: bool = False) -> Cluster:
    """Start a cluster (see ``cluster``); the caller stops it with ``stop``."""
    bin_dir = require_postgres()
    directory = Path(tempfile.mkdtemp(prefix="dialtone-pg-", dir="/tmp"))
    try:
        if os.geteuid() == 0:
            shutil.chown(directory, *_UNPRIVILEGED)
        data = directory / "data"
        _initdb(bin_dir, data)
        for attempt in range(5):
            cluster = _launch(bin_dir, directory, _candidate_port(), durable)
            try:
                _wait_ready(cluster)
                return cluster
            except BaseException:
                _halt(cluster)
                taken = "could not bind" in cluster.log() or "could not create any TCP" in (
                    cluster.log()
                )
                if not taken or attempt == 4:
                    raise
        raise AssertionError("unreachable")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _launch(bin_dir: Path, directory: Path, port: int, durable: bool) -> Cluster:
    settings = _settings(directory, port, durable)
    with (directory / "postgres.log").open("ab") as log:
        process = subprocess.Popen(
            _as_owner([str(bin_dir / "postgres"), "-D", str(directory / "data"), *settings]),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Cluster(directory=directory, port=port, process=process, durable=durable)


def _halt(cluster: Cluster) -> None:
    """A fast shutdown (SIGINT: connections ended, no waiting for clients), SIGKILL of the
    whole group if it hangs."""
    with suppress(psycopg.Error):
        cluster.close_admin()
    if cluster.process.poll() is None:
        with suppress(ProcessLookupError):
            cluster.process.send_signal(signal.SIGINT)
        try:
            cluster.process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(cluster.process.pid, signal.SIGKILL)
            cluster.process.wait(timeout=_STOP_SECONDS)


def stop(cluster: Cluster) -> None:
    """Stop the cluster and remove its directory: nothing is left behind."""
    _halt(cluster)
    shutil.rmtree(cluster.directory, ignore_errors=True)


@contextmanager
def cluster(durable: bool = False) -> Iterator[Cluster]:
    """A running cluster, stopped and removed on exit."""
    running = start(durable)
    try:
        yield running
    finally:
        stop(running)


@contextmanager
def database(durable: bool = False) -> Iterator[str]:
    """The URL of a fresh, empty database on a cluster of its own."""
    with cluster(durable) as running:
        yield running.create_database("dialtone")
