"""Dates and times as callers say them, for booking (TERMS A1), relative to ``now``.

``parse_when`` reads what it can and says what it could not: a day, a time, or only a
part of the day ("Friday afternoon"), so the dialog asks for the missing part.
Speech-to-text writes numbers as digits ("at 10") or words ("at ten"): number words
become digits first, then one set of patterns reads both.

Decisions on ambiguity (a confirmation always says the full date and time back):
- an hour without a.m./p.m. or a part of the day is a business hour: 8–11 morning,
  12 noon, 1–7 afternoon (13–23 are read as a 24-hour clock);
- a week day ("Monday", "on Monday", "this Monday", "next Monday") is the nearest one
  after today, a week ahead when today is that day ("today" says today);
- a day of the month ("the 12th") is the next one from today, a month and day
  ("December 15th") the next one from today; a date that does not exist is no date;
- a bare number is never a time: "at", "around"… before it, or a.m./p.m., "o'clock",
  or minutes ("10:30", "ten thirty") make it one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dialtone.agents.english import ENGLISH
from dialtone.agents.language import Language, SpokenTime, WhenWords
from dialtone.agents.text import normalise

DayPart = str  # a key of the language's day parts' names: "morning", "afternoon", "evening"


@dataclass(frozen=True, slots=True)
class When:
    """What an utterance said of a date and time. ``part`` is a part of the day said
    without a time; ``guessed`` marks an hour whose half of the day was inferred."""

    day: date | None = None
    at: time | None = None
    part: DayPart | None = None
    guessed: bool = False

    @property
    def complete(self) -> bool:
        """A day and a time: something to book."""
        return self.day is not None and self.at is not None

    @property
    def empty(self) -> bool:
        """Nothing about a date or time was said."""
        return self.day is None and self.at is None and self.part is None

    def start(self, zone: ZoneInfo) -> datetime | None:
        """The moment, in ``zone``, once both the day and the time are known."""
        if self.day is None or self.at is None:
            return None
        return datetime.combine(self.day, self.at, tzinfo=zone)

    def merged(self, later: When) -> When:
        """This, completed or corrected by ``later`` (what the caller said next). A part
        of the day said before settles the half of an hour said after ("afternoon" …
        "at 3")."""
        day = later.day or self.day
        part = later.part or self.part
        at, guessed = later.at, later.guessed
        if at is None:
            at, guessed = self.at, self.guessed
        elif later.guessed and later.part is None and self.part is not None:
            at, guessed = _in_part(at, self.part), False
        return When(day=day, at=at, part=None if at is not None else part, guessed=guessed)


@dataclass(frozen=True, slots=True)
class _Grammar:
    """The patterns of one language's words, compiled once."""

    number_word: re.Pattern[str]
    tens_unit: re.Pattern[str]
    ordinal_word: re.Pattern[str]
    tens_ordinal: re.Pattern[str]
    oh_minutes: re.Pattern[str]
    hh_mm: re.Pattern[str]
    at_h_mm: re.Pattern[str]
    h_mm_half: re.Pattern[str]
    relative: re.Pattern[str]
    minutes_past: re.Pattern[str]
    hour_half: re.Pattern[str]
    hour_oclock: re.Pattern[str]
    at_hour: re.Pattern[str]
    hour_part: re.Pattern[str]
    noon: re.Pattern[str]
    midnight: re.Pattern[str]
    part: re.Pattern[str]
    this_part: re.Pattern[str]
    month_day: re.Pattern[str]
    day_month: re.Pattern[str]
    day_of_month: re.Pattern[str]
    weekday: re.Pattern[str]
    in_days: re.Pattern[str]
    today: re.Pattern[str]
    tomorrow: re.Pattern[str]
    after_tomorrow: re.Pattern[str]


def _words(options: Iterable[str]) -> str:
    # Longest first: "half past" before "half".
    items = sorted(options, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(item) for item in items) + ")"


