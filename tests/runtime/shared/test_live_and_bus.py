"""Live calls per user across workers (TERMS V2) and the bus (invalidation, wake-ups), on
both implementations; what a worker does when Redis goes away and comes back; the start
when it cannot be reached."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from dialtone.runtime.shared import SharedState, SharedStateError, open_shared
from tests.programs.redis import RedisServer
from tests.runtime.shared.conftest import BACKENDS, KEY, settings_for


async def _open(url: str | None, worker: str) -> SharedState:
    return await open_shared(settings_for(url), worker_id=worker, platform_key=KEY)


async def _until(check: object, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.01)


class Calls:
    """A worker's own calls per user, as the engine counts them."""

    def __init__(self) -> None:
        self.of: dict[str, int] = {}

    def count(self, user: str) -> int:
        return self.of.get(user, 0)

    def snapshot(self) -> dict[str, int]:
        return dict(self.of)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("on_one", "wanted"), [(0, 0), (1, 1), (2, 2)])
def test_a_users_calls_on_one_worker_count_on_the_other(
    backend: str, on_one: int, wanted: int, request: pytest.FixtureRequest
) -> None:
    """In process there is no other worker: always 0 (one worker counts its own)."""
    url = request.getfixturevalue("redis").url if backend == "redis" else None

    async def run() -> tuple[list[int], list[int]]:
        one, two = await _open(url, "w1"), await _open(url, "w2")
        try:
            calls = Calls()
            one.live.attach(calls.count, calls.snapshot)
            two.live.attach(Calls().count, Calls().snapshot)
            calls.of["u1"] = on_one
            one.live.changed({"u1"})
            await asyncio.sleep(0.05)
            seen = await two.live.elsewhere(["u1", "u2"])
            mine = await one.live.elsewhere(["u1"])  # its own are not "elsewhere"
            return seen, mine
        finally:
            await one.aclose()
            await two.aclose()

    seen, mine = asyncio.run(run())
    assert seen == ([wanted, 0] if backend == "redis" else [0, 0])
    assert mine == [0]


@pytest.mark.interop
def test_the_calls_of_a_dead_worker_expire_and_an_ended_call_goes_at_once(
    redis: RedisServer,
) -> None:
    async def run() -> None:
        one, two = await _open(redis.url, "w1"), await _open(redis.url, "w2")
        try:
            calls = Calls()
            one.live.attach(calls.count, calls.snapshot)
            calls.of = {"u1": 1, "u2": 1}
            one.live.changed({"u1", "u2"})
            await _until(lambda: _equals(two.live.elsewhere(["u1", "u2"]), [1, 1]))
            calls.of = {"u2": 1}  # u1's call ended
            one.live.changed({"u1"})
            await _until(lambda: _equals(two.live.elsewhere(["u1", "u2"]), [0, 1]))
            # The worker dies (no goodbye): its heartbeats stop, 3 of them (0.3 s) later
            # its calls are forgotten.
            one.live._beat.cancel()  # type: ignore[attr-defined]
            started = asyncio.get_running_loop().time()
            await _until(lambda: _equals(two.live.elsewhere(["u2"]), [0]), timeout=2)
            assert asyncio.get_running_loop().time() - started < 0.6
            # A heartbeat puts back what a lost Redis forgot.
            await one.live.push_all()  # type: ignore[attr-defined]
            assert await two.live.elsewhere(["u2"]) == [1]
        finally:
            await one.aclose()
            await two.aclose()

    asyncio.run(run())


