"""Business hours (TERMS A1): whether a time is open, and the hours said aloud.

Hours are local to the profile's zone; a window's ``closes`` is exclusive, an
appointment must end by it. The calendar task checks again (with the free slots): this
check only spares the caller a booking attempt that cannot succeed.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from dialtone.agents.english import ENGLISH
from dialtone.agents.language import Language
from dialtone.agents.profile import OpenHours
from dialtone.agents.when import say_time

DAYS_IN_WEEK = 7


def is_open(hours: tuple[OpenHours, ...], start: datetime, minutes: int) -> bool:
    """Whether ``start`` (local) to ``start + minutes`` lies in one open window; always
    true when no hours are set (the calendar alone decides)."""
    if not hours:
        return True
    end = start + timedelta(minutes=minutes)
    if end.date() != start.date() and end.time() != time(0, 0):
        return False
    for window in hours:
        if window.weekday != start.weekday():
            continue
        closes_by = end.time() if end.date() == start.date() else time(23, 59, 59)
        if window.opens <= start.time() and closes_by <= window.closes:
            return True
    return False


def closes_at(hours: tuple[OpenHours, ...], now: datetime) -> time | None:
    """When the window ``now`` is in closes; None when closed at ``now``."""
    for window in hours:
        if window.weekday == now.weekday() and window.opens <= now.time() < window.closes:
            return window.closes
    return None


def _windows(hours: tuple[OpenHours, ...], weekday: int) -> tuple[tuple[time, time], ...]:
    return tuple(sorted((w.opens, w.closes) for w in hours if w.weekday == weekday))


def say_hours(hours: tuple[OpenHours, ...], lang: Language = ENGLISH) -> str:
    """The week's hours as said: "Monday to Friday, 9 a.m. to 5 p.m., and Saturday,
    10 a.m. to noon" (consecutive days with the same windows said once)."""
    spoken = lang.spoken
    runs: list[tuple[int, int, tuple[tuple[time, time], ...]]] = []
    for day in range(DAYS_IN_WEEK):
        windows = _windows(hours, day)
        if not windows:
            continue
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == windows:
            runs[-1] = (runs[-1][0], day, windows)
        else:
            runs.append((day, day, windows))
    said: list[str] = []
    for first, last, windows in runs:
        days = spoken.weekdays[first]
        if last != first:
            days = spoken.range_.format(first=days, last=spoken.weekdays[last])
        times = f" {spoken.and_} ".join(
            spoken.range_.format(first=say_time(o, lang), last=say_time(c, lang))
            for o, c in windows
        )
        said.append(f"{days}, {times}")
    if len(said) > 1:
        return ", ".join(said[:-1]) + f", {spoken.and_} " + said[-1]
    return said[0] if said else ""
