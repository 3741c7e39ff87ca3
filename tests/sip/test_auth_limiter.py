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


# -- a success forgets only its own username's failures (issue 13, item 3) ---------------


@pytest.mark.parametrize(
    ("failures_for_a", "over"),
    [
        (2, False),  # allowed - 1 failures for A, then B's success, then one more for A
        (3, True),  # allowed: the next failure for A is the (allowed + 1)-th
        (4, True),  # over (blocked already before the success)
    ],
)
def test_a_success_for_another_username_keeps_the_source_count(
    failures_for_a: int, over: bool
) -> None:
    lim = limiter(allowed=3)
    t = 0.0
    for _ in range(failures_for_a):
        lim.record_failure(SOURCE, t, username="alice")
        t += 1
    lim.record_success(SOURCE, t, username="mallory")
    t += 1
    lim.record_failure(SOURCE, t, username="alice")
    assert lim.blocked(SOURCE, t) is over


@pytest.mark.parametrize(
    ("before", "over"),
    [
        # The usernames failing before bob's success; then one failure for carol.
        # bob's own failures are forgotten by bob's success, the others' still count.
        (("bob", "bob", "alice"), False),  # 1 kept + 1: under
        (("alice", "bob", "alice"), False),  # 2 kept + 1 = allowed
        (("alice", "alice", "alice"), True),  # 3 kept + 1 = allowed + 1
        (("bob", "bob", "bob"), False),  # 0 kept + 1
    ],
)
def test_a_success_forgets_its_own_usernames_failures(before: tuple[str, ...], over: bool) -> None:
    lim = limiter(allowed=3)
    for t, name in enumerate(before):
        assert not lim.record_failure(SOURCE, float(t), username=name)
    lim.record_success(SOURCE, 10.0, username="bob")
    assert lim.record_failure(SOURCE, 11.0, username="carol") is over
    assert lim.blocked(SOURCE, 11.0) is over


def test_the_attack_of_issue_13_is_blocked() -> None:
    """From one address: 9 wrong REGISTERs for A, one right for the attacker's own B, six
    times over. With the defaults (10 in 60 s) the 11th guess at A is blocked."""
    lim = limiter(allowed=10, window=60.0, block=300.0)
    t = 0.0
    guesses = 0
    blocked_at = None
    for _ in range(6):
        for _ in range(9):
            if lim.blocked(SOURCE, t):
                blocked_at = blocked_at or guesses
                break
            guesses += 1
            lim.record_failure(SOURCE, t, username="alice")
            t += 0.1
        if not lim.blocked(SOURCE, t):
            lim.record_success(SOURCE, t, username="mallory")
        t += 0.1
    assert blocked_at == 11
    assert lim.blocked(SOURCE, t)


def test_the_owner_fixing_a_mistyped_password_is_forgiven() -> None:
    # A phone with a wrong password retried, then its user typed the right one: its
    # failures are forgotten, as before.
    lim = limiter(allowed=3)
    for t in (0.0, 1.0, 2.0):
        lim.record_failure(SOURCE, t, username="alice")
    lim.record_success(SOURCE, 3.0, username="alice")
    assert len(lim) == 0
    assert [lim.record_failure(SOURCE, t, username="alice") for t in (4, 5, 6, 7)] == [
        False,
        False,
        False,
        True,
    ]
