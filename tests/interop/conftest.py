"""Fixtures that run the real platform (``dialtone serve`` in a subprocess) and sipp.

Everything talks over loopback sockets; ports are picked free per test run. Tests that
plug a call application in for a number (``CallHandler.applications``) run the SIP
runtime in-process instead (``in_process``), with its API over an in-process transport.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from dialtone.api.app import create_app
from dialtone.cli import app as cli_app
from dialtone.runtime.server import SipRuntime, start_sip
from dialtone.services.accounts import accounts
from dialtone.services.numbering import numbers
from dialtone.services.telephony import users
from dialtone.settings import Settings
from dialtone.sip.registrar import Binding
from dialtone.store.db import transaction
from tests.database import migrated_data_dir, migrated_database
from tests.interop import sippgen

SCENARIOS = Path(__file__).parent / "scenarios"
T = TypeVar("T")
SIPP = shutil.which("sipp")
_runner = CliRunner()


def _port_space() -> tuple[int, int]:
    """Where the tests pick ports: outside the kernel's ephemeral range.

    A port probed free in the ephemeral range could be handed by the kernel to any
    socket bound to port 0 a moment later (a sipp's control socket, an HTTP client),
    and sipp binds its media port *and* the ports next to it (video at +2): a probe
    that leaves the port free does not reserve it. Ports below the ephemeral range
    are never handed out by the kernel, so only the tests' own choices can meet
    there, and the cursor in ``claim_ports`` never gives the same port twice until
    it wraps (by then the servers that held them have stopped).
    """
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    if low - 10000 >= 8000:
        return 10000, low - 1
    return high + 1, 65000


def _worker_slice(floor: int, ceiling: int) -> tuple[int, int]:
    """The part of the port space this process claims from: with pytest-xdist workers
    (``make test`` runs the interop tests on two), each worker has a slice of its own, so
    no two workers' servers ever take the same port (a probed-free port could otherwise
    be bound by the other worker between the probe and the bind)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.startswith("gw") or count <= 1:
        return floor, ceiling
    index = int(worker[2:])
    width = (ceiling - floor) // count
    return floor + index * width, floor + (index + 1) * width


_PORT_FLOOR, _PORT_CEILING = _worker_slice(*_port_space())
# Two test processes on one machine (CI and a developer's run) start far apart.
_port_cursor = [_PORT_FLOOR + (os.getpid() * 7919) % (_PORT_CEILING - _PORT_FLOOR)]


