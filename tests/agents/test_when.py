"""Dates and times as callers say them (booking, TERMS A1), relative to ``now``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.agents.english import ENGLISH
from dialtone.agents.when import When, parse_when, say_time, say_when

PARIS = ZoneInfo("Europe/Paris")
# Saturday 7 December 2024, 09:15 in Paris.
NOW = datetime(2024, 12, 7, 9, 15, tzinfo=PARIS)
SAT = date(2024, 12, 7)
TOMORROW = date(2024, 12, 8)


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("I'd like an appointment tomorrow at ten", TOMORROW, time(10)),
        ("tomorrow at 10", TOMORROW, time(10)),
        ("tomorrow at 10 a.m.", TOMORROW, time(10)),
        ("at 10 a.m.", None, time(10)),
        ("10am", None, time(10)),
        ("10:30", None, time(10, 30)),
        ("10.30", None, time(10, 30)),
        ("at ten thirty", None, time(10, 30)),
        ("at ten oh five", None, time(10, 5)),
        ("half past two", None, time(14, 30)),
        ("quarter past 12", None, time(12, 15)),
        ("quarter to four", None, time(15, 45)),
        ("ten past three", None, time(15, 10)),
        ("twenty to nine", None, time(8, 40)),
        ("next Monday at 3 pm", date(2024, 12, 9), time(15)),
        ("Monday at 3 p.m.", date(2024, 12, 9), time(15)),
        ("on Saturday at 9", date(2024, 12, 14), time(9)),  # today's week day: next week
        ("the 12th at 9", date(2024, 12, 12), time(9)),
        ("the twelfth at nine", date(2024, 12, 12), time(9)),
        ("the 5th at 9", date(2025, 1, 5), time(9)),  # passed this month: next month
        ("December 15th at 2:30 pm", date(2024, 12, 15), time(14, 30)),
        ("December fifteenth at two thirty pm", date(2024, 12, 15), time(14, 30)),
        ("15 December at 2", date(2024, 12, 15), time(14)),
        ("the twenty first of January at 11am", date(2025, 1, 21), time(11)),
        ("March 3rd at noon", date(2025, 3, 3), time(12)),
        ("noon", None, time(12)),
        ("at midday tomorrow", TOMORROW, time(12)),
        ("today", SAT, None),
        ("today at 4", SAT, time(16)),
        ("tonight at 7", SAT, time(19)),
        ("the day after tomorrow at 11", date(2024, 12, 9), time(11)),
        ("in 3 days at 9", date(2024, 12, 10), time(9)),
        ("Friday at 3 in the afternoon", date(2024, 12, 13), time(15)),
        ("at 8 in the evening", None, time(20)),
        ("at 7 in the morning", None, time(7)),
        ("at 14:00", None, time(14)),
        ("at 3 o'clock", None, time(15)),
        ("3pm on the twenty-second", date(2024, 12, 22), time(15)),
        ("Tuesday at twelve", date(2024, 12, 10), time(12)),
        # Nothing of a time: counts and ordinals that are not dates.
        ("I have two kids", None, None),
        ("the first one", None, None),
        ("a table for 4 people", None, None),
        ("February 30th at 9", None, time(9)),  # no such day
        ("may I come by", None, None),  # "may" the verb, not the month
    ],
)
def test_parse_when(text: str, day: date | None, at: time | None) -> None:
    when = parse_when(text, NOW)
    assert (when.day, when.at) == (day, at)


@pytest.mark.parametrize(
    ("hour", "expected", "guessed"),
    [
        (1, 13, True),
        (7, 19, True),  # the last afternoon hour
        (8, 8, True),  # the first morning hour
        (11, 11, True),
        (12, 12, False),
        (13, 13, False),  # 24-hour clock
        (23, 23, False),
    ],
)
def test_hours_without_half_are_business_hours(hour: int, expected: int, guessed: bool) -> None:
    when = parse_when(f"at {hour}", NOW)
    assert when.at == time(expected)
    assert when.guessed is guessed


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("on Friday morning", "morning"),
        ("in the afternoon", "afternoon"),
        ("sometime in the evening", "evening"),
        ("this afternoon", "afternoon"),
    ],
)
def test_a_part_of_the_day_alone_is_no_time(text: str, part: str) -> None:
    when = parse_when(text, NOW)
    assert when.at is None
    assert when.part == part
    assert not when.complete


def test_a_part_said_before_settles_the_hour_said_after() -> None:
    first = parse_when("Friday afternoon", NOW)
    later = first.merged(parse_when("at 3", NOW))
    assert later == When(day=date(2024, 12, 13), at=time(15))
    morning = parse_when("Friday morning", NOW).merged(parse_when("at 10", NOW))
    assert morning.at == time(10)
    evening = parse_when("in the evening", NOW).merged(parse_when("at 8", NOW))
    assert evening.at == time(20)  # 8 alone would be 8 a.m.


def test_merging_keeps_what_was_said_and_takes_corrections() -> None:
    day_only = parse_when("on Monday", NOW)
    both = day_only.merged(parse_when("at 11", NOW))
    assert both.start(PARIS) == datetime(2024, 12, 9, 11, tzinfo=PARIS)
    corrected = both.merged(parse_when("no, Tuesday", NOW))
    assert corrected.day == date(2024, 12, 10)
    assert corrected.at == time(11)


NUMBER_WORDS = {v: k for k, v in ENGLISH.when.numbers.items() if k != "oh"}


def _words(n: int) -> str:
    if n in NUMBER_WORDS:
        return NUMBER_WORDS[n]
    return f"{NUMBER_WORDS[n - n % 10]} {NUMBER_WORDS[n % 10]}"


@given(
    hour=st.integers(1, 12),
    minute=st.integers(10, 59),
    pm=st.booleans(),
    spelled=st.booleans(),
)
def test_any_clock_time_with_its_half_reads_back(
    hour: int, minute: int, pm: bool, spelled: bool
) -> None:
    half = "p.m." if pm else "a.m."
    said = (
        f"at {_words(hour)} {_words(minute)} {half}"
        if spelled
        else f"at {hour}:{minute:02d} {half}"
    )
    expected = time(hour % 12 + (12 if pm else 0), minute)
    assert parse_when(said, NOW).at == expected


@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    weekday=st.sampled_from(list(ENGLISH.when.weekdays)),
    prefix=st.sampled_from(["", "on ", "next ", "this "]),
)
def test_a_week_day_is_the_next_one(now: datetime, weekday: str, prefix: str) -> None:
    aware = now.replace(tzinfo=PARIS)
    day = parse_when(f"{prefix}{weekday}", aware).day
    assert day is not None
    assert day.weekday() == ENGLISH.when.weekdays[weekday]
    assert 1 <= (day - aware.date()).days <= 7


@given(now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)))
def test_tomorrow_and_today(now: datetime) -> None:
    aware = now.replace(tzinfo=PARIS)
    assert parse_when("tomorrow", aware).day == aware.date() + timedelta(days=1)
    assert parse_when("today", aware).day == aware.date()


@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    day=st.integers(1, 31),
)
def test_a_day_of_the_month_is_never_in_the_past(now: datetime, day: int) -> None:
    aware = now.replace(tzinfo=PARIS)
    found = parse_when(f"the {day}th at 10", aware).day
    assert found is not None
    assert found.day == day
    assert found >= aware.date()


@given(st.text(max_size=80))
def test_any_text_parses_without_error(text: str) -> None:
    when = parse_when(text, NOW)
    assert isinstance(when, When)


@pytest.mark.parametrize(
    ("start", "said"),
    [
        (datetime(2024, 12, 8, 10, tzinfo=PARIS), "tomorrow at 10 a.m."),
        (datetime(2024, 12, 7, 12, tzinfo=PARIS), "today at noon"),
        (datetime(2024, 12, 10, 14, 30, tzinfo=PARIS), "Tuesday 10 December at 2:30 p.m."),
        (datetime(2024, 12, 10, 0, 0, tzinfo=PARIS), "Tuesday 10 December at midnight"),
    ],
)
def test_say_when(start: datetime, said: str) -> None:
    assert say_when(start, NOW) == said


def test_say_time_without_now_says_the_date() -> None:
    assert say_when(datetime(2024, 12, 8, 9, 5, tzinfo=PARIS)) == "Sunday 8 December at 9:05 a.m."
    assert say_time(time(0, 30)) == "12:30 a.m."
