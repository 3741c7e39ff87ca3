"""Two engines (two ``start_sip`` runtimes, each with its own session factory, as two
processes would have) on one SQLite file, sharing one real redis-server (issue 19):
V2 across them with real SIP (sipp), authentication failures and nonces, the look-up
cache's invalidation after a change through the API of one, a wake-up, and Redis killed
mid-traffic."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.runtime.messaging import MessagingRuntime
from dialtone.runtime.server import SipRuntime, start_sip
from dialtone.runtime.shared import WAKE_MESSAGES, SharedState, open_shared
from dialtone.services.accounts import accounts
from dialtone.services.numbering import numbers
from dialtone.services.telephony import trunks, users
from dialtone.settings import Settings
from dialtone.sip.digest import authorization
from dialtone.sip.message import parse_message
from dialtone.store.db import make_engine, session_factory, transaction
from tests.database import migrated_file
from tests.interop import sippgen
from tests.interop.conftest import SIPP, apoll, free_port, free_rtp_range, require_sipp
from tests.programs.redis import RedisServer, redis_server

pytestmark = pytest.mark.interop

KEY = b"p" * 32  # the platform key both workers share
PASSWORD = "correct horse 42"
NUMBER = "+33123456789"


@dataclass
class Worker:
    runtime: SipRuntime
    shared: SharedState
    sessions: sessionmaker[Session]
    settings: Settings

    @property
    def port(self) -> int:
        return self.runtime.channels["udp"].endpoint.local_port


@dataclass
class Pair:
    a: Worker
    b: Worker
    redis: RedisServer
    account_id: str
    api_key: str
    alice: str
    url: str


@pytest.fixture(scope="module")
def redis() -> RedisServer:  # type: ignore[misc]
    with redis_server() as server:
        yield server


@asynccontextmanager
async def two_workers(tmp: Path, redis: RedisServer, carrier_port: int) -> AsyncIterator[Pair]:
    if redis.process is None or redis.process.poll() is not None:
        redis.start()
    redis.flush()
    url = migrated_file(tmp / "db.sqlite")
    setup = session_factory(make_engine(url))
    with transaction(setup) as session:
        made = accounts.create_account(session, "A", now=datetime.now(UTC))
        numbers.add_number(session, made.account.id, NUMBER, now=datetime.now(UTC))
        alice = users.create_user(
            session,
            made.account.id,
            name="Alice",
            sip_username="alice",
            sip_password=PASSWORD,
            extension="201",
            now=datetime.now(UTC),
            realm="dialtone",
        ).id
        trunks.create_trunk(
            session,
            account_id=made.account.id,
            name="carrier",
            host="127.0.0.1",
            port=carrier_port,
            now=datetime.now(UTC),
            key=KEY,
        )
        account_id, api_key = made.account.id, made.api_key
    workers = []
    for name in ("a", "b"):
        low, high = free_rtp_range(40)
        settings = Settings(
            data_dir=tmp / name,
            database_url=url,
            recording_key=base64.b64encode(KEY).decode(),
            sip_host="127.0.0.1",
            sip_port=free_port(),
            sip_tcp_port=None,
            sip_tls_port=None,
            sip_realm="dialtone",
            rtp_port_min=low,
            rtp_port_max=high,
            lookup_cache_seconds=60,  # only the invalidation can make a change seen
            auth_failures_allowed=2,
            redis_url=redis.url,
            redis_timeout_ms=200,
            redis_retry_seconds=0.2,
            redis_heartbeat_seconds=0.5,
        )
        shared = await open_shared(settings, worker_id=f"worker-{name}", platform_key=KEY)
        sessions = session_factory(make_engine(url))
        runtime = await start_sip(settings, sessions, shared=shared)
        workers.append(Worker(runtime, shared, sessions, settings))
    try:
        yield Pair(workers[0], workers[1], redis, account_id, api_key, alice, url)
    finally:
        for worker in workers:
            await worker.runtime.end_calls()
            await worker.runtime.aclose()
            await worker.shared.aclose()


async def sipp(tmp: Path, name: str, xml: str, *, target: int | None, port: int) -> int:
    scenario = sippgen.write(tmp, f"{name}.xml", xml)
    assert SIPP is not None
    args = [
        *([f"127.0.0.1:{target}", "-au", "alice", "-ap", PASSWORD] if target else []),
        "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_rtp_range(20)[0]), "-m", "1", "-timeout", "30s", "-timeout_error",
        "-nostdin", "-trace_err", "-error_file", str(tmp / f"{name}.err.log"),
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        SIPP, *args, cwd=tmp, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait()


def test_a_user_in_a_call_on_a_is_refused_486_on_b_then_free_after(
    tmp_path: Path, redis: RedisServer
) -> None:
    require_sipp()
    carrier_port = free_port()

    async def run() -> tuple[int, int, int, int]:
        async with two_workers(tmp_path, redis, carrier_port) as pair:
            carrier = asyncio.create_task(
                sipp(tmp_path, "carrier", sippgen.phone(), target=None, port=carrier_port)
            )
            first = asyncio.create_task(
                sipp(
                    tmp_path,
                    "first",
                    sippgen.call("+442071838750", from_user="alice", auth=True, bye_after_ms=3000),
                    target=pair.a.port,
                    port=free_port(),
                )
            )
            await apoll(lambda: pair.a.runtime.engine.ctx.active(pair.alice) == 1, timeout=15)
            # Published at once: B sees it on its next setup.
            await apoll(lambda: _eq(pair.b.runtime.engine.ctx.active_everywhere(pair.alice), 1), 2)
            refused = await sipp(
                tmp_path,
                "second",
                sippgen.call(
                    "+442071838751",
                    from_user="alice",
                    auth=True,
                    expect=486,
                    expect_header=("Reason", "concurrency.user_limit"),
                ),
                target=pair.b.port,
                port=free_port(),
            )
            # The dry run through B agrees while the call lasts.
            dry = await asyncio.to_thread(pair.b.runtime.engine.active_calls, pair.alice)
            done = await first
            await carrier
            # Ended on A: B no longer counts it.
            await apoll(lambda: _eq(pair.b.runtime.engine.ctx.active_everywhere(pair.alice), 0), 3)
            return refused, dry, done, carrier.result()

    refused, dry, first, carrier = asyncio.run(run())
    errors = "\n".join(p.read_text() for p in tmp_path.glob("*.err.log"))
    assert refused == 0, errors
    assert dry == 1
    assert first == 0, errors
    assert carrier == 0, errors


async def _eq(got: object, wanted: object) -> bool:
    return await got == wanted  # type: ignore[misc]


def _invite(port: int, proxy_auth: str | None = None) -> bytes:
    lines = [
        f"INVITE sip:+442071838750@127.0.0.1:{port} SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-shared-1",
        "From: <sip:alice@127.0.0.1>;tag=abc",
        f"To: <sip:+442071838750@127.0.0.1:{port}>",
        "Call-ID: shared-test@127.0.0.1",
        "CSeq: 1 INVITE",
        "Max-Forwards: 70",
        "Contact: <sip:alice@127.0.0.1:5999>",
    ]
    if proxy_auth is not None:
        lines.append(f"Proxy-Authorization: {proxy_auth}")
    return ("\r\n".join([*lines, "Content-Length: 0", "", ""])).encode()


def test_nonces_and_failures_are_shared(tmp_path: Path, redis: RedisServer) -> None:
    """A's challenge answered to B verifies on B; failures from one source on A block it
    on B (TERMS D2)."""

    async def run() -> tuple[str | None, int, int]:
        async with two_workers(tmp_path, redis, free_port()) as pair:
            a, b = pair.a.runtime.engine.auth, pair.b.runtime.engine.auth
            challenged = await a.authenticate(parse_message(_invite(pair.a.port)), "192.0.2.60")
            value = dict(challenged.headers)["Proxy-Authenticate"]
            answer = authorization(
                value,
                method="INVITE",
                uri=f"sip:+442071838750@127.0.0.1:{pair.a.port}",
                username="alice",
                password=PASSWORD,
                cnonce="c1",
            )
            good = await b.authenticate(parse_message(_invite(pair.b.port, answer)), "192.0.2.60")
            wrong = authorization(
                value,
                method="INVITE",
                uri=f"sip:+442071838750@127.0.0.1:{pair.a.port}",
                username="alice",
                password="guess",
                cnonce="c2",
            )
            for _ in range(3):  # allowed 2: the third blocks
                await a.authenticate(parse_message(_invite(pair.a.port, wrong)), "192.0.2.61")
            on_b = await b.authenticate(parse_message(_invite(pair.b.port)), "192.0.2.61")
            other = await b.authenticate(parse_message(_invite(pair.b.port)), "192.0.2.62")
            return (good.user.id if good.user else None), on_b.status, other.status

    user, on_b, other = asyncio.run(run())
    assert user is not None
    assert on_b == 403  # auth.rate_limited, counted on A
    assert other == 407  # another source is only challenged


def test_a_change_through_as_api_empties_bs_cache_at_once(
    tmp_path: Path, redis: RedisServer
) -> None:
    async def run() -> tuple[bool, bool, float]:
        async with two_workers(tmp_path, redis, free_port()) as pair:
            ctx_b = pair.b.runtime.engine.ctx
            key = ("route", NUMBER)
            await ctx_b.cached(key, lambda s: "old route")
            kept = ctx_b.lookups.get(key)[0]
            app = create_app(pair.a.settings, pair.a.sessions)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://dialtone",
                headers={"Authorization": f"Bearer {pair.api_key}"},
            ) as http:
                changed = await http.post(
                    "/v1/trunks",
                    json={"name": "second", "host": "127.0.0.1", "port": 5999, "transport": "udp"},
                )
                assert changed.status_code == 201, changed.text
                started = asyncio.get_running_loop().time()
            await apoll(lambda: not ctx_b.lookups.get(key)[0], timeout=2)
            took = asyncio.get_running_loop().time() - started
            return kept, ctx_b.lookups.get(key)[0], took

    kept, still, took = asyncio.run(run())
    assert kept
    assert not still
    assert took < 0.5  # pub/sub, not the 60 s of the cache


def test_a_wake_up_on_a_reaches_bs_dispatcher(tmp_path: Path, redis: RedisServer) -> None:
    async def run() -> int:
        async with two_workers(tmp_path, redis, free_port()) as pair:
            woken: list[int] = []
            pair.b.shared.bus.subscribe(WAKE_MESSAGES, lambda: woken.append(1))
            await pair.b.shared.bus.wait_subscribed()  # type: ignore[attr-defined]
            messaging = SimpleNamespace(shared=pair.a.shared, dispatcher=None)
            # What api.deps.wake_dispatcher calls, from the API's thread pool.
            await asyncio.to_thread(MessagingRuntime.wake, messaging)  # type: ignore[arg-type]
            await apoll(lambda: bool(woken), timeout=2)
            return len(woken)

    assert asyncio.run(run()) == 1


def test_redis_killed_mid_traffic_calls_go_on_degraded_then_recovered(
    tmp_path: Path, redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    require_sipp()
    caplog.set_level(logging.WARNING, logger="dialtone.shared")
    carrier_port = free_port()

    async def run() -> tuple[int, bool, bool]:
        async with two_workers(tmp_path, redis, carrier_port) as pair:
            redis.kill()
            carrier = asyncio.create_task(
                sipp(tmp_path, "carrier", sippgen.phone(), target=None, port=carrier_port)
            )
            loop = asyncio.get_running_loop()
            started = loop.time()
            placed = await sipp(
                tmp_path,
                "during",
                sippgen.call("+442071838750", from_user="alice", auth=True, bye_after_ms=200),
                target=pair.b.port,
                port=free_port(),
            )
            await carrier
            degraded = pair.b.shared.degraded
            assert loop.time() - started < 15
            redis.start()
            await apoll(lambda: not pair.b.shared.degraded, timeout=5)
            return placed, degraded, pair.b.shared.degraded

    placed, degraded, after = asyncio.run(run())
    errors = "\n".join(p.read_text() for p in tmp_path.glob("*.err.log"))
    assert placed == 0, errors
    assert degraded
    assert not after
    lines = [r.getMessage() for r in caplog.records if r.name == "dialtone.shared"]
    assert 1 <= sum("degraded" in line for line in lines) <= 2  # one per worker at most
    assert sum("recovered" in line for line in lines) >= 1
