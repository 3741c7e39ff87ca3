"""The failure counters (TERMS D2) of both implementations, against the same table:
just under, at and just over the limit, the window's edge, the block's edge, a success
that forgets its own username only, failures during a block; and Redis's shared by two
workers."""

from __future__ import annotations

import asyncio

import pytest

from dialtone.runtime.shared import FailureCounter, SharedState, open_shared
from tests.runtime.shared.conftest import BACKENDS, KEY, settings_for

ALLOWED, WINDOW, BLOCK = 3, 10.0, 30.0

# (operation, at, username, expected): "f" a failure (expected: it starts a block),
# "s" a success, "b" the question "blocked?".
Step = tuple[str, float, str, bool | None]
CASES: dict[str, list[Step]] = {
    "just under the limit": [
        ("f", 0, "a", False),
        ("f", 1, "a", False),
        ("f", 2, "a", False),
        ("b", 2, "", False),
    ],
    "just over the limit blocks": [
        ("f", 0, "a", False),
        ("f", 1, "a", False),
        ("f", 2, "a", False),
        ("f", 3, "a", True),
        ("b", 3, "", True),
    ],
    "a failure exactly a window old no longer counts": [
        ("f", 0, "a", False),
        ("f", 1, "a", False),
        ("f", 2, "a", False),
        ("f", 10, "a", False),
        ("b", 10, "", False),
    ],
    "just inside the window it still counts": [
        ("f", 0, "a", False),
        ("f", 1, "a", False),
        ("f", 2, "a", False),
        ("f", 9.999, "a", True),
    ],
    "the block ends exactly at its length": [
        *[("f", float(t), "a", t == 3) for t in range(4)],
        ("b", 32.999, "", True),
        ("b", 33, "", False),
        ("f", 33, "a", False),  # counting starts again from nothing
        ("b", 33, "", False),
    ],
    "failures during a block neither count nor extend it": [
        *[("f", float(t), "a", t == 3) for t in range(4)],
        ("f", 20, "a", False),
        ("f", 21, "a", False),
        ("b", 33, "", False),
    ],
    "a success forgets its own username only": [
        ("f", 0, "victim", False),
        ("f", 1, "victim", False),
        ("f", 2, "mine", False),
        ("s", 3, "mine", None),  # the attacker's own phone registers
        ("f", 4, "victim", False),  # victim ×3: at the limit, not over
        ("f", 5, "victim", True),  # victim ×4: over
    ],
    "a success forgets all of its own failures": [
        ("f", 0, "a", False),
        ("f", 1, "a", False),
        ("f", 2, "a", False),
        ("s", 3, "a", None),
        ("f", 4, "a", False),
        ("f", 5, "a", False),
        ("f", 6, "a", False),
        ("b", 6, "", False),
    ],
    "a success does not lift a block": [
        *[("f", float(t), "a", t == 3) for t in range(4)],
        ("s", 4, "a", None),
        ("b", 4, "", True),
    ],
}


async def _shared(backend: str, url: str | None, worker: str) -> SharedState:
    return await open_shared(
        settings_for(url if backend == "redis" else None), worker_id=worker, platform_key=KEY
    )


async def _play(counter: FailureCounter, steps: list[Step], key: str) -> list[object]:
    got: list[object] = []
    for op, at, username, _ in steps:
        if op == "f":
            got.append(await counter.record_failure(key, 1000 + at, username=username))
        elif op == "s":
            got.append(await counter.record_success(key, 1000 + at, username=username))
        else:
            got.append(await counter.blocked(key, 1000 + at))
    return got


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_the_table(backend: str, case: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("redis").url if backend == "redis" else None

    async def run() -> list[object]:
        shared = await _shared(backend, url, "w1")
        try:
            counter = shared.failures("sip", allowed=ALLOWED, window=WINDOW, block=BLOCK)
            return await _play(counter, CASES[case], "192.0.2.7")
        finally:
            await shared.aclose()

    assert asyncio.run(run()) == [expected for *_, expected in CASES[case]]


@pytest.mark.interop
@pytest.mark.parametrize("case", list(CASES))
def test_two_workers_count_one_source_together(case: str, redis: object) -> None:
    """The same table, the steps spread over two workers in turn: a source blocked on one
    is blocked on the other (issue 19)."""
    url = redis.url  # type: ignore[attr-defined]

    async def run() -> list[object]:
        one = await _shared("redis", url, "w1")
        two = await _shared("redis", url, "w2")
        try:
            counters = [
                s.failures("sip", allowed=ALLOWED, window=WINDOW, block=BLOCK) for s in (one, two)
            ]
            got: list[object] = []
            for i, step in enumerate(CASES[case]):
                got += await _play(counters[i % 2], [step], "192.0.2.8")
            return got
        finally:
            await one.aclose()
            await two.aclose()

    assert asyncio.run(run()) == [expected for *_, expected in CASES[case]]


@pytest.mark.interop
def test_scopes_and_keys_are_apart(redis: object) -> None:
    url = redis.url  # type: ignore[attr-defined]

    async def run() -> tuple[bool, bool, bool]:
        shared = await _shared("redis", url, "w1")
        try:
            sip = shared.failures("sip", allowed=0, window=WINDOW, block=BLOCK)
            smpp = shared.failures("smpp", allowed=0, window=WINDOW, block=BLOCK)
            assert await sip.record_failure("192.0.2.1", 1000, username="a")
            return (
                await sip.blocked("192.0.2.1", 1001),
                await sip.blocked("192.0.2.2", 1001),
                await smpp.blocked("192.0.2.1", 1001),
            )
        finally:
            await shared.aclose()

    assert asyncio.run(run()) == (True, False, False)


@pytest.mark.interop
def test_usernames_are_kept_hashed(redis: object) -> None:
    """No username in Redis: a scanner's guesses are not stored in clear (D4)."""
    url = redis.url  # type: ignore[attr-defined]

    async def run() -> None:
        shared = await _shared("redis", url, "w1")
        try:
            counter = shared.failures("sip", allowed=5, window=WINDOW, block=BLOCK)
            await counter.record_failure("192.0.2.3", 1000, username="alice-secret-name")
        finally:
            await shared.aclose()

    asyncio.run(run())
    dump = redis.command("KEYS", "*")  # type: ignore[attr-defined]
    assert b"192.0.2.3" in dump
    members = redis.command("ZRANGE", "dialtone:auth:sip:failures:192.0.2.3", "0", "-1")  # type: ignore[attr-defined]
    assert b"alice" not in members
    assert members.count(b":") == 1
