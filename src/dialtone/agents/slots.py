"""When an appointment can be booked (TERMS A1: the agent books appointments within the
profile's business hours and the calendar's free time).

Pure: the profile's ``hours`` (local week-day windows in ``profile.timezone``), the busy
intervals read from the calendar (aware datetimes), the wanted start and length, and the
present ``now`` come in; a verdict or the nearest free starts come out.

A profile without ``hours`` is always open: the calendar alone decides (as
``agents.hours.is_open`` tells the dialog).

Every sum is taken in absolute time (UTC), never on the wall clock: a 30-minute
appointment lasts 30 minutes across a daylight-saving change, and the windows of a day
are placed with ``zoneinfo`` (a local opening that does not exist on a spring-forward day
moves forward with the clocks; an ambiguous one takes its first occurrence).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from dialtone.agents.profile import OpenHours

Interval = tuple[datetime, datetime]
Refusal = Literal["past", "closed", "busy"]

# How far from the wanted start ``free_starts`` looks, each way, in days: far enough for
# "next week", near enough that a fully booked calendar answers at once.
DEFAULT_HORIZON_DAYS = 14
# No hours set: every day from midnight to midnight.
ALWAYS_OPEN = tuple(OpenHours(day, time(0), time(0)) for day in range(7))
# The grid's coarsest step: a one-hour appointment can still start on the half hour.
MAX_GRID_MINUTES = 30


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: {moment!r}")
    return moment


def _local(day: date, at: time, zone: tzinfo) -> datetime:
    # Through UTC and back: a wall time in a spring-forward gap comes out as the instant
    # the clocks say after the change (02:30 that never was is 03:30 summer time).
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def windows(hours: Iterable[OpenHours], zone: tzinfo, first: date, last: date) -> list[Interval]:
    """The opening windows of the local days ``first`` … ``last`` as aware intervals,
    sorted, touching or overlapping windows merged (A1's business hours; no hours at all
    is ``ALWAYS_OPEN``).

    ``closes`` is exclusive; a window whose ``closes`` is not after ``opens`` runs past
    midnight into the next day (``closes`` 00:00 is the end of the day).
    """
    found: list[Interval] = []
    day = first
    by_weekday: dict[int, list[OpenHours]] = {}
    for window in tuple(hours) or ALWAYS_OPEN:
        by_weekday.setdefault(window.weekday, []).append(window)
    while day <= last:
        for window in by_weekday.get(day.weekday(), ()):
            ends_on = day if window.closes > window.opens else day + timedelta(days=1)
            start, end = _local(day, window.opens, zone), _local(ends_on, window.closes, zone)
            if end > start:
                found.append((start, end))
        day += timedelta(days=1)
    found.sort()
    merged: list[Interval] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def refusal(
    hours: Sequence[OpenHours],
    zone: tzinfo,
    busy: Sequence[Interval],
    start: datetime,
    *,
    minutes: int,
    now: datetime,
) -> Refusal | None:
    """Why ``start`` for ``minutes`` cannot be booked (A1), or None when it can:
    ``"past"`` (it starts before ``now``), ``"closed"`` (it does not lie whole inside one
    opening window: it may start exactly at opening and end exactly at closing),
    ``"busy"`` (it overlaps a busy interval; ending exactly when one starts, or starting
    exactly when one ends, is no overlap)."""
    _aware(start, "start")
    _aware(now, "now")
    if minutes <= 0:
        raise ValueError(f"an appointment lasts a positive number of minutes, not {minutes}")
    begin = start.astimezone(UTC)
    end = begin + timedelta(minutes=minutes)
    if begin < now:
        return "past"
    local_day = start.astimezone(zone).date()
    # The day before too (its overnight window may still be open) and the day after (a
    # window from its midnight continues one of this day's).
    open_windows = windows(
        hours, zone, local_day - timedelta(days=1), local_day + timedelta(days=1)
    )
    if not any(w_start <= begin and end <= w_end for w_start, w_end in open_windows):
        return "closed"
    if _overlaps(begin, end, busy):
        return "busy"
    return None


def is_bookable(
    hours: Sequence[OpenHours],
    zone: tzinfo,
    busy: Sequence[Interval],
    start: datetime,
    *,
    minutes: int,
    now: datetime,
) -> bool:
    """Whether ``start`` for ``minutes`` is in the future, within one opening window and
    free (A1); see ``refusal`` for the boundaries."""
    return refusal(hours, zone, busy, start, minutes=minutes, now=now) is None


def _overlaps(begin: datetime, end: datetime, busy: Sequence[Interval]) -> bool:
    for busy_start, busy_end in busy:
        if _aware(busy_start, "busy start") < end and begin < _aware(busy_end, "busy end"):
            return True
    return False


def grid_minutes(minutes: int) -> int:
    """The step between offered starts: the appointment's length, at most 30 minutes."""
    return max(1, min(minutes, MAX_GRID_MINUTES))


def free_starts(
    hours: Sequence[OpenHours],
    zone: tzinfo,
    busy: Sequence[Interval],
    *,
    around: datetime,
    minutes: int,
    now: datetime,
    count: int = 3,
    step_minutes: int | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> tuple[datetime, ...]:
    """The ``count`` bookable starts nearest ``around`` (before or after it, never before
    ``now``), in time order, in ``zone`` (A1: the alternatives the agent offers).

    Starts lie on a grid from each window's opening, every ``step_minutes`` (by default
    ``grid_minutes(minutes)``), within ``horizon_days`` local days of ``around``. Fewer
    than ``count`` when the horizon holds fewer.
    """
    _aware(around, "around")
    _aware(now, "now")
    if count <= 0:
        return ()
    if minutes <= 0:
        raise ValueError(f"an appointment lasts a positive number of minutes, not {minutes}")
    step = timedelta(minutes=step_minutes or grid_minutes(minutes))
    length = timedelta(minutes=minutes)
    centre = around.astimezone(zone).date()
    first = max(centre - timedelta(days=horizon_days), now.astimezone(zone).date())
    last = centre + timedelta(days=horizon_days)
    candidates: list[datetime] = []
    for w_start, w_end in windows(hours, zone, first - timedelta(days=1), last):
        begin = w_start.astimezone(UTC)
        while begin + length <= w_end:
            if begin >= now and not _overlaps(begin, begin + length, busy):
                candidates.append(begin)
            begin += step
    centre_utc = around.astimezone(UTC)
    nearest = sorted(candidates, key=lambda s: (abs(s - centre_utc), s))[:count]
    return tuple(s.astimezone(zone) for s in sorted(nearest))
