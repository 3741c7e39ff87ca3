"""Brute-force limiting of digest failures per source address (TERMS D2) at its boundaries."""

from __future__ import annotations

import pytest

from dialtone.sip.auth_limiter import FailureLimiter

SOURCE = "192.0.2.7"


def limiter(
    *, allowed: int = 3, window: float = 60.0, block: float = 300.0, max_keys: int = 1000
) -> FailureLimiter:
    return FailureLimiter(allowed=allowed, window=window, block=block, max_keys=max_keys)


@pytest.mark.parametrize(
    ("failures", "over"),
    [
        (2, False),  # allowed - 1
        (3, False),  # allowed
        (4, True),  # allowed + 1
    ],
)
def test_allowed_failures_inside_the_window(failures: int, over: bool) -> None:
    lim = limiter(allowed=3)
    results = [lim.record_failure(SOURCE, float(i)) for i in range(failures)]
    assert results == [False] * (failures - 1) + [over]
    assert lim.blocked(SOURCE, float(failures)) is over
    assert not lim.blocked("198.51.100.1", float(failures))


@pytest.mark.parametrize(
    ("times", "over"),
    [
        ((0.0, 1.0, 2.0, 3.0), True),
        ((0.0, 20.0, 40.0, 59.999), True),  # all inside one window
        ((0.0, 20.0, 40.0, 60.0), False),  # the first is exactly a window old: gone
        ((0.0, 30.0, 59.0, 60.0, 90.0), False),  # never four inside 60 s
        ((0.0, 30.0, 60.0, 61.0, 62.0), True),  # the window slides: 30, 60, 61, 62
        ((0.0, 100.0, 200.0, 300.0, 400.0, 500.0), False),
    ],
)
def test_sliding_window(times: tuple[float, ...], over: bool) -> None:
    lim = limiter(allowed=3, window=60.0)
    results = [lim.record_failure(SOURCE, t) for t in times]
    assert results == [False] * (len(times) - 1) + [over]


@pytest.mark.parametrize(
    ("after", "blocked"),
    [
        (0.0, True),
        (299.999, True),  # just under
        (300.0, False),  # exactly block seconds
        (300.001, False),
        (10_000.0, False),
    ],
)
def test_block_lasts_exactly_block_seconds(after: float, blocked: bool) -> None:
    lim = limiter(allowed=1, block=300.0)
    assert not lim.record_failure(SOURCE, 0.0)
    assert lim.record_failure(SOURCE, 1.0)
    assert lim.blocked(SOURCE, 1.0 + after) is blocked


def test_failures_while_blocked_neither_count_nor_extend() -> None:
    lim = limiter(allowed=1, block=300.0)
    lim.record_failure(SOURCE, 0.0)
    assert lim.record_failure(SOURCE, 1.0)
    assert [lim.record_failure(SOURCE, t) for t in (2.0, 100.0, 300.0)] == [False] * 3
    assert not lim.blocked(SOURCE, 301.0)
    # A fresh count starts after the block.
    assert not lim.record_failure(SOURCE, 301.0)
    assert lim.record_failure(SOURCE, 302.0)
    assert lim.blocked(SOURCE, 302.0 + 299.9)


@pytest.mark.parametrize(
    ("allowed", "block", "first_over", "blocked_after"),
    [
        (0, 300.0, True, True),  # no failure allowed at all
        (1, 300.0, False, False),
        (0, 0.0, True, False),  # over the limit, but a zero-length block
    ],
)
def test_degenerate_settings(
    allowed: int, block: float, first_over: bool, blocked_after: bool
) -> None:
    lim = limiter(allowed=allowed, block=block)
    assert lim.record_failure(SOURCE, 5.0) is first_over
    assert lim.blocked(SOURCE, 5.0) is blocked_after


def test_success_clears_failures() -> None:
    lim = limiter(allowed=2)
    lim.record_failure(SOURCE, 0.0)
    lim.record_failure(SOURCE, 1.0)
    lim.record_success(SOURCE, 2.0)
    assert len(lim) == 0
    assert not lim.record_failure(SOURCE, 3.0)
    assert not lim.record_failure(SOURCE, 4.0)
    assert lim.record_failure(SOURCE, 5.0)


def test_success_does_not_lift_a_block() -> None:
    lim = limiter(allowed=0, block=300.0)
    assert lim.record_failure(SOURCE, 0.0)
    lim.record_success(SOURCE, 1.0)
    assert lim.blocked(SOURCE, 1.0)
    assert not lim.blocked(SOURCE, 300.0)
    lim.record_success("never-seen", 1.0)


def test_keys_are_independent() -> None:
    lim = limiter(allowed=1)
    lim.record_failure("a", 0.0)
    assert not lim.record_failure("b", 0.0)
    assert lim.record_failure("a", 1.0)
    assert not lim.blocked("b", 1.0)


@pytest.mark.parametrize(("keys", "remembered"), [(9, 9), (10, 10), (11, 10), (1000, 10)])
def test_memory_is_bounded_by_max_keys(keys: int, remembered: int) -> None:
    lim = limiter(allowed=5, max_keys=10)
    for n in range(keys):
        lim.record_failure(f"10.0.0.{n}", float(n) / 1000)
    assert len(lim) == remembered


def test_eviction_forgets_the_least_recently_failing() -> None:
    lim = limiter(allowed=1, max_keys=3)
    lim.record_failure("old", 0.0)
    lim.record_failure("mid", 1.0)
    lim.record_failure("new", 2.0)
    assert lim.record_failure("old", 3.0)  # "old" failed again: now the most recent
    lim.record_failure("extra", 4.0)  # evicts "mid"
    assert len(lim) == 3
    assert lim.blocked("old", 5.0)
    assert not lim.record_failure("mid", 5.0)  # its earlier failure was forgotten; evicts "new"
    assert not lim.record_failure("new", 6.0)  # forgotten too; evicts "extra"
    assert lim.record_failure("mid", 7.0)  # "mid" was kept


def test_expired_entries_are_dropped_lazily() -> None:
    lim = limiter(allowed=1, window=60.0, block=300.0)
    for n in range(50):
        lim.record_failure(f"10.0.0.{n}", 0.0)
    lim.record_failure("blocked", 0.0)
    assert lim.record_failure("blocked", 0.5)
    assert len(lim) == 51
    assert not lim.blocked("other", 60.0)  # failures a window old no longer matter
    assert len(lim) == 1
    assert not lim.blocked("blocked", 300.5)
    assert len(lim) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allowed": -1},
        {"window": 0.0},
        {"window": -1.0},
        {"block": -0.1},
        {"max_keys": 0},
    ],
)
def test_rejects_nonsense_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="need"):
        limiter(**kwargs)  # type: ignore[arg-type]
