"""Moments and days that come from outside (API bodies and queries, CLI options).

A moment from outside must say its UTC offset: ``2026-12-06T10:00:00`` could be any of
24 hours, and a telephony platform bills, schedules ports and counts SLA downtime across
time zones. It must also fall within years the platform can mean: year 1 or 9999 is a
typo or a probe, and a datetime that close to the edges of Python's range overflows as
soon as it is moved to another zone. The API (pydantic) and the CLI share these checks;
each names the field or option that failed. Pure: no clock, the caller passes ``now``.
"""

from __future__ import annotations

from datetime import date, datetime

EARLIEST_YEAR = 2000
LATEST_YEAR = 2199


class MomentError(ValueError):
    """A moment or day from outside that cannot be taken; the message says why, without
    the field's name (the edge adds it)."""


def check_year(year: int) -> int:
    """``year`` unless it is outside :data:`EARLIEST_YEAR`–:data:`LATEST_YEAR`."""
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise MomentError(f"year {year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}")
    return year


def check_moment(value: datetime) -> datetime:
    """``value`` unless it has no UTC offset or its year is absurd (see the module)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise MomentError(
            "has no UTC offset: write it as 2026-12-06T10:00:00Z or 2026-12-06T10:00:00+01:00"
        )
    # The year is checked on the value as written, before any arithmetic: moving
    # 0001-01-01T00:00+01:00 to UTC would overflow.
    check_year(value.year)
    return value


def check_day(value: date) -> date:
    """``value`` unless its year is absurd."""
    check_year(value.year)
    return value


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time with its offset (``Z`` or ``±hh:mm``), checked."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MomentError(
            f"{text!r} is not an ISO 8601 date-time (e.g. 2026-12-06T10:00:00Z)"
        ) from None
    return check_moment(value)


def parse_day(text: str) -> date:
    """An ISO 8601 date (``YYYY-MM-DD``), checked."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise MomentError(f"{text!r} is not an ISO 8601 date (YYYY-MM-DD)") from None
    return check_day(value)


def parse_month(text: str) -> date:
    """A calendar month written ``YYYY-MM``, as its first day, checked."""
    try:
        value = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise MomentError(f"{text!r} is not a month (YYYY-MM)") from None
    return check_day(value)