@lru_cache(maxsize=8)
def _grammar(words: WhenWords) -> _Grammar:
    units = {k: v for k, v in words.numbers.items() if v < 10 and v > 0}
    tens = {k: v for k, v in words.numbers.items() if v >= 20}
    unit_ordinals = {k: v for k, v in words.ordinals.items() if v < 10}
    suffix = _words(words.ordinal_suffixes)
    halves = _words((*words.am, *words.pm))
    at = _words(words.at)
    month = _words(words.months)
    parts = _words(words.day_parts)
    b = r"\b"
    return _Grammar(
        number_word=re.compile(b + _words(words.numbers) + b),
        tens_unit=re.compile(rf"\b({_words(tens)}) ({_words(units)})\b"),
        ordinal_word=re.compile(b + _words(words.ordinals) + b),
        tens_ordinal=re.compile(rf"\b({_words(tens)}) ({_words(unit_ordinals)})\b"),
        oh_minutes=re.compile(r"\b(\d{1,2}) 0 ([1-9])\b"),
        hh_mm=re.compile(rf"\b(\d{{1,2}}):(\d{{2}})\b(?: ({halves})\b)?"),
        at_h_mm=re.compile(rf"\b{at} (\d{{1,2}}) (\d{{2}})\b(?: ({halves})\b)?"),
        h_mm_half=re.compile(rf"\b(\d{{1,2}}) (\d{{2}}) ({halves})\b"),
        relative=re.compile(rf"\b({_words(words.relative_minutes)}) (\d{{1,2}})\b"),
        minutes_past=re.compile(
            rf"\b(\d{{1,2}}) (?:minutes )?({_words((*words.past, *words.to))}) (\d{{1,2}})\b"
        ),
        hour_half=re.compile(rf"\b(\d{{1,2}}) ({halves})\b"),
        hour_oclock=re.compile(rf"\b(\d{{1,2}}) {_words(words.oclock)}\b"),
        at_hour=re.compile(
            rf"\b{at} (\d{{1,2}})\b(?! ?(?:{suffix}|\d)\b)(?! {_words(words.counted)}\b)"
        ),
        hour_part=re.compile(rf"\b(\d{{1,2}}) (?:{_words(words.part_joiners)} )?({parts})\b"),
        noon=re.compile(b + _words(words.noon) + b),
        midnight=re.compile(b + _words(words.midnight) + b),
        part=re.compile(b + f"({parts})" + b),
        this_part=re.compile(rf"\b{_words(words.this)} ({parts})\b"),
        month_day=re.compile(rf"\b({month}) (?:the )?(\d{{1,2}})(?:{suffix})?\b"),
        day_month=re.compile(rf"\b(\d{{1,2}})(?:{suffix})? (?:of )?({month})\b"),
        day_of_month=re.compile(
            rf"\b(?:the )?(\d{{1,2}})(?:{suffix})\b(?! (?:1|option|slot|time|choice)\b)"
        ),
        weekday=re.compile(rf"\b({_words(words.weekdays)})s?\b"),
        in_days=re.compile(
            rf"\b{re.escape(words.in_days[0])} (\d{{1,2}}) {re.escape(words.in_days[1])}s?\b"
        ),
        today=re.compile(b + _words(words.today) + b),
        tomorrow=re.compile(b + _words(words.tomorrow) + b),
        after_tomorrow=re.compile(b + _words(words.day_after_tomorrow) + b),
    )


def _digits(text: str, words: WhenWords, grammar: _Grammar) -> str:
    """Number and ordinal words as digits: "twenty five" → "25", "twelfth" → "12th",
    "ten oh five" → "10 05"."""
    ordinal_suffix = words.ordinal_suffixes[-1]
    text = grammar.tens_ordinal.sub(
        lambda m: f"{words.numbers[m[1]] + words.ordinals[m[2]]}{ordinal_suffix}", text
    )
    text = grammar.ordinal_word.sub(lambda m: f"{words.ordinals[m[0]]}{ordinal_suffix}", text)
    text = grammar.tens_unit.sub(lambda m: str(words.numbers[m[1]] + words.numbers[m[2]]), text)
    text = grammar.number_word.sub(lambda m: str(words.numbers[m[0]]), text)
    return grammar.oh_minutes.sub(lambda m: f"{m[1]} 0{m[2]}", text)


def _in_part(at: time, part: DayPart) -> time:
    if part in ("afternoon", "evening") and at.hour < 12:
        return at.replace(hour=at.hour + 12)
    return at


def _clock(
    hour: int, minute: int, half: str | None, words: WhenWords, part: DayPart | None
) -> tuple[time, bool] | None:
    """The time of ``hour``:``minute`` with a.m./p.m. ``half`` or the ``part`` of the
    day said, else by the business-hours rule (8–11 a.m., 12 noon, 1–7 p.m.)."""
    if not 0 <= minute <= 59:
        return None
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour %= 12
        if half in words.pm:
            hour += 12
        return time(hour, minute), False
    if hour > 23:
        return None
    if hour >= 13 or hour == 0:
        return time(hour, minute), False
    if part is not None:
        return _in_part(time(hour % 12 if part == "morning" else hour, minute), part), False
    if 1 <= hour <= 7:
        return time(hour + 12, minute), True
    return time(hour, minute), hour != 12


def _time_of(
    text: str, words: WhenWords, g: _Grammar, part: DayPart | None
) -> tuple[time, bool] | None:
    def half(value: str | None) -> str | None:
        return value or None

    found = g.hh_mm.search(text) or g.at_h_mm.search(text) or g.h_mm_half.search(text)
    if found:
        return _clock(int(found[1]), int(found[2]), half(found[3]), words, part)
    found = g.relative.search(text)
    if found:
        offset = words.relative_minutes[found[1]]
        hour = int(found[2]) - (1 if offset < 0 else 0)
        clock = _clock(
            hour if hour > 0 else 12,
            offset % 60,
            _half_after(text, found.end(), words),
            words,
            part,
        )
        return clock
    found = g.minutes_past.search(text)
    if found and 1 <= int(found[1]) <= 30 and 1 <= int(found[3]) <= 12:
        minutes = int(found[1])
        hour = int(found[3])
        if found[2] in words.to:
            hour, minutes = (hour - 1 if hour > 1 else 12), 60 - minutes
        return _clock(hour, minutes, _half_after(text, found.end(), words), words, part)
    found = g.hour_half.search(text)
    if found:
        return _clock(int(found[1]), 0, found[2], words, part)
    found = g.hour_part.search(text)
    if found:
        name = words.day_parts[found[2]][0]
        return _clock(int(found[1]), 0, None, words, name)
    found = g.hour_oclock.search(text) or g.at_hour.search(text)
    if found:
        return _clock(int(found[1]), 0, _half_after(text, found.end(), words), words, part)
    if g.noon.search(text):
        return time(12, 0), False
    if g.midnight.search(text):
        return time(0, 0), False
    return None


