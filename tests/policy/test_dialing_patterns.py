"""TERMS F4 autodialing, F3 redials and normal use, V3 one person per user account: every
threshold just under, at and just over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.policy.codes import reason
from dialtone.policy.decision import ALLOWED
from dialtone.policy.dialing_patterns import (
    CONCURRENT_ATTEMPTS,
    PACE_ATTEMPTS,
    PBX_USER_AGENTS,
    REDIALS_PER_DAY,
    SEQUENTIAL_RUN,
    Attempt,
    Registration,
    autodialing,
    nearest_rank,
    outside_normal_use,
    overlapping_attempts,
    pace_burst,
    pbx_agent,
    redial_pattern,
    sequential_run,
    shared_or_pbx,
)

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
BLOCK = 33612345600  # +33 6 12 34 56 00, the first number of a block


def _at(
    seconds: float,
    to: str,
    *,
    duration: str = "0",
    answered: bool = False,
    user: str | None = "u1",
) -> Attempt:
    return Attempt(T0 + timedelta(seconds=seconds), to, Decimal(duration), answered, user)


def _far(i: int) -> str:
    """Numbers a million apart: never consecutive."""
    return f"+336{i:02d}000000"


def _run(count: int, *, last_at: float | None = None, step: int = 1) -> list[Attempt]:
    """``count`` calls up a block, one a second, the last one moved to ``last_at``."""
    attempts = [_at(i, f"+{BLOCK + i * step}") for i in range(count)]
    if last_at is not None:
        attempts[-1] = _at(last_at, attempts[-1].to)
    return attempts


def test_the_defaults_are_the_documented_ones() -> None:
    assert (SEQUENTIAL_RUN, PACE_ATTEMPTS, CONCURRENT_ATTEMPTS, REDIALS_PER_DAY) == (10, 20, 3, 5)
    for code, rule in [
        ("fair_use.autodialing", "F4"),
        ("fair_use.redial_pattern", "F3"),
        ("fair_use.outside_normal_use", "F3"),
        ("access.shared_or_pbx", "V3"),
    ]:
        entry = reason(code)
        assert (entry.rule, entry.http_status, entry.sip_status) == (rule, 403, 403)


def test_attempts_need_aware_times_and_no_negative_duration() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Attempt(datetime(2026, 11, 2, 9), "+33612345600", Decimal(0), False)
    with pytest.raises(ValueError, match="less than zero"):
        _at(0, "+33612345600", duration="-1")


# F4 sequential dialing.


@pytest.mark.parametrize(("count", "flagged"), [(9, False), (10, True), (11, True)])
def test_f4_a_run_of_ten_consecutive_numbers(count: int, flagged: bool) -> None:
    pattern = sequential_run(_run(count))
    assert (pattern is not None) is flagged
    if pattern is not None:
        # Reported when it reaches ten: the first ten numbers of the block.
        assert (pattern.kind, pattern.count) == ("sequential", 10)
        assert (pattern.first.to, pattern.last.to) == ("+33612345600", "+33612345609")


@pytest.mark.parametrize(("last_at", "flagged"), [(3599, True), (3600, True), (3601, False)])
def test_f4_the_run_fits_in_one_hour(last_at: float, flagged: bool) -> None:
    assert (sequential_run(_run(10, last_at=last_at)) is not None) is flagged


def test_f4_a_run_keeps_going_once_its_start_falls_out_of_the_window() -> None:
    # Ten numbers an hour apart: no ten within an hour; a window of a day sees them.
    slow = [_at(i * 3601, f"+{BLOCK + i}") for i in range(10)]
    assert sequential_run(slow) is None
    assert sequential_run(slow, window=timedelta(days=1)) is not None


@pytest.mark.parametrize(
    ("numbers", "flagged"),
    [
        ([f"+{BLOCK + 9 - i}" for i in range(10)], True),  # downward
        ([f"+{33612345595 + i}" for i in range(10)], True),  # ...599 to ...600: a carry
        ([f"+{BLOCK + 2 * i}" for i in range(10)], False),  # every other number
        (["+99999995", "+99999996", "+99999997", "+99999998", "+99999999"] * 2, False),
        ([f"+{995 + i}" for i in range(10)], False),  # +999 then +1000: not one length
        ([f"{BLOCK + i}" for i in range(10)], False),  # not E.164: never in a run
    ],
)
def test_f4_what_counts_as_consecutive(numbers: list[str], flagged: bool) -> None:
    attempts = [_at(i, to) for i, to in enumerate(numbers)]
    assert (sequential_run(attempts) is not None) is flagged


def test_f4_a_wider_step_is_a_setting() -> None:
    skipping = _run(10, step=2)
    assert sequential_run(skipping) is None
    assert sequential_run(skipping, max_step=2) is not None
    assert sequential_run(_run(10, step=3), max_step=2) is None


def test_f4_other_calls_and_repeats_do_not_break_a_run() -> None:
    attempts: list[Attempt] = []
    for i in range(10):
        attempts.append(_at(3 * i, f"+{BLOCK + i}"))
        attempts.append(_at(3 * i + 1, _far(i)))  # a call elsewhere in between
        attempts.append(_at(3 * i + 2, f"+{BLOCK + i}"))  # the same number again
    pattern = sequential_run(attempts)
    assert pattern is not None
    assert (pattern.count, pattern.first.to, pattern.last.to) == (
        10,
        "+33612345600",
        "+33612345609",
    )


def test_f4_a_run_spread_over_users_is_one_run() -> None:
    attempts = [_at(i, f"+{BLOCK + i}", user=f"u{i % 3}") for i in range(10)]
    assert sequential_run(attempts) is not None


def test_f4_attempts_are_taken_by_time_in_any_order() -> None:
    assert sequential_run(list(reversed(_run(10)))) is not None


# F4 predictive pace.


def _burst(count: int, *, span: float, user: str | None = "u1") -> list[Attempt]:
    """``count`` attempts of one user, evenly from 0 s to ``span`` s, to far numbers."""
    return [_at(span * i / (count - 1), _far(i), user=user) for i in range(count)]


@pytest.mark.parametrize(
    ("count", "span", "flagged"),
    [
        (20, 30, False),  # 20 in a minute: not more than 20
        (21, 59, True),
        (21, 60, True),  # the first and the 21st 60 s apart: within 60 s
        (21, 61, False),
        (22, 60, True),
    ],
)
def test_f4_more_than_20_attempts_a_minute(count: int, span: float, flagged: bool) -> None:
    pattern = pace_burst(_burst(count, span=span))
    assert (pattern is not None) is flagged
    if pattern is not None:
        assert (pattern.kind, pattern.count, pattern.user_id) == ("pace", 21, "u1")


def test_f4_pace_is_per_user() -> None:
    two_users = _burst(20, span=30, user="a") + _burst(20, span=30, user="b")
    assert pace_burst(two_users) is None
    # Attempts without a user are the account's own, one caller.
    assert pace_burst(_burst(21, span=30, user=None)) is not None


def test_f4_the_earliest_burst_is_reported() -> None:
    late = [_at(600 + i, _far(i), user="late") for i in range(21)]
    early = [_at(i, _far(50 + i), user="early") for i in range(21)]
    pattern = pace_burst(late + early)
    assert pattern is not None
    assert pattern.user_id == "early"


# F4 attempts at once.


@pytest.mark.parametrize(("count", "flagged"), [(3, False), (4, True), (5, True)])
def test_f4_more_than_three_attempts_launched_together(count: int, flagged: bool) -> None:
    together = [_at(0, _far(i)) for i in range(count)]  # unanswered, 0 s each
    pattern = overlapping_attempts(together)
    assert (pattern is not None) is flagged
    if pattern is not None:
        assert (pattern.kind, pattern.count) == ("concurrent", 4)


@pytest.mark.parametrize(("fourth_at", "flagged"), [(99, True), (100, False), (101, False)])
def test_f4_a_call_ended_is_not_in_progress(fourth_at: float, flagged: bool) -> None:
    held = [
        _at(0, _far(0), duration="100", answered=True),  # in progress until 100 s
        _at(10, _far(1), duration="300", answered=True),
        _at(20, _far(2), duration="300", answered=True),
        _at(fourth_at, _far(3), duration="60", answered=True),
    ]
    assert (overlapping_attempts(held) is not None) is flagged


def test_f4_back_to_back_calls_and_other_users_are_not_concurrent() -> None:
    back_to_back = [_at(10 * i, _far(i), duration="10", answered=True) for i in range(10)]
    assert overlapping_attempts(back_to_back) is None
    one_each = [_at(0, _far(i), user=f"u{i}") for i in range(10)]
    assert overlapping_attempts(one_each) is None
    # A call ending as three instant attempts start is over: three at once, not four.
    # Under a microsecond is an instant (it must not end before it starts).
    assert overlapping_attempts([_at(0, _far(0), duration="0.0000001")]) is None
    edge = [
        _at(0, _far(0), duration="5", answered=True),
        *[_at(5, _far(i)) for i in range(1, 4)],
    ]
    assert overlapping_attempts(edge) is None


def test_f4_autodialing_decision() -> None:
    decision = autodialing(_run(10))
    assert (decision.code, decision.rule, decision.http_status(), decision.sip_status()) == (
        "fair_use.autodialing",
        "F4",
        403,
        403,
    )
    assert dict(decision.details) == {
        "pattern": "sequential",
        "count": 10,
        "limit": 10,
        "first_number": "+33612345600",
        "last_number": "+33612345609",
        "first_at": T0.isoformat(),
        "last_at": (T0 + timedelta(seconds=9)).isoformat(),
        "window_seconds": 3600,
        "user_id": None,
    }
    pace = autodialing(_burst(21, span=60))
    assert (pace.details["pattern"], pace.details["window_seconds"]) == ("pace", 60)
    concurrent = autodialing([_at(0, _far(i)) for i in range(4)])
    assert (concurrent.details["pattern"], concurrent.details["window_seconds"]) == (
        "concurrent",
        None,
    )


def test_f4_an_ordinary_day_is_allowed_and_thresholds_are_settings() -> None:
    day = [_at(600 * i, _far(i), duration="120", answered=True) for i in range(40)]
    assert autodialing(day) is ALLOWED
    assert autodialing(_run(5), run_length=5).code == "fair_use.autodialing"
    assert autodialing(_burst(6, span=10), pace_limit=5).details["pattern"] == "pace"
    two = [_at(0, _far(0)), _at(0, _far(1))]
    assert autodialing(two, concurrent_limit=1).details["pattern"] == "concurrent"


def test_f4_sequential_is_reported_before_pace() -> None:
    both = [_at(i, f"+{BLOCK + i}") for i in range(25)]
    assert autodialing(both).details["pattern"] == "sequential"


# F3 hang-up-and-redial.


def _redials(count: int, *, gap: float = 10, to: str = "+33612345678") -> list[Attempt]:
    """An unanswered attempt, then ``count`` redials ``gap`` s after each previous one."""
    return [_at(i * gap, to) for i in range(count + 1)]


@pytest.mark.parametrize(("redials", "code"), [(5, None), (6, "fair_use.redial_pattern")])
def test_f3_more_than_five_redials_of_one_number_a_day(redials: int, code: str | None) -> None:
    decision = redial_pattern(_redials(redials))
    assert decision.code == code
    if code is not None:
        assert decision.rule == "F3"
        assert dict(decision.details) == {
            "number": "+33612345678",
            "day": "2026-11-02",
            "redials": 6,
            "limit": 5,
            "within_seconds": 30,
        }


@pytest.mark.parametrize(
    ("gap", "code"), [(29, "fair_use.redial_pattern"), (30, "fair_use.redial_pattern"), (31, None)]
)
def test_f3_a_redial_is_within_30_seconds(gap: float, code: str | None) -> None:
    assert redial_pattern(_redials(6, gap=gap)).code == code


@pytest.mark.parametrize(
    ("duration", "answered", "code"),
    [
        ("0", False, "fair_use.redial_pattern"),
        ("40", False, "fair_use.redial_pattern"),  # rang 40 s, unanswered
        ("14.999", True, "fair_use.redial_pattern"),  # a short call (F1)
        ("15", True, None),  # a real call, then calling back
    ],
)
def test_f3_only_after_a_short_or_unanswered_attempt(
    duration: str, answered: bool, code: str | None
) -> None:
    # Each redial 20 s after the previous attempt ended.
    step = 20 + float(duration)
    attempts = [
        _at(i * step, "+33612345678", duration=duration, answered=answered) for i in range(7)
    ]
    assert redial_pattern(attempts).code == code


def test_f3_redials_count_per_number_and_per_day() -> None:
    spread = _redials(3, to="+33612345678") + [_at(100 + 10 * i, "+33698765432") for i in range(4)]
    assert redial_pattern(spread) is ALLOWED  # 3 and 3
    before_midnight = T0.replace(hour=23, minute=59, second=0) - T0
    start = before_midnight.total_seconds()
    across = [_at(start + 10 * i, "+33612345678") for i in range(8)]  # 23:59:00 to 00:00:10
    assert redial_pattern(across) is ALLOWED  # 5 redials, then 2 on the next day
    # The day is a setting's: in Paris (UTC+1) all eight fall on 3 November.
    assert redial_pattern(across, zone=ZoneInfo("Europe/Paris")).details["day"] == "2026-11-03"


def test_f3_redial_thresholds_are_settings() -> None:
    assert redial_pattern(_redials(3), limit=2).code == "fair_use.redial_pattern"
    assert redial_pattern(_redials(6, gap=50), within=timedelta(seconds=60)).code is not None


# F3 normal use: the 95th percentile of the plan.


@pytest.mark.parametrize(
    ("values", "percentile", "expected"),
    [
        (range(1, 21), 95, 19),  # rank ⌈19⌉
        (range(1, 101), 95, 95),
        (range(1, 11), 95, 10),  # rank ⌈9.5⌉ = 10: the maximum
        (range(1, 22), 95, 20),  # rank ⌈19.95⌉
        ([7], 95, 7),
        ([3, 1, 2], 50, 2),  # rank ⌈1.5⌉; the values need not be sorted
        (range(1, 5), 100, 4),
        (range(1, 5), 1, 1),
    ],
)
def test_nearest_rank(values: range | list[int], percentile: int, expected: int) -> None:
    assert nearest_rank([Decimal(v) for v in values], Decimal(percentile)) == Decimal(expected)


def test_nearest_rank_refuses_what_has_no_percentile() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        nearest_rank([], Decimal(95))
    for percentile in ("0", "100.1", "-5"):
        with pytest.raises(ValueError, match="percentile"):
            nearest_rank([Decimal(1)], Decimal(percentile))


PLAN = [Decimal(v) for v in range(1, 21)]  # 20 accounts: the 95th percentile is 19


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("18.99", None),
        ("19", None),  # at the percentile: inside
        ("19.01", "fair_use.outside_normal_use"),
        ("20", "fair_use.outside_normal_use"),
    ],
)
def test_f3_above_the_95th_percentile_of_the_plan(value: str, code: str | None) -> None:
    decision = outside_normal_use(Decimal(value), PLAN, metric="redials per day")
    assert decision.code == code
    if code is not None:
        assert decision.rule == "F3"
        assert dict(decision.details) == {
            "metric": "redials per day",
            "value": value,
            "percentile": "95",
            "threshold": "19",
            "accounts": 20,
        }


def test_f3_nothing_to_compare_with_and_a_percentile_setting() -> None:
    assert outside_normal_use(Decimal(1000), []) is ALLOWED
    assert outside_normal_use(Decimal(11), PLAN, percentile=Decimal(50)).code is not None


# V3 one person per user account.


@pytest.mark.parametrize(
    ("user_agent", "matched"),
    [
        ("Asterisk PBX 18.20.0", "Asterisk"),
        ("FreeSWITCH-mod_sofia/1.10.11-release~64bit", "FreeSWITCH"),
        ("FPBX-16.0.40.7(18.20.0)", "FPBX-"),
        ("FreePBX 17", "FreePBX"),
        ("3CXPhoneSystem 18.0.9.20 (20)", "3CXPhoneSystem"),
        ("kamailio (5.7.4 (x86_64/linux))", "Kamailio"),
        ("OpenSIPS (3.4.3 (x86_64/linux))", "OpenSIPS"),
        ("Yeastar P-Series 37.13", "Yeastar"),
        ("Grandstream UCM6302V1.3A 1.0.23.7", "Grandstream UCM"),
        ("Issabel PBX", "Issabel"),
        ("Elastix 5", "Elastix"),
        ("VICIdial 2.14", "VICIdial"),
        ("vicidial", "VICIdial"),  # case-insensitive
        ("Yealink SIP-T46S 66.86.0.15", None),
        ("Grandstream GXP2170 1.0.11.3", None),  # the vendor's desk phone
        ("3CXPhone for Windows 6.0.26523.0", None),  # the free softphone
        ("Linphone/5.2.0 (belle-sip/5.2.0)", None),
        ("baresip v3.10.1 (x86_64/Linux)", None),
        ("sipp", None),
        ("Zoiper rv2.10.20.5", None),
        ("", None),
        (None, None),
    ],
)
def test_v3_user_agents_of_pbxs_dialers_and_switches(
    user_agent: str | None, matched: str | None
) -> None:
    assert pbx_agent(user_agent) == matched
    decision = shared_or_pbx([Registration(user_agent, "192.0.2.7", "sip:u1@192.0.2.7")])
    assert decision.code == (None if matched is None else "access.shared_or_pbx")
    if matched is not None:
        assert decision.rule == "V3"
        assert (decision.details["reason"], decision.details["matched"]) == ("user_agent", matched)


def test_v3_the_list_is_the_operators() -> None:
    assert "Asterisk" in PBX_USER_AGENTS
    assert pbx_agent("Asterisk PBX 18", ("FreeSWITCH",)) is None
    assert pbx_agent("MyDialer/1.0", (*PBX_USER_AGENTS, "MyDialer")) == "MyDialer"


def _registered(*sources: str) -> list[Registration]:
    return [Registration("Yealink SIP-T46S", source, f"sip:u1@{source}") for source in sources]


@pytest.mark.parametrize(
    ("sources", "code"),
    [
        (("192.0.2.1", "198.51.100.2", "203.0.113.3"), None),  # desk, softphone, mobile
        (("192.0.2.1", "198.51.100.2", "203.0.113.3", "203.0.113.4"), "access.shared_or_pbx"),
        # Ports and the registrar's transport:host:port form are not addresses of their own.
        (("192.0.2.1", "192.0.2.1:5062", "udp:192.0.2.1:5064", "tls:192.0.2.1:5061"), None),
        # One IPv6 address written three ways counts once.
        (("2001:db8::1", "[2001:db8:0::1]:5060", "tls:[2001:DB8::1]:5061", "192.0.2.1"), None),
        (("a.example", "b.example", "c.example", "A.example"), None),  # names, case folded
    ],
)
def test_v3_more_than_three_addresses_at_once(sources: tuple[str, ...], code: str | None) -> None:
    decision = shared_or_pbx(_registered(*sources), user_id="u1")
    assert decision.code == code
    if code is not None:
        assert dict(decision.details) == {
            "reason": "sources",
            "user_id": "u1",
            "sources": ("192.0.2.1", "198.51.100.2", "203.0.113.3", "203.0.113.4"),
            "count": 4,
            "limit": 3,
        }


def test_v3_no_registrations_and_a_limit_setting() -> None:
    assert shared_or_pbx([]) is ALLOWED
    assert shared_or_pbx(_registered("192.0.2.1", "192.0.2.2"), max_sources=1).refused


# Properties.


@given(
    st.lists(st.integers(0, 99_999), min_size=2, max_size=40, unique=True).flatmap(st.permutations)
)
def test_f4_numbers_never_consecutive_never_make_a_run_in_any_order(values: list[int]) -> None:
    # Numbers ten apart, dialled in any order, a second apart: not even a run of two.
    attempts = [_at(i, f"+33612{v * 10:06d}") for i, v in enumerate(values)]
    assert sequential_run(attempts, run_length=2) is None


ATTEMPTS = st.lists(
    st.builds(
        _at,
        st.integers(0, 180),
        st.sampled_from([f"+{BLOCK + i}" for i in range(6)] + [_far(1), _far(2)]),
        duration=st.sampled_from(["0", "3", "14.999", "15", "90"]),
        answered=st.booleans(),
        user=st.sampled_from(["a", "b", None]),
    ),
    max_size=30,
)


@given(ATTEMPTS)
def test_a_detector_never_flags_fewer_attempts_than_its_threshold(
    attempts: list[Attempt],
) -> None:
    n = len(attempts)
    assert sequential_run(attempts, run_length=n + 1, window=timedelta(days=1)) is None
    assert pace_burst(attempts, limit=n, window=timedelta(days=1)) is None
    assert overlapping_attempts(attempts, limit=n) is None
    assert redial_pattern(attempts, limit=max(n - 1, 0), within=timedelta(days=1)) is ALLOWED
    # And what is flagged holds at least as many attempts as its threshold asks.
    for limit in (1, 2, 3):
        for found, needs in [
            (sequential_run(attempts, run_length=limit), limit),
            (pace_burst(attempts, limit=limit), limit + 1),
            (overlapping_attempts(attempts, limit=limit), limit + 1),
        ]:
            assert found is None or found.count >= needs
        redials = redial_pattern(attempts, limit=limit)
        assert redials.allowed or int(str(redials.details["redials"])) > limit


@given(ATTEMPTS, st.integers(-20, 20))
def test_f4_other_calls_never_hide_a_sequential_run(noise: list[Attempt], start: int) -> None:
    # The run goes through the numbers the other calls dial, before and after it.
    run = [_at(10 * i, f"+{BLOCK + start + i}") for i in range(10)]
    pattern = sequential_run(noise + run)
    assert pattern is not None
    assert pattern.count == 10


@given(
    st.lists(st.decimals(0, 1000, places=2), min_size=1, max_size=60),
    st.sampled_from([Decimal(50), Decimal(90), Decimal(95), Decimal("99.5")]),
)
def test_nearest_rank_has_at_least_that_share_at_or_under_it(
    values: list[Decimal], percentile: Decimal
) -> None:
    threshold = nearest_rank(values, percentile)
    assert threshold in values
    assert Decimal(sum(v <= threshold for v in values)) * 100 >= percentile * len(values)


@given(st.lists(st.decimals(0, 1000, places=2), min_size=1, max_size=19), st.data())
def test_f3_a_plan_of_fewer_than_20_accounts_never_flags_one_of_them(
    values: list[Decimal], data: st.DataObject
) -> None:
    account = data.draw(st.sampled_from(values))
    assert outside_normal_use(account, values) is ALLOWED