async def _equals(got: object, wanted: object) -> bool:
    return await got == wanted  # type: ignore[misc]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_topic_reaches_every_worker_once_even_from_a_thread(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis").url if backend == "redis" else None

    async def run() -> tuple[int, int]:
        one, two = await _open(url, "w1"), await _open(url, "w2")
        heard = {"w1": 0, "w2": 0}
        try:
            one.bus.subscribe("lookups", lambda: heard.__setitem__("w1", heard["w1"] + 1))
            two.bus.subscribe("lookups", lambda: heard.__setitem__("w2", heard["w2"] + 1))
            for shared in (one, two):
                if backend == "redis":
                    await shared.bus.wait_subscribed()  # type: ignore[attr-defined]
            thread = threading.Thread(target=one.bus.publish, args=("lookups",))
            thread.start()
            thread.join()
            wanted = {"w1": 1, "w2": 1 if backend == "redis" else 0}
            await _until(lambda: _value(heard == wanted))
            await asyncio.sleep(0.1)  # and no second delivery (its own echo ignored)
            return heard["w1"], heard["w2"]
        finally:
            await one.aclose()
            await two.aclose()

    assert asyncio.run(run()) == ((1, 1) if backend == "redis" else (1, 0))


async def _value(value: object) -> object:
    return value


@pytest.mark.interop
def test_redis_killed_then_back_degrades_once_and_recovers_once(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed: the first call that fails takes at most the timeout, then every call
    answers from local state at once, one warning; back: one line, wake-ups delivered
    (what was published meanwhile is not known), the live calls pushed again."""
    caplog.set_level(logging.WARNING, logger="dialtone.shared")

    async def run() -> None:
        one, two = await _open(redis.url, "w1"), await _open(redis.url, "w2")
        loop = asyncio.get_running_loop()
        woken = []
        try:
            calls = Calls()
            calls.of = {"u1": 1}
            one.live.attach(calls.count, calls.snapshot)
            two.bus.subscribe("wake:messages", lambda: woken.append(loop.time()))
            await two.bus.wait_subscribed()  # type: ignore[attr-defined]
            sip = two.failures("sip", allowed=0, window=60, block=60)
            await _until(lambda: _equals(two.live.elsewhere(["u1"]), [1]))
            redis.kill()
            started = loop.time()
            assert await two.live.elsewhere(["u1"]) == [0]  # its own calls only
            assert loop.time() - started < 0.5
            assert two.degraded
            assert two.health()["degraded"] is True
            started = loop.time()
            for _ in range(20):  # degraded: no waiting at all
                assert await sip.record_failure("192.0.2.9", 1000, username="x") in (
                    True,
                    False,
                )
                assert await sip.blocked("192.0.2.9", 1001)  # the local counter's block
            assert loop.time() - started < 0.1
            redis.start()  # the same port
            await _until(lambda: _value(not two.degraded and not one.degraded), timeout=5)
            await _until(lambda: _value(bool(woken)), timeout=5)
            await _until(lambda: _equals(two.live.elsewhere(["u1"]), [1]), timeout=5)
        finally:
            await one.aclose()
            await two.aclose()

    asyncio.run(run())
    lines = [r.getMessage() for r in caplog.records if r.name == "dialtone.shared"]
    # One of each per worker: w2 saw it in a call, w1 in its pub/sub or heartbeat.
    assert 1 <= sum("degraded" in line for line in lines) <= 2
    assert sum("recovered" in line for line in lines) == sum("degraded" in line for line in lines)


def test_an_unreachable_redis_stops_the_start_with_one_line() -> None:
    from tests.interop.conftest import free_port

    port = free_port(__import__("socket").SOCK_STREAM)
    url = f"redis://:hunter2@127.0.0.1:{port}/0"

    async def run() -> None:
        await _open(url, "w1")

    with pytest.raises(SharedStateError) as raised:
        asyncio.run(run())
    text = str(raised.value)
    assert "\n" not in text
    assert "hunter2" not in text
    assert f"127.0.0.1:{port}" in text
    assert "redis_url" in text


def test_in_process_shares_nothing_and_keeps_the_per_process_nonce() -> None:
    async def run() -> SharedState:
        shared = await _open(None, "w1")
        await shared.aclose()
        return shared

    shared = asyncio.run(run())
    assert shared.backend == "in_process"
    assert shared.nonce_secret is None
    assert shared.degraded is False
