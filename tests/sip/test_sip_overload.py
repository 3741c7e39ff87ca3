"""The overload controller (issue 14): its marks at their boundaries, the hysteresis, the
window on setups, the admitted fraction, REGISTERs, Retry-After and the summary."""

from __future__ import annotations

import pytest

from dialtone.sip.overload import (
    DECREASE,
    INCREASE,
    SUSTAINED,
    Load,
    OverloadController,
    OverloadLimits,
)

LIMITS = OverloadLimits(
    lag_high=0.15,
    lag_low=0.05,
    setups_high=300,
    setups_low=150,
    jobs_high=500,
    jobs_low=100,
    hold=1.0,
    react=0.3,
    min_admit=0.05,
    retry_after=2,
)
QUIET = Load(0.0, 0, 0)


def over_twice(controller: OverloadController, load: Load, now: float = 10.0) -> None:
    """:data:`SUSTAINED` measurements in a row at ``load``, 50 ms apart, the last one at
    ``now + 0.05``."""
    for n in range(SUSTAINED):
        controller.observe(load, now + 0.05 * (n + 2 - SUSTAINED))


@pytest.mark.parametrize(
    ("load", "cut"),
    [
        (Load(0.1499, 0, 0), False),  # lag just under its high mark
        (Load(0.15, 0, 0), True),  # at it
        (Load(0.1501, 0, 0), True),  # just over
        (Load(0.0, 0, 499), False),  # jobs just under
        (Load(0.0, 0, 500), True),  # at
        (Load(0.0, 0, 501), True),  # just over
        # Setups have their window, not the fraction: even far over they do not cut it.
        (Load(0.0, 10_000, 0), False),
    ],
)
def test_the_fraction_is_cut_at_each_high_mark(load: Load, cut: bool) -> None:
    controller = OverloadController(LIMITS)
    over_twice(controller, load)
    assert controller.admitting == (DECREASE if cut else 1.0)
    assert controller.shedding is cut


@pytest.mark.parametrize("in_a_row", [SUSTAINED - 1, SUSTAINED, SUSTAINED + 1])
def test_only_a_sustained_overload_cuts(in_a_row: int) -> None:
    # A garbage collection makes a timer late once; only SUSTAINED measurements in a row
    # (150 ms) cut, and a measurement in the band between restarts the count.
    controller = OverloadController(LIMITS)
    for n in range(SUSTAINED - 1):
        controller.observe(Load(1.0, 0, 0), 9.0 + 0.05 * n)
    controller.observe(Load(0.1, 0, 0), 9.5)
    assert controller.admitting == 1.0
    for n in range(in_a_row):
        controller.observe(Load(1.0, 0, 0), 10.0 + 0.05 * n)
    assert controller.admitting == (1.0 if in_a_row < SUSTAINED else DECREASE)


def test_cuts_are_spaced_by_react_and_floored() -> None:
    controller = OverloadController(LIMITS)
    busy = Load(1.0, 0, 0)
    over_twice(controller, busy, 10.0)  # cut at 10.05
    controller.observe(busy, 10.05 + 0.2999)  # react not yet over
    assert controller.admitting == DECREASE
    controller.observe(busy, 10.05 + 0.3)
    assert controller.admitting == pytest.approx(DECREASE**2)
    now = 11.0
    for _ in range(100):
        now += 0.3
        controller.observe(busy, now)
    assert controller.admitting == LIMITS.min_admit


def test_no_further_cut_while_the_measures_improve() -> None:
    controller = OverloadController(LIMITS)
    over_twice(controller, Load(0.28, 0, 0), 10.0)  # cut at 10.05, under twice the mark
    controller.observe(Load(0.25, 0, 0), 10.4)  # still over, but draining: held
    assert controller.admitting == DECREASE
    controller.observe(Load(0.0, 0, 450), 10.8)  # jobs at 0.9 of their mark: not over
    over_twice(controller, Load(0.2, 0, 0), 11.2)  # over again: a new episode
    assert controller.admitting == pytest.approx(DECREASE**2)
    controller.observe(Load(0.21, 0, 0), 11.6)  # getting worse: cut
    assert controller.admitting == pytest.approx(DECREASE**3)
    controller.observe(Load(0.0, 0, 700), 11.95)  # jobs 1.4 times their mark: worse
    assert controller.admitting == pytest.approx(DECREASE**4)


@pytest.mark.parametrize(
    ("lag", "cut"),
    [(0.2999, False), (0.3, True), (0.3001, True)],  # improving, around twice the mark
)
def test_far_over_the_mark_cuts_go_on_even_while_improving(lag: float, cut: bool) -> None:
    controller = OverloadController(LIMITS)
    over_twice(controller, Load(0.9, 0, 0), 10.0)  # cut at 10.05, six times the mark
    controller.observe(Load(lag, 0, 0), 10.4)  # better, but still this far over
    assert controller.admitting == pytest.approx(DECREASE**2 if cut else DECREASE)


def cut_once(at: float = 10.0) -> OverloadController:
    controller = OverloadController(LIMITS)
    over_twice(controller, Load(1.0, 0, 0), at)
    assert controller.admitting == DECREASE
    return controller


@pytest.mark.parametrize(
    ("load", "raised"),
    [
        (Load(0.0499, 0, 0), True),  # every measure under its low mark
        (Load(0.05, 0, 0), False),  # lag at its low mark: in the band
        (Load(0.0, 149, 0), True),  # setups just under
        (Load(0.0, 150, 0), False),  # at
        (Load(0.0, 0, 99), True),  # jobs just under
        (Load(0.0, 0, 100), False),  # at
        (Load(0.1, 0, 0), False),  # between the marks: held
    ],
)
def test_the_fraction_is_raised_only_under_every_low_mark(load: Load, raised: bool) -> None:
    controller = cut_once()
    controller.observe(load, 10.05 + LIMITS.hold)
    assert controller.admitting == pytest.approx(DECREASE + INCREASE if raised else DECREASE)


