"""Moments from outside: their UTC offset, and years the platform can mean (issue 13)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from dialtone.core.moments import MomentError, check_moment, parse_day, parse_moment, parse_month


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2026-12-06T10:00:00Z", True),
        ("2026-12-06T10:00:00+01:00", True),
        ("2026-12-06T10:00:00", False),  # no offset
        ("2026-12-06", False),  # a date is not a moment
        ("yesterday", False),
        ("1999-12-31T23:59:59Z", False),  # just under
        ("2000-01-01T00:00:00Z", True),  # at
        ("2199-12-31T23:59:59Z", True),  # at
        ("2200-01-01T00:00:00Z", False),  # just over
        ("0001-01-01T00:00:00+01:00", False),  # would overflow in UTC
        ("9999-12-31T23:59:59-01:00", False),  # likewise
    ],
)
def test_moments_need_an_offset_and_a_sane_year(text: str, ok: bool) -> None:
    if ok:
        assert parse_moment(text).utcoffset() is not None
    else:
        with pytest.raises(MomentError):
            parse_moment(text)


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2026-12-06", True), ("1999-12-31", False), ("2000-01-01", True), ("2199-12-31", True),
     ("2200-01-01", False), ("2026-13-01", False), ("06/12/2026", False)],
)  # fmt: skip
def test_days_are_iso_and_within_the_years(text: str, ok: bool) -> None:
    if ok:
        assert isinstance(parse_day(text), date)
    else:
        with pytest.raises(MomentError):
            parse_day(text)


def test_the_value_is_kept_as_written() -> None:
    paris = datetime(2026, 12, 6, 10, tzinfo=timezone(timedelta(hours=1)))
    assert check_moment(paris) is paris
    with pytest.raises(MomentError, match="offset"):
        check_moment(datetime(2026, 12, 6, 10))
    assert check_moment(datetime(2026, 12, 6, tzinfo=UTC)).tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2026-12", True), ("1999-12", False), ("2000-01", True), ("2199-12", True),
     ("2200-01", False), ("9999-12", False), ("2026-13", False), ("2026-12-01", False)],
)  # fmt: skip
def test_months_are_yyyy_mm_within_the_years(text: str, ok: bool) -> None:
    if ok:
        assert parse_month(text).day == 1
    else:
        with pytest.raises(MomentError):
            parse_month(text)
