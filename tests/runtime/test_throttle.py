"""A carrier bind's rate: slots spaced at 1/rate, a burst after a quiet time, callers in
the order they asked, and a pause (ESME_RTHROTTLED) holding every later slot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.runtime.throttle import RateLimit


def test_slots_are_spaced_at_the_rate() -> None:
    rate = RateLimit(10)
    assert [rate.reserve(100.0) for _ in range(4)] == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_a_burst_goes_at_once_after_a_quiet_time() -> None:
    rate = RateLimit(10, burst=3)
    assert [rate.reserve(100.0) for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.1])
    # One second later the bucket is full again.
    assert [rate.reserve(101.0) for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.1])


def test_a_pause_holds_every_later_slot() -> None:
    rate = RateLimit(100)
    assert rate.reserve(5.0) == 0.0
    rate.pause(6.0)
    assert rate.reserve(5.0) == pytest.approx(1.0)
    assert rate.reserve(5.0) == pytest.approx(1.01)
    assert rate.reserve(7.0) == 0.0  # the pause is over


@pytest.mark.parametrize("rate", [0, -1])
def test_a_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimit(rate)


@given(
    rate=st.integers(min_value=1, max_value=10_000),
    burst=st.integers(min_value=1, max_value=100),
    gaps=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=200),
)
def test_never_more_than_the_rate_plus_the_burst(rate: int, burst: int, gaps: list[float]) -> None:
    limit = RateLimit(rate, burst=burst)
    now, starts = 0.0, []
    for gap in gaps:
        now += gap
        starts.append(now + limit.reserve(now))
    assert starts == sorted(starts)  # in the order they asked
    window = 1.0
    for index, start in enumerate(starts):
        inside = sum(1 for s in starts[index:] if s < start + window)
        assert inside <= rate * window + burst + 1e-9
