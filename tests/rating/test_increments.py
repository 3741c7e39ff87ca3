"""TERMS B2: each call rounds up to the next increment; 60/60 by default, 30/6 and 1/1 too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dialtone.rating.increments import DEFAULT_INCREMENT, Increment

# (increment, exact duration in seconds, billed seconds) — computed by hand from the rule.
TABLE = [
    ("60/60", "0", 0),
    ("60/60", "0.001", 60),
    ("60/60", "59", 60),
    ("60/60", "60", 60),
    ("60/60", "60.001", 120),
    ("60/60", "61", 120),
    ("60/60", "66", 120),  # TERMS B2's own example: 1 min 06 s bills 2 min
    ("60/60", "120", 120),
    ("60/60", "121", 180),
    ("30/6", "0", 0),
    ("30/6", "1", 30),
    ("30/6", "29.999", 30),
    ("30/6", "30", 30),
    ("30/6", "30.5", 36),
    ("30/6", "59", 60),
    ("30/6", "60", 60),
    ("30/6", "61", 66),
    ("30/6", "66", 66),
    ("30/6", "66.001", 72),
    ("30/6", "120", 120),
    ("30/6", "121", 126),
    ("1/1", "0", 0),
    ("1/1", "0.2", 1),
    ("1/1", "59", 59),
    ("1/1", "59.5", 60),
    ("1/1", "60", 60),
    ("1/1", "61", 61),
    ("1/1", "66", 66),
    ("1/1", "120", 120),
    ("1/1", "121", 121),
]


@pytest.mark.parametrize(("increment", "duration", "billed"), TABLE)
def test_billed_seconds(increment: str, duration: str, billed: int) -> None:
    assert Increment.parse(increment).billed_seconds(Decimal(duration)) == billed


def test_default_is_every_started_minute() -> None:
    assert str(DEFAULT_INCREMENT) == "60/60"
    assert Increment() == DEFAULT_INCREMENT


def test_negative_duration_bills_nothing() -> None:
    assert DEFAULT_INCREMENT.billed_seconds(Decimal("-1")) == 0


@pytest.mark.parametrize("text", ["60", "60/", "/6", "0/60", "60/0", "a/b", "60/60/60", "-1/1", ""])
def test_bad_increments_are_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked below
        Increment.parse(text)


@pytest.mark.parametrize("text", ["60/60", " 30 / 6 ", "1/1"])
def test_parse_round_trip(text: str) -> None:
    assert str(Increment.parse(text)) == text.replace(" ", "")