@pytest.mark.parametrize(("after", "raised"), [(0.999, False), (1.0, True), (1.001, True)])
def test_the_fraction_waits_hold_seconds_after_the_last_overload(
    after: float, raised: bool
) -> None:
    controller = cut_once()
    controller.observe(QUIET, 10.05 + after)
    assert controller.admitting == pytest.approx(DECREASE + INCREASE if raised else DECREASE)


def test_every_overload_restarts_the_hold() -> None:
    controller = cut_once()
    controller.observe(Load(0.1, 0, 0), 10.5)  # in the band
    controller.observe(Load(1.0, 0, 0), 10.8)  # over again, once: no second cut
    controller.observe(QUIET, 10.05 + LIMITS.hold)  # 1 s after the cut, 0.25 s after 10.8
    assert controller.admitting == DECREASE
    controller.observe(QUIET, 10.8 + LIMITS.hold)
    assert controller.admitting == pytest.approx(DECREASE + INCREASE)


def test_recovery_climbs_back_to_admitting_everything() -> None:
    controller = cut_once()
    now = 10.05 + LIMITS.hold
    steps = 0
    while controller.shedding and steps < 100:
        controller.observe(QUIET, now)
        now += LIMITS.react
        steps += 1
    assert controller.admitting == 1.0
    assert steps == round((1 - DECREASE) / INCREASE)  # in steps of INCREASE, capped at 1


@pytest.mark.parametrize(
    ("setups", "admitted"),
    [(299, True), (300, False), (301, False)],  # just under, at, just over the window
)
def test_the_setup_window(setups: int, admitted: bool) -> None:
    controller = OverloadController(LIMITS)
    verdict = controller.admit_invite(setups)
    assert verdict.admit is admitted
    assert verdict.retry_after == (0 if admitted else 2)


def test_the_fraction_admits_exactly_its_share_in_turn() -> None:
    controller = OverloadController(LIMITS)
    controller.admitting = 0.25
    admitted = [controller.admit_invite(0).admit for _ in range(12)]
    assert admitted == [False, False, False, True] * 3


def test_after_the_first_cut_the_share_starts_with_an_admission() -> None:
    controller = cut_once()  # admitting DECREASE (0.7)
    admitted = [controller.admit_invite(0).admit for _ in range(10)]
    assert admitted == [True, True, True, False, True, True, False, True, True, True]
    assert sum(admitted) == int(1 + DECREASE * 10)  # a full credit, then DECREASE each


def test_the_window_applies_while_the_fraction_admits() -> None:
    controller = OverloadController(LIMITS)
    controller.admitting = 0.5
    results = [controller.admit_invite(300).admit for _ in range(4)]
    assert results == [False] * 4
    # Shed by the window, an INVITE takes no credit: the fraction starts where it was.
    assert [controller.admit_invite(0).admit for _ in range(2)] == [False, True]


@pytest.mark.parametrize(("jobs", "admitted"), [(499, True), (500, False), (501, False)])
def test_registers_are_shed_only_at_the_database_mark(jobs: int, admitted: bool) -> None:
    controller = OverloadController(LIMITS)
    controller.admitting = LIMITS.min_admit  # new calls mostly shed: REGISTERs still in
    assert controller.admit_register(jobs).admit is admitted


def test_retry_after_spreads_from_base_to_twice_base() -> None:
    controller = OverloadController(LIMITS)
    values = [controller.admit_invite(1000).retry_after for _ in range(6)]
    assert values == [2, 3, 4, 2, 3, 4]
    zero = OverloadController(OverloadLimits(retry_after=0))
    assert {zero.admit_invite(10_000).retry_after for _ in range(3)} == {0}


def test_the_summary_comes_every_period_while_shedding() -> None:
    controller = OverloadController(LIMITS, now=0.0)
    controller.observe(QUIET, 100.0)
    assert controller.summary(100.0, 10.0) is None  # nothing shed: period restarts
    for _ in range(3):
        controller.admit_invite(1000)
    controller.admit_register(1000)
    controller.observe(Load(0.4, 0, 0), 105.0)
    assert controller.summary(109.99, 10.0) is None
    summary = controller.summary(110.0, 10.0)
    assert summary is not None
    assert (summary.seconds, summary.invites, summary.registers) == (10.0, 3, 1)
    assert summary.max_lag == 0.4
    assert controller.summary(120.0, 10.0) is None  # nothing shed since


@pytest.mark.parametrize(
    "bad",
    [
        {"lag_low": 0.2, "lag_high": 0.1},
        {"setups_low": 11, "setups_high": 10},
        {"jobs_low": 11, "jobs_high": 10},
        {"min_admit": 0.0},
        {"retry_after": -1},
        {"hold": -1.0},
        {"lag_low": 0.0, "lag_high": 0.0},
        {"setups_low": 0, "setups_high": 0},
        {"jobs_low": 0, "jobs_high": 0},
    ],
)
def test_limits_refuse_marks_in_the_wrong_order(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="overload"):
        OverloadLimits(**bad)  # type: ignore[arg-type]


def test_marks_may_be_equal() -> None:
    limits = OverloadLimits(lag_low=0.1, lag_high=0.1, setups_low=5, setups_high=5)
    controller = OverloadController(limits)
    assert controller.under(Load(0.0999, 4, 0))
    assert not controller.under(Load(0.1, 4, 0))
    assert controller.over(Load(0.1, 0, 0))
