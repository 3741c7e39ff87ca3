"""Brute-force limiting per source address (TERMS D2) at its boundaries."""

from __future__ import annotations

import pytest

from dialtone.sip.auth_limiter import FailureLimiter


def limiter(**kw: float) -> FailureLimiter:
    return FailureLimiter(
        allowed=int(kw.get("allowed", 3)),
        window=kw.get("window", 60.0),
        block=kw.get("block", 300.0),
        max_keys=int(kw.get("max_keys", 1000)),
    )


@pytest.mark.parametrize(("failures", "blocked"), [(2, False), (3, False), (4, True)])
def test_allowed_failures_in_the_window(failures: int, blocked: bool) -> None:
    lim = limiter(allowed=3)
    results = [lim.record_failure("1.2.3.4", float(i)) for i in range(failures)]
    assert results[-1] is blocked
    assert lim.blocked("1.2.3.4", float(failures)) is blocked
    assert not lim.blocked("5.6.7.8", float(failures))


def test_failures_spread_over_more_than_the_window_do_not_add_up() -> None:
    lim = limiter(allowed=3, window=60.0)
    assert not any(lim.record_failure("k", t) for t in (0.0, 30.0, 59.0, 60.0, 90.0))


@pytest.mark.parametrize(("after", "blocked"), [(299.999, True), (300.0, False), (301.0, False)])
def test_block_lasts_exactly_block_seconds(after: float, blocked: bool) -> None:
    lim = limiter(allowed=1, block=300.0)
    lim.record_failure("k", 0.0)
    assert lim.record_failure("k", 1.0)
    assert lim.blocked("k", 1.0 + after) is blocked


def test_success_clears_failures() -> None:
    lim = limiter(allowed=2)
    lim.record_failure("k", 0.0)
    lim.record_failure("k", 1.0)
    lim.record_success("k", 2.0)
    assert not lim.record_failure("k", 3.0)
    assert not lim.record_failure("k", 4.0)
    assert lim.record_failure("k", 5.0)


def test_memory_is_bounded() -> None:
    lim = limiter(allowed=5, max_keys=10)
    for n in range(100):
        lim.record_failure(f"10.0.0.{n}", 0.0)
    assert len(lim._failures) == 10
