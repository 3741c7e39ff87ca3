"""The look-up cache: fresh for its lifetime, never after, off at zero, bounded."""

from __future__ import annotations

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
