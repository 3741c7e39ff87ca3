"""TERMS F1/V13 short calls, F2 usage rate, F5 sanctions: every limit just under, at
and just over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dialtone.policy.fraud import (
    AbuseState,
    is_short_call,
    sanction,
    short_call_day,
    short_calls_month,
    standing,
    usage_rate,
    usage_reasonable,
)


@pytest.mark.parametrize(
    ("seconds", "short"),
    [("0", True), ("14.999", True), ("15", False), ("15.001", False)],
)
def test_a_short_call_is_under_15_seconds(seconds: str, short: bool) -> None:
    assert is_short_call(Decimal(seconds)) is short


@pytest.mark.parametrize(
    ("short_calls", "users", "counts"),
    [
        (60, 1, False),  # at 60 per user: not more than 60
        (61, 1, True),
        (120, 2, False),
        (121, 2, True),  # 60.5 per user
        (59, 0, False),  # no users: one, for the average
        (61, 0, True),
    ],
)
def test_f1_a_day_counts_over_60_short_calls_per_user(
    short_calls: int, users: int, counts: bool
) -> None:
    assert short_call_day(short_calls, users) is counts


@pytest.mark.parametrize(
    ("days", "code"), [(2, None), (3, "fair_use.short_calls"), (4, "fair_use.short_calls")]
)
def test_f1_three_days_in_a_month(days: int, code: str | None) -> None:
    decision = short_calls_month(days, month="2026-11")
    assert decision.code == code
    if code is not None:
        assert (decision.rule, decision.details["flagged_days"]) == ("F1", days)


def test_f2_usage_rate() -> None:
    assert usage_rate(Decimal(3600), Decimal(36000)) == Decimal("0.1")
    with pytest.raises(ValueError, match="period"):
        usage_rate(Decimal(1), Decimal(0))


@pytest.mark.parametrize(
    ("account", "everyone", "code"),
    [
        ("0.49", "0.1", None),  # 4.9 times
        ("0.5", "0.1", "fair_use.usage_excessive"),  # at 5 times: not under
        ("0.51", "0.1", "fair_use.usage_excessive"),
        ("0.9", "0", None),  # no reference: nothing to compare with
    ],
)
def test_f2_under_five_times_the_average(account: str, everyone: str, code: str | None) -> None:
    decision = usage_reasonable(Decimal(account), Decimal(everyone))
    assert decision.code == code
    if code is not None:
        assert decision.rule == "F2"


T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("abusing", "state", "now", "expected"),
    [
        (False, AbuseState(), T0, "none"),
        (True, AbuseState(), T0, "suspend"),
        (True, AbuseState(suspended_at=T0), T0 + WEEK - SECOND, "suspended"),
        (True, AbuseState(suspended_at=T0), T0 + WEEK, "terminate"),  # 7 days, not remedied
        (False, AbuseState(suspended_at=T0, remedied=True), T0 + WEEK, "none"),
        (True, AbuseState(suspended_at=T0, remedied=True), T0 + WEEK + SECOND, "none"),
    ],
)
def test_f5_suspend_for_seven_days_then_terminate(
    abusing: bool, state: AbuseState, now: datetime, expected: str
) -> None:
    assert sanction(abusing, state, now) == expected


S0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SEVEN = timedelta(days=7)
TICK = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("state", "now", "code"),
    [
        (AbuseState(), S0, None),
        (AbuseState(suspended_at=S0), S0, "fair_use.suspended"),
        (AbuseState(suspended_at=S0), S0 + SEVEN - TICK, "fair_use.suspended"),
        (AbuseState(suspended_at=S0), S0 + SEVEN, "fair_use.terminated"),  # unremedied
        (AbuseState(suspended_at=S0), S0 + SEVEN + TICK, "fair_use.terminated"),
        (AbuseState(suspended_at=S0, remedied=True), S0 + SEVEN - TICK, "fair_use.suspended"),
        (AbuseState(suspended_at=S0, remedied=True), S0 + SEVEN, None),  # resumes
        (
            AbuseState(suspended_at=S0, terminated_at=S0 + SEVEN),
            S0 + SEVEN * 9,
            "fair_use.terminated",
        ),
        (AbuseState(terminated_at=S0), S0, "fair_use.terminated"),
    ],
)
def test_f5_standing_of_outbound_calls(state: AbuseState, now: datetime, code: str | None) -> None:
    decision = standing(state, now)
    assert decision.code == code
    if code is not None:
        assert (decision.rule, decision.sip_status()) == ("F5", 403)
