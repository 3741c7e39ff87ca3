"""The look-up cache: fresh for its lifetime, never after, off at zero, bounded."""

from __future__ import annotations

import asyncio

import pytest

from dialtone.runtime import lookups
from dialtone.runtime.lookups import LookupCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("age", "hit"), [(0.0, True), (0.999, True), (1.0, False), (1.5, False)])
def test_entries_live_their_lifetime(age: float, hit: bool) -> None:
    clock = Clock()
    cache = LookupCache(1.0, clock)
    cache.put(("route", "+33123456789"), "user")
    clock.now += age
    assert cache.get(("route", "+33123456789")) == ((True, "user") if hit else (False, None))


def test_none_is_a_value_too() -> None:
    cache = LookupCache(1.0, Clock())
    cache.put(("trunk", "192.0.2.1", 5060), None)
    assert cache.get(("trunk", "192.0.2.1", 5060)) == (True, None)
    assert cache.get(("trunk", "192.0.2.1", 5061)) == (False, None)


def test_zero_seconds_turns_it_off() -> None:
    cache = LookupCache(0.0, Clock())
    cache.put("k", 1)
    assert cache.get("k") == (False, None)


def test_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookups, "MAX_ENTRIES", 3)
    clock = Clock()
    cache = LookupCache(1.0, clock)
    for key in "abc":
        cache.put(key, key)
    clock.now += 2  # a, b, c expire
    cache.put("d", "d")
    assert cache.get("d") == (True, "d")
    assert cache.get("a") == (False, None)
    for key in "efg":
        cache.put(key, key)
    assert len(cache._entries) <= 3


class Reads:
    """A look-up whose reads wait for ``release``; counts them."""

    def __init__(self, *values: object) -> None:
        self.values = list(values)
        self.count = 0
        self.release = asyncio.Event()
        self.failure: Exception | None = None

    async def __call__(self) -> object:
        self.count += 1
        value = self.values.pop(0)
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        return value


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_concurrent_misses_share_one_read() -> None:
    async def main() -> None:
        cache = LookupCache(1.0, Clock())
        load = Reads("user")
        waiting = [asyncio.create_task(cache.fetch("k", load)) for _ in range(50)]
        await settle()
        assert load.count == 1
        load.release.set()
        assert await asyncio.gather(*waiting) == ["user"] * 50
        assert (load.count, cache.reads, cache.misses) == (1, 1, 50)
        assert await cache.fetch("k", load) == "user"  # kept: no second read
        assert cache.get("k") == (True, "user")

    asyncio.run(main())


def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    async def main() -> None:
        cache = LookupCache(1.0, Clock())
        load = Reads("first", "second")
        load.failure = RuntimeError("database gone")
        waiting = [asyncio.create_task(cache.fetch("k", load)) for _ in range(5)]
        await settle()
        load.release.set()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        assert load.count == 1
        assert cache.get("k") == (False, None)
        load.failure = None
        assert await cache.fetch("k", load) == "second"  # read again
        assert load.count == 2

    asyncio.run(main())


def test_clear_during_a_read_keeps_its_value_out() -> None:
    async def main() -> None:
        cache = LookupCache(1.0, Clock())
        stale = Reads("before the change")
        first = asyncio.create_task(cache.fetch("k", stale))
        await settle()
        cache.clear()  # the configuration changed while the read was on its way
        fresh = Reads("after the change")
        second = asyncio.create_task(cache.fetch("k", fresh))  # does not join the old read
        await settle()
        stale.release.set()
        assert await first == "before the change"
        assert cache.get("k") == (False, None)
        fresh.release.set()
        assert await second == "after the change"
        assert (stale.count, fresh.count) == (1, 1)
        assert cache.get("k") == (True, "after the change")

    asyncio.run(main())


def test_a_value_lives_from_the_start_of_its_read() -> None:
    async def main() -> None:
        clock = Clock()
        cache = LookupCache(1.0, clock)
        load = Reads("v")
        reading = asyncio.create_task(cache.fetch("k", load))
        await settle()
        clock.now += 0.4  # a slow read: a change made during it may be missing
        load.release.set()
        await reading
        clock.now += 0.6
        assert cache.get("k") == (False, None)  # one second after the read began

    asyncio.run(main())


def test_a_hot_entry_is_refreshed_before_it_expires() -> None:
    async def main() -> None:
        clock = Clock()
        cache = LookupCache(1.0, clock)
        cache.put("k", "old")
        load = Reads("new", "never")
        clock.now += 0.5
        assert await cache.fetch("k", load) == "old"  # not yet near its end
        assert load.count == 0
        clock.now += 0.35  # in the last fifth of its life
        hits = [await cache.fetch("k", load) for _ in range(10)]
        assert hits == ["old"] * 10  # served while the refresh runs
        await settle()
        assert load.count == 1  # one refresh in flight, not ten
        load.release.set()
        await settle()
        clock.now += 0.5  # past the old entry's end: the refreshed one answers
        assert await cache.fetch("k", load) == "new"
        assert (cache.misses, cache.refreshes, load.count) == (0, 1, 1)

    asyncio.run(main())


def test_a_failed_refresh_leaves_the_entry_to_expire() -> None:
    async def main() -> None:
        clock = Clock()
        cache = LookupCache(1.0, clock)
        cache.put("k", "old")
        load = Reads("lost")
        load.failure = RuntimeError("database gone")
        load.release.set()
        clock.now += 0.9
        assert await cache.fetch("k", load) == "old"
        await settle()
        assert load.count == 1  # the refresh was tried
        assert cache.get("k") == (True, "old")
        clock.now += 0.1
        assert cache.get("k") == (False, None)

    asyncio.run(main())


def test_a_cancelled_waiter_leaves_the_read_to_the_others() -> None:
    async def main() -> None:
        cache = LookupCache(1.0, Clock())
        load = Reads("v")
        first = asyncio.create_task(cache.fetch("k", load))
        second = asyncio.create_task(cache.fetch("k", load))
        await settle()
        first.cancel()  # the call that started the read went away
        await settle()
        load.release.set()
        assert await second == "v"
        assert first.cancelled()
        assert cache.get("k") == (True, "v")

    asyncio.run(main())


def test_a_value_keep_rejects_is_shared_not_kept() -> None:
    async def main() -> None:
        cache = LookupCache(1.0, Clock())
        load = Reads("fresh-only")
        load.release.set()
        assert await cache.fetch("k", load, keep=lambda value: False) == "fresh-only"
        assert cache.get("k") == (False, None)

    asyncio.run(main())


def test_fetch_reads_every_time_when_off() -> None:
    async def main() -> None:
        cache = LookupCache(0.0, Clock())
        load = Reads("a", "b")
        load.release.set()
        assert [await cache.fetch("k", load), await cache.fetch("k", load)] == ["a", "b"]

    asyncio.run(main())
