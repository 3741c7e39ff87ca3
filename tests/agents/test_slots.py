"""Free slots (agents/slots.py, TERMS A1): the boundaries of opening hours and busy
time, the alternatives offered, and daylight-saving days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.agents.profile import OpenHours
from dialtone.agents.slots import free_starts, grid_minutes, is_bookable, refusal, windows

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
# Monday to Friday 09:00–17:00, Saturday 10:00–12:00.
HOURS = (
    *(OpenHours(day, time(9), time(17)) for day in range(5)),
    OpenHours(5, time(10), time(12)),
)
# Tuesday 2026-11-03 in Paris (UTC+1), seen from the Monday before at noon.
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=PARIS)


def paris(hour: int, minute: int = 0, day: int = 3, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


BUSY = ((paris(11), paris(12)),)


@pytest.mark.parametrize(
    ("start", "minutes", "busy", "expected"),
    [
        pytest.param(paris(9), 30, (), None, id="exactly-at-opening"),
        pytest.param(paris(8, 59), 30, (), "closed", id="1-minute-before-opening"),
        pytest.param(paris(16, 30), 30, (), None, id="ending-exactly-at-closing"),
        pytest.param(paris(16, 31), 30, (), "closed", id="1-minute-over-closing"),
        pytest.param(paris(17), 30, (), "closed", id="at-closing"),
        pytest.param(paris(10, 31), 30, BUSY, "busy", id="overlaps-busy-by-1-minute-at-its-start"),
        pytest.param(paris(11, 59), 30, BUSY, "busy", id="overlaps-busy-by-1-minute-at-its-end"),
        pytest.param(paris(10, 30), 30, BUSY, None, id="back-to-back-before-busy"),
        pytest.param(paris(12), 30, BUSY, None, id="back-to-back-after-busy"),
        pytest.param(paris(11, 15), 15, BUSY, "busy", id="inside-busy"),
        pytest.param(paris(10), 180, BUSY, "busy", id="around-busy"),
        pytest.param(paris(10, day=8), 30, (), "closed", id="sunday"),
        pytest.param(paris(11, 30, day=7), 30, (), None, id="saturday-until-noon"),
        pytest.param(paris(11, 45, day=7), 30, (), "closed", id="saturday-past-noon"),
        pytest.param(paris(9, day=2), 30, (), "past", id="before-now"),
        pytest.param(paris(8, day=2), 30, (), "past", id="in-the-past-and-closed"),
    ],
)
def test_refusal_boundaries(
    start: datetime, minutes: int, busy: tuple[tuple[datetime, datetime], ...], expected: str | None
) -> None:
    assert refusal(HOURS, PARIS, busy, start, minutes=minutes, now=NOW) == expected
    assert is_bookable(HOURS, PARIS, busy, start, minutes=minutes, now=NOW) is (expected is None)


def test_starting_exactly_now_is_bookable() -> None:
    now = paris(10)
    assert refusal(HOURS, PARIS, (), now, minutes=30, now=now) is None
    assert refusal(HOURS, PARIS, (), now, minutes=30, now=now + timedelta(seconds=1)) == "past"


def test_a_start_in_another_zone_is_the_same_instant() -> None:
    # 08:00 UTC is 09:00 in Paris in November: opening time.
    assert is_bookable(HOURS, PARIS, (), datetime(2026, 11, 3, 8, tzinfo=UTC), minutes=30, now=NOW)
    assert not is_bookable(
        HOURS, PARIS, (), datetime(2026, 11, 3, 7, 59, tzinfo=UTC), minutes=30, now=NOW
    )


def test_busy_in_another_zone_is_compared_as_instants() -> None:
    busy = ((datetime(2026, 11, 3, 10, tzinfo=UTC), datetime(2026, 11, 3, 11, tzinfo=UTC)),)
    assert refusal(HOURS, PARIS, busy, paris(11), minutes=30, now=NOW) == "busy"  # 10:00 UTC
    assert (
        refusal(HOURS, PARIS, busy, paris(12), minutes=30, now=NOW) is None
    )  # ends when busy ends


@pytest.mark.parametrize(
    "bad",
    [datetime(2026, 11, 3, 9), datetime(2026, 11, 3, 9, tzinfo=None)],
)
def test_naive_times_are_refused(bad: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_bookable(HOURS, PARIS, (), bad, minutes=30, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        free_starts(HOURS, PARIS, (), around=bad, minutes=30, now=NOW)


def test_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        is_bookable(HOURS, PARIS, (), paris(10), minutes=0, now=NOW)


def test_overnight_window_runs_past_midnight() -> None:
    night = (OpenHours(4, time(22), time(2)),)  # Friday 22:00 to Saturday 02:00
    assert is_bookable(
        night, PARIS, (), paris(23, 30, day=6), minutes=60, now=NOW
    )  # Fri 23:30-00:30
    assert is_bookable(
        night, PARIS, (), paris(1, 30, day=7), minutes=30, now=NOW
    )  # Sat 01:30-02:00
    assert refusal(night, PARIS, (), paris(1, 45, day=7), minutes=30, now=NOW) == "closed"


def test_touching_windows_are_one() -> None:
    split = (OpenHours(1, time(9), time(12)), OpenHours(1, time(12), time(17)))
    assert is_bookable(split, PARIS, (), paris(11, 45), minutes=30, now=NOW)
    gap = (OpenHours(1, time(9), time(12)), OpenHours(1, time(13), time(17)))
    assert refusal(gap, PARIS, (), paris(11, 45), minutes=30, now=NOW) == "closed"


def test_a_window_continued_after_midnight() -> None:
    late = (OpenHours(1, time(18), time(0)), OpenHours(2, time(0), time(2)))
    assert is_bookable(late, PARIS, (), paris(23, 45), minutes=30, now=NOW)
    assert refusal(late, PARIS, (), paris(1, 45, day=4), minutes=30, now=NOW) == "closed"


def test_closes_at_midnight_is_end_of_day() -> None:
    evening = (OpenHours(1, time(18), time(0)),)
    assert is_bookable(evening, PARIS, (), paris(23, 30), minutes=30, now=NOW)
    assert refusal(evening, PARIS, (), paris(23, 31), minutes=30, now=NOW) == "closed"


# -- the alternatives -------------------------------------------------------------------


def test_free_starts_nearest_the_wanted_time_in_time_order() -> None:
    found = free_starts(HOURS, PARIS, BUSY, around=paris(11), minutes=30, now=NOW)
    assert found == (paris(10), paris(10, 30), paris(12))
    assert all(s.tzinfo is PARIS for s in found)


def test_free_starts_skip_busy_and_closed() -> None:
    busy = ((paris(9), paris(17)),)  # Tuesday fully booked
    # From Tuesday 09:00, Monday's last slots are nearer than Wednesday's first …
    found = free_starts(HOURS, PARIS, busy, around=paris(9), minutes=30, now=NOW)
    assert found == (paris(15, 30, day=2), paris(16, day=2), paris(16, 30, day=2))
    # … and from 16:30, Wednesday's first are.
    found = free_starts(HOURS, PARIS, busy, around=paris(16, 30), minutes=30, now=NOW)
    assert found == (paris(9, day=4), paris(9, 30, day=4), paris(10, day=4))


def test_free_starts_never_in_the_past() -> None:
    now = paris(10, 10)
    found = free_starts(HOURS, PARIS, (), around=paris(9), minutes=30, now=now)
    assert found == (paris(10, 30), paris(11), paris(11, 30))


def test_free_starts_grid() -> None:
    assert grid_minutes(15) == 15
    assert grid_minutes(30) == 30
    assert grid_minutes(60) == 30
    assert grid_minutes(20) == 20
    found = free_starts(HOURS, PARIS, (), around=paris(9), minutes=15, now=NOW)
    assert found == (paris(9), paris(9, 15), paris(9, 30))
    found = free_starts(HOURS, PARIS, (), around=paris(16, 59), minutes=60, now=NOW)
    # A one-hour appointment ends by 17:00: 16:00 is the last start.
    assert found == (paris(15), paris(15, 30), paris(16))
    found = free_starts(HOURS, PARIS, (), around=paris(9), minutes=30, now=NOW, step_minutes=60)
    assert found == (paris(9), paris(10), paris(11))


def test_no_hours_is_always_open() -> None:
    assert refusal((), PARIS, (), paris(3, 10, day=8), minutes=30, now=NOW) is None
    assert refusal((), PARIS, (), paris(23, 45), minutes=30, now=NOW) is None  # past midnight
    assert refusal((), PARIS, BUSY, paris(11), minutes=30, now=NOW) == "busy"
    found = free_starts((), PARIS, BUSY, around=paris(11), minutes=30, now=NOW)
    assert found == (paris(10), paris(10, 30), paris(12))
    # The grid runs from midnight, across the night.
    found = free_starts((), PARIS, (), around=paris(0), minutes=60, now=NOW, count=2)
    assert found == (paris(23, 30, day=2), paris(0))


def test_free_starts_none_when_asked_for_none() -> None:
    assert free_starts(HOURS, PARIS, (), around=paris(9), minutes=30, now=NOW, count=0) == ()


def test_free_starts_within_the_horizon() -> None:
    far = paris(10) + timedelta(days=60)
    busy = ((NOW, far),)
    assert free_starts(HOURS, PARIS, busy, around=paris(10), minutes=30, now=NOW) == ()


# -- daylight saving --------------------------------------------------------------------


def test_windows_on_spring_forward_day_keep_local_hours() -> None:
    # Sunday 2026-03-29: Paris goes from UTC+1 to UTC+2 at 02:00.
    sunday = (OpenHours(6, time(9), time(17)),)
    [(start, end)] = windows(sunday, PARIS, date(2026, 3, 29), date(2026, 3, 29))
    assert start.astimezone(UTC) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 3, 29, 15, tzinfo=UTC)


def test_a_night_window_across_spring_forward_is_an_hour_shorter() -> None:
    night = (OpenHours(5, time(22), time(6)),)  # Saturday 22:00 to Sunday 06:00
    [(start, end)] = windows(night, PARIS, date(2026, 3, 28), date(2026, 3, 28))
    assert end - start == timedelta(hours=8)  # wall-clock difference
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=7)
    now = datetime(2026, 3, 20, tzinfo=UTC)
    # 01:30 + 60 real minutes is 03:30 summer time: still open.
    assert is_bookable(
        night, PARIS, (), datetime(2026, 3, 29, 1, 30, tzinfo=PARIS), minutes=60, now=now
    )
    # 05:30 + 30 min ends at 06:00 exactly.
    assert is_bookable(
        night, PARIS, (), datetime(2026, 3, 29, 5, 30, tzinfo=PARIS), minutes=30, now=now
    )
    found = free_starts(
        night,
        PARIS,
        (),
        around=datetime(2026, 3, 29, 1, 30, tzinfo=PARIS),
        minutes=60,
        now=now,
        count=2,
        step_minutes=60,
    )
    # 22:00, 23:00, 00:00, 01:00, then 03:00 summer time (one real hour after 01:00).
    assert found == (
        datetime(2026, 3, 29, 1, tzinfo=PARIS),
        datetime(2026, 3, 29, 3, tzinfo=PARIS),
    )


def test_opening_in_the_spring_forward_gap_moves_with_the_clocks() -> None:
    gap = (OpenHours(6, time(2, 30), time(5)),)
    [(start, _)] = windows(gap, PARIS, date(2026, 3, 29), date(2026, 3, 29))
    assert start.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_fall_back_night_is_an_hour_longer() -> None:
    # Sunday 2026-11-01 in New York: 02:00 EDT becomes 01:00 EST.
    night = (OpenHours(5, time(23), time(3)),)
    [(start, end)] = windows(night, NEW_YORK, date(2026, 10, 31), date(2026, 10, 31))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=5)
    now = datetime(2026, 10, 1, tzinfo=UTC)
    found = free_starts(
        night,
        NEW_YORK,
        (),
        around=start,
        minutes=60,
        now=now,
        count=10,
        step_minutes=60,
    )
    assert len([s for s in found if s.date() in (date(2026, 10, 31), date(2026, 11, 1))]) == 5
    # Busy from 01:30 EDT (05:30 UTC) to 01:30 EST (06:30 UTC): the second 01:30 is free.
    busy = ((datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),)
    second_one_thirty = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    assert refusal(night, NEW_YORK, busy, second_one_thirty, minutes=30, now=now) is None
    assert (
        refusal(
            night,
            NEW_YORK,
            busy,
            datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK),
            minutes=30,
            now=now,
        )
        == "busy"
    )
    # 02:30 EST ends the night at 03:00: the last half hour of a five-hour night.
    assert (
        refusal(
            night, NEW_YORK, (), datetime(2026, 11, 1, 2, 30, tzinfo=NEW_YORK), minutes=30, now=now
        )
        is None
    )


# -- properties -------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
busy_lists = st.lists(
    st.tuples(instants, st.integers(min_value=1, max_value=600)).map(
        lambda t: (t[0], t[0] + timedelta(minutes=t[1]))
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(
    around=instants,
    now=instants,
    busy=busy_lists,
    minutes=st.sampled_from([15, 20, 30, 45, 60, 90]),
    zone=st.sampled_from([PARIS, NEW_YORK, UTC]),
)
def test_every_offered_start_is_bookable(
    around: datetime,
    now: datetime,
    busy: list[tuple[datetime, datetime]],
    minutes: int,
    zone: ZoneInfo,
) -> None:
    found = free_starts(HOURS, zone, busy, around=around, minutes=minutes, now=now, count=3)
    assert len(found) <= 3
    assert list(found) == sorted(set(found))
    for start in found:
        assert start >= now
        assert is_bookable(HOURS, zone, busy, start, minutes=minutes, now=now), start