def _half_after(text: str, end: int, words: WhenWords) -> str | None:
    following = text[end:].split()[:1]
    if following and following[0] in (*words.am, *words.pm):
        return following[0]
    return None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_month_day(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        found = _valid(year, month, day)
        if found is not None and found >= today:
            return found
    # 29 February: the next leap year within the following ones.
    for year in range(today.year + 2, today.year + 9):
        found = _valid(year, month, day)
        if found is not None:
            return found
    return None


def _next_day_of_month(today: date, day: int) -> date | None:
    year, month = today.year, today.month
    for _ in range(13):
        found = _valid(year, month, day)
        if found is not None and found >= today:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _day_of(text: str, words: WhenWords, g: _Grammar, today: date) -> date | None:
    if g.after_tomorrow.search(text):
        return today + timedelta(days=2)
    if g.tomorrow.search(text):
        return today + timedelta(days=1)
    if g.today.search(text) or g.this_part.search(text):
        return today
    found = g.in_days.search(text)
    if found:
        return today + timedelta(days=int(found[1]))
    found = g.month_day.search(text)
    if found:
        return _next_month_day(today, words.months[found[1]], int(found[2]))
    found = g.day_month.search(text)
    if found:
        return _next_month_day(today, words.months[found[2]], int(found[1]))
    found = g.weekday.search(text)
    if found:
        ahead = (words.weekdays[found[1]] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    found = g.day_of_month.search(text)
    if found:
        return _next_day_of_month(today, int(found[1]))
    return None


def parse_when(text: str, now: datetime, lang: Language = ENGLISH) -> When:
    """What ``text`` says of a day and a time, relative to ``now`` (aware, in the
    agent's zone). Unsaid parts are None; see the module's decisions on ambiguity."""
    words = lang.when
    g = _grammar(words)
    digits = _digits(normalise(text, lang), words, g)
    found_part = g.part.search(digits)
    part = words.day_parts[found_part[1]][0] if found_part else None
    day = _day_of(digits, words, g, now.date())
    clock = _time_of(digits, words, g, part)
    if clock is None:
        return When(day=day, part=part)
    return When(day=day, at=clock[0], guessed=clock[1])


def within(when: When, part: DayPart, words: WhenWords) -> bool:
    """Whether ``when``'s time lies in ``part`` of the day."""
    bounds = next((b for b in words.day_parts.values() if b[0] == part), None)
    return when.at is not None and bounds is not None and bounds[1] <= when.at.hour <= bounds[2]


# -- saying it back ----------------------------------------------------------------------


def say_time(at: time, lang: Language = ENGLISH) -> str:
    """``at`` as said: "10 a.m.", "2:30 p.m.", "noon"."""
    spoken = lang.spoken
    if at.minute == 0 and at.hour == 12:
        return spoken.noon
    if at.minute == 0 and at.hour == 0:
        return spoken.midnight
    hour = at.hour % 12 or 12
    half = spoken.pm if at.hour >= 12 else spoken.am
    pattern = spoken.time_on_hour if at.minute == 0 else spoken.time_with_minutes
    return pattern.format(hour=hour, minute=at.minute, half=half)


def say_date(day: date, today: date | None, spoken: SpokenTime) -> str:
    """``day`` as said: "today", "tomorrow", else "Tuesday 8 December"."""
    if today is not None and day == today:
        return spoken.today
    if today is not None and day == today + timedelta(days=1):
        return spoken.tomorrow
    return spoken.date.format(
        weekday=spoken.weekdays[day.weekday()], day=day.day, month=spoken.months[day.month - 1]
    )


def say_when(start: datetime, now: datetime | None = None, lang: Language = ENGLISH) -> str:
    """``start`` as said back to the caller: "tomorrow at 10 a.m.", "Tuesday 8 December
    at 2:30 p.m." (relative to ``now`` when given)."""
    today = now.astimezone(start.tzinfo).date() if now is not None else None
    spoken = lang.spoken
    return spoken.at.format(
        date=say_date(start.date(), today, spoken), time=say_time(start.time(), lang)
    )


def with_part(when: When, part: DayPart | None) -> When:
    """``when`` with its part of the day set (kept between turns)."""
    return replace(when, part=part)