def _port_free(port: int, kinds: tuple[int, ...]) -> bool:
    for kind in kinds:
        try:
            with socket.socket(socket.AF_INET, kind) as sock:
                sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def claim_ports(size: int, kinds: tuple[int, ...] = (socket.SOCK_DGRAM,)) -> int:
    """The first of ``size`` consecutive ports, each probed free for every kind in ``kinds``.

    Blocks are handed out in order from a cursor, so no two claims in a run overlap
    (until the space wraps), whatever happens to be bound between them.
    """
    span = _PORT_CEILING - _PORT_FLOOR
    for _ in range(span // max(size, 1) + 1):
        low = _port_cursor[0] + (_port_cursor[0] & 1)  # RTP ports are even
        if low + size > _PORT_CEILING:
            low = _PORT_FLOOR + (_PORT_FLOOR & 1)
        _port_cursor[0] = low + size
        if all(_port_free(port, kinds) for port in range(low, low + size)):
            return low
    raise RuntimeError(f"no {size} consecutive free ports in {_PORT_FLOOR}-{_PORT_CEILING}")


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free on 127.0.0.1 for ``kind`` (UDP by default), never claimed before in this run."""
    return claim_ports(1, (kind,))


def free_sip_port() -> int:
    """A port free for both UDP and TCP (SIP listens on both with one number)."""
    return claim_ports(1, (socket.SOCK_DGRAM, socket.SOCK_STREAM))


def free_rtp_range(size: int = 200) -> tuple[int, int]:
    """A block of UDP ports, each probed free, for one server's RTP range or a sipp's media."""
    low = claim_ports(size)
    return low, low + size - 1


def cli(env: dict[str, str], *args: str) -> str:
    """Run the ``dialtone`` command; return its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "dialtone.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"dialtone {' '.join(args)} failed: {done.stderr}"
    return done.stdout


@dataclass
class Platform:
    """A running ``dialtone serve`` with one account holding one number."""

    env: dict[str, str]
    data_dir: Path
    sip_port: int
    http_port: int
    process: subprocess.Popen[str]
    log_path: Path
    account_id: str = ""
    api_key: str = ""
    number: str = "+33123456789"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def http(self, api_key: str | None = None) -> httpx.Client:
        key = api_key if api_key is not None else self.api_key
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def sipp_args(
        self, scenario: str, service: str, *, calls: int = 1, timeout: float = 60
    ) -> list[str]:
        """The command line of a sipp UAC running ``scenario`` against this platform."""
        assert SIPP is not None
        return [
            SIPP,
            f"127.0.0.1:{self.sip_port}",
            "-sf",
            str(SCENARIOS / scenario),
            "-s",
            service,
            "-i",
            "127.0.0.1",
            "-p",
            str(free_port()),
            "-mp",
            str(free_rtp_range(20)[0]),
            "-m",
            str(calls),
            "-l",
            str(max(1, calls)),
            "-timeout",
            f"{int(timeout)}s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
        ]

    def sipp(
        self,
        scenario: str,
        service: str,
        *,
        calls: int = 1,
        extra: tuple[str, ...] = (),
        timeout: float = 60,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a sipp UAC scenario against this platform; returns the finished process."""
        return subprocess.run(
            [*self.sipp_args(scenario, service, calls=calls, timeout=timeout), *extra],
            capture_output=True,
            text=True,
            timeout=timeout + 15,
            check=False,
            # sipp writes its -trace_err log to the working directory: keep it out of the repo.
            cwd=cwd or self.data_dir.parent,
        )


def server_env(tmp: Path, *, rtp_ports: int = 200, **settings: str) -> dict[str, str]:
    """Environment for a server under ``tmp`` on free SIP, HTTP, SMPP and RTP ports."""
    rtp_low, rtp_high = free_rtp_range(rtp_ports)
    sip_port = free_sip_port()
    env = {
        **os.environ,
        "DIALTONE_DATA_DIR": str(tmp / "var"),
        "DIALTONE_SIP_PORT": str(sip_port),
        "DIALTONE_SIP_TCP_PORT": str(sip_port),
        "DIALTONE_SIP_TLS_PORT": str(free_port(socket.SOCK_STREAM)),
        "DIALTONE_HTTP_PORT": str(free_port(socket.SOCK_STREAM)),
        "DIALTONE_SMPP_PORT": str(free_port(socket.SOCK_STREAM)),
        "DIALTONE_RTP_PORT_MIN": str(rtp_low),
        "DIALTONE_RTP_PORT_MAX": str(rtp_high),
        "DIALTONE_CONFIG": str(tmp / "absent.toml"),
        "PYTHONUNBUFFERED": "1",
    }
    env.update({f"DIALTONE_{k.upper()}": v for k, v in settings.items()})
    return env


def start_platform(tmp: Path, *, rtp_ports: int = 200, **settings: str) -> Platform:
    """Start ``dialtone serve`` on free ports under ``tmp`` and wait until it answers."""
    env = server_env(tmp, rtp_ports=rtp_ports, **settings)
    sip_port, http_port = int(env["DIALTONE_SIP_PORT"]), int(env["DIALTONE_HTTP_PORT"])
    # A server given its own database_url (PostgreSQL) migrates it itself.
    if "database_url" not in settings and not (tmp / "var" / "dialtone.db").exists():
        # Serve finds the schema current (a copy of a database migrated once: Alembic
        # would take a second of the test's time); a restart finds its own. Serving a
        # fresh data dir, migrations and all, is tested as a user runs it: test_readme.py,
        # test_make_serve.py, tests/cli/test_support.py.
        migrated_data_dir(tmp / "var")
    tmp.mkdir(parents=True, exist_ok=True)  # nothing made it above with a database_url
    log_path = tmp / "serve.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "dialtone.cli", "serve"],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp,
    )
    platform = Platform(
        env=env,
        data_dir=tmp / "var",
        sip_port=sip_port,
        http_port=http_port,
        process=process,
        log_path=log_path,
    )
    # Generous: a loaded 2-core machine can take long to import and migrate; it returns as
    # soon as the server answers.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dialtone serve exited:\n{platform.log()}")
        try:
            if httpx.get(f"{platform.base_url}/healthz", timeout=1).status_code == 200:
                return platform
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_platform(platform)
    raise RuntimeError(f"dialtone serve did not start:\n{platform.log()}")


def stop_platform(platform: Platform) -> int:
    """Ctrl-C the server and wait for it; returns its exit code."""
    if platform.process.poll() is None:
        platform.process.send_signal(signal.SIGINT)
        try:
            platform.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            platform.process.kill()
            platform.process.wait()
    return platform.process.returncode


def cli_here(env: dict[str, str], *args: str) -> str:
    """Run a ``dialtone`` command in this process (typer's runner, the command's own code
    with ``env`` as its environment); return its standard output. Every test that serves
    provisions an account: a ``cli`` subprocess would start Python and import dialtone
    again (one to two seconds) each time; ``serve`` itself still runs as the entry point."""
    done = _runner.invoke(cli_app, list(args), env=env)
    assert done.exit_code == 0, f"dialtone {' '.join(args)} failed: {done.output}"
    return done.stdout


def provision(platform: Platform, number: str = "+33123456789", increment: str = "60/60") -> None:
    """Create an account with ``number`` through the CLI, as an operator would."""
    out = cli_here(
        platform.env, "accounts", "create", "Acme", "--increment", increment, "--number", number
    )
    values = dict(line.split(": ", 1) for line in out.strip().splitlines())
    platform.account_id = values["account_id"]
    platform.api_key = values["api_key"]
    platform.extra["auth_token"] = values["auth_token"]
    platform.number = values["number"]


def require_sipp() -> None:
    """Skip without sipp, except in CI (``CI=true``), where its absence is a failure."""
    if SIPP is not None:
        return
    why = "sipp (Debian package sip-tester) is not installed; .ci/run installs it"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why)
    pytest.skip(why)


@contextmanager
def serving(
    tmp: Path,
    *,
    provisioned: bool = True,
    users: tuple[tuple[str, str], ...] = (),
    password: str = "",
    **settings: str,
) -> Iterator[Platform]:
    """``dialtone serve`` under ``tmp`` (``settings`` by name), with the account holding
    +33123456789 unless not ``provisioned``, and ``users`` as (name, extension) with
    ``password``; stopped after, and it must stop cleanly."""
    running = start_platform(tmp, **settings)
    try:
        if provisioned:
            provision(running)
        for name, extension in users:
            add_user(running, name, extension, password)
        yield running
    finally:
        code = stop_platform(running)
        assert code == 0, f"dialtone serve did not stop cleanly ({code}):\n{running.log()}"


class Softphone(Protocol):
    def stop(self) -> None: ...


P = TypeVar("P", bound=Softphone)


@contextmanager
def softphones(
    kind: Callable[..., P], platform: Platform, tmp: Path, password: str
) -> Iterator[Callable[..., P]]:
    """A function that starts a softphone of ``kind`` (baresip, linphone) for a user,
    registering to ``platform`` with ``password`` unless told otherwise; every one it
    started is stopped after."""
    started: list[P] = []

    def start(user: str, **options: Any) -> P:
        options.setdefault("password", password)
        phone = kind(tmp, user, user=user, registrar_port=platform.sip_port, **options)
        started.append(phone)
        return phone

    try:
        yield start
    finally:
        for phone in started:
            phone.stop()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """A running platform with an account holding +33123456789."""
    require_sipp()
    with serving(tmp_path, ring_seconds="0.3") as running:
        yield running


def add_trunk(
    platform: Platform,
    port: int,
    priority: int = 10,
    name: str = "carrier",
    host: str = "127.0.0.1",
) -> str:
    """Configure a UDP carrier trunk at 127.0.0.1:``port``; returns its id."""
    with platform.http() as http:
        made = http.post(
            "/v1/trunks",
            json={
                "name": name,
                "host": host,
                "port": port,
                "transport": "udp",
                "priority": priority,
            },
        )
    assert made.status_code == 201, made.text
    trunk_id: str = made.json()["id"]
    return trunk_id


def add_user(platform: Platform, name: str, extension: str, password: str) -> str:
    """Create user ``name`` (SIP username too) with ``extension`` through the API; its id."""
    with platform.http() as http:
        made = http.post(
            "/v1/users",
            json={
                "name": name.title(),
                "extension": extension,
                "sip_username": name,
                "sip_password": password,
            },
        )
    assert made.status_code == 201, made.text
    user_id: str = made.json()["id"]
    platform.extra[name] = user_id
    return user_id


FORWARD_TO = "+442071838750"


@contextmanager
def forwarding_platform(
    tmp: Path,
    out_port: int,
    in_port: int,
    number: str = "+33123456789",
    *,
    rtp_ports: int = 200,
    **settings: str,
) -> Iterator[Platform]:
    """A carrier's call forwarded back out through a carrier, digest-free on both sides:
    ``dialtone serve`` (``settings``: more ``DIALTONE_*`` settings by name) with an
    account holding ``number``, routed ``forward`` to ``FORWARD_TO``, and two UDP trunks
    on 127.0.0.1: "carrier-out" at ``out_port`` (tried first outbound) and "carrier-in"
    at ``in_port``, the calling sipp's source port, so its INVITEs are a carrier's. The
    set-up of the B2BUA benchmarks; stopped after."""
    platform = start_platform(tmp, rtp_ports=rtp_ports, **settings)
    try:
        provision(platform, number)
        add_trunk(platform, out_port, 10, "carrier-out")
        add_trunk(platform, in_port, 20, "carrier-in")
        with platform.http() as http:
            routed = http.put(
                f"/v1/numbers/{number}/route", json={"kind": "forward", "target": FORWARD_TO}
            )
        if routed.status_code != 200:
            raise RuntimeError(f"route not set: {routed.text}")
        yield platform
    finally:
        stop_platform(platform)


def poll(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    """``predicate()``'s first truthy value, polling; its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def registrations(platform: Platform) -> list[dict[str, Any]]:
    """The account's registered devices, over the API."""
    with platform.http() as http:
        response = http.get("/v1/registrations")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["registrations"]
    return items


def calls(platform: Platform, limit: int | None = None) -> list[dict[str, Any]]:
    """The account's call records (the first page, of ``limit`` when given), over the API."""
    with platform.http() as http:
        response = http.get("/v1/calls", params={} if limit is None else {"limit": limit})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["calls"]
    return items


# -- the SIP runtime in-process, for tests that plug a call application in ------------------


@dataclass
class InProcess:
    """A SIP runtime running in this process on free ports, over a fresh database with
    one account holding ``number``."""

    runtime: SipRuntime
    sessions: sessionmaker[Session]
    settings: Settings
    account_id: str
    api_key: str
    number: str

    @property
    def sip_port(self) -> int:
        return self.runtime.channels["udp"].endpoint.local_port

    def add_user(self, name: str) -> str:
        """A user ``name`` (SIP username too) of the account; its id."""
        with transaction(self.sessions) as session:
            user = users.create_user(
                session,
                self.account_id,
                name=name.title(),
                sip_username=name,
                now=datetime.now(UTC),
                realm="t",
            )
            return user.id

    def add_phone(self, name: str, port: int | None = None) -> tuple[str, int]:
        """A user ``name`` whose phone registered at 127.0.0.1:``port`` (a free port when
        None); the user's id and the port."""
        user_id = self.add_user(name)
        port = free_port() if port is None else port
        self.register(user_id, name, port)
        return user_id, port

    async def call(self, tmp: Path, caller: str, phone: str, phone_port: int) -> list[int]:
        """A sipp ``caller`` scenario calling this runtime while a sipp ``phone``
        scenario answers at ``phone_port``; their exit codes."""
        return list(
            await asyncio.gather(
                run_sipp(tmp, "caller", caller, port=free_port(), target=self.sip_port),
                run_sipp(tmp, "phone", phone, port=phone_port, target=None),
            )
        )

    def register(self, user_id: str, name: str, port: int) -> None:
        """Bind the user's phone at 127.0.0.1:``port`` as a REGISTER would have."""
        registrar = self.runtime.engine.registrar
        registrar.table.restore(
            user_id,
            Binding(
                contact=f"sip:{name}@127.0.0.1:{port}",
                source=("127.0.0.1", port),
                transport="udp",
                expires_at=registrar.clock() + 3600,
                call_id=f"reg-{name}",
                cseq=1,
            ),
        )

    async def calls(self) -> list[dict[str, Any]]:
        """The account's call records as ``GET /v1/calls`` shows them."""
        app = create_app(self.settings, self.sessions)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://dialtone",
            headers={"Authorization": f"Bearer {self.api_key}"},
        ) as http:
            response = await http.get("/v1/calls")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["calls"]
        return items


@asynccontextmanager
async def in_process(tmp: Path, number: str = "+33123456789") -> AsyncIterator[InProcess]:
    """``InProcess`` under ``tmp``; its live calls ended and its sockets closed after."""
    _, sessions = migrated_database(tmp / "db.sqlite")
    with transaction(sessions) as session:
        made = accounts.create_account(session, "A", now=datetime.now(UTC))
        numbers.add_number(session, made.account.id, number, now=datetime.now(UTC))
        account_id, api_key = made.account.id, made.api_key
    low, high = free_rtp_range(100)
    settings = Settings(
        data_dir=tmp / "var",
        sip_host="127.0.0.1",
        sip_port=free_port(),
        sip_tcp_port=None,
        sip_tls_port=None,
        rtp_port_min=low,
        rtp_port_max=high,
    )
    runtime = await start_sip(settings, sessions)
    try:
        yield InProcess(runtime, sessions, settings, account_id, api_key, number)
    finally:
        await runtime.end_calls()
        runtime.close()


async def run_sipp(tmp: Path, name: str, xml: str, *, port: int, target: int | None) -> int:
    """Run one sipp scenario (a UAC to ``target``, or a UAS when None) on ``port``; its
    exit code. Its errors and messages go to ``tmp/<name>.err.log`` and ``.msg.log``."""
    scenario = sippgen.write(tmp, f"{name}.xml", xml)
    assert SIPP is not None
    args = [
        *([f"127.0.0.1:{target}"] if target is not None else []),
        "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_rtp_range(20)[0]), "-m", "1", "-timeout", "40s", "-timeout_error",
        "-nostdin", "-trace_err", "-error_file", str(tmp / f"{name}.err.log"),
        "-trace_msg", "-message_file", str(tmp / f"{name}.msg.log"),
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        SIPP, *args, cwd=tmp, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait()


def sipp_errors(tmp: Path, *names: str) -> str:
    """What the sipps ``names`` logged as errors (for an assertion's message)."""
    logs = [tmp / f"{name}.err.log" for name in names]
    return "\n".join(f"{p.name}: {p.read_text(errors='replace')}" for p in logs if p.exists())


async def apoll(predicate: Callable[[], T | Awaitable[T]], timeout: float = 10.0) -> T:
    """``poll`` for a test inside the event loop (the loop runs while it waits); the
    predicate may be a coroutine function."""

    async def value() -> T:
        got = predicate()
        return await got if inspect.isawaitable(got) else got

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := await value():
            return got
        await asyncio.sleep(0.05)
    return await value()


def chain(record: dict[str, Any]) -> list[tuple[str | None, str | None, str | None]]:
    """A call record's leg chain (TERMS V11) as (kind, id, failure status) per leg."""
    return [(leg["kind"], leg["id"], leg.get("status")) for leg in record["legs"]]
