"""Rate decks (TERMS B5, B2): longest-prefix match, prices to the ten-thousandth, CSV
import with every bad line reported, versions by effective date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.rating.increments import Increment
from dialtone.rating.tariffs import DeckError, DeckVersion, Rate, RateDeck, Tariff, parse_csv

DECK = """prefix,destination,rate_per_minute,connect_fee,increment
33,France,0.03,,
336,France mobile,0.09,0.01,
337,France mobile,0.09,0.01,30/6
+44,United Kingdom,0.05,,
1,North America,0.02,,1/1
"""


@pytest.mark.parametrize(
    ("number", "destination"),
    [
        ("+33123456789", "France"),
        ("+33612345678", "France mobile"),
        ("+33712345678", "France mobile"),
        ("+447400123456", "United Kingdom"),
        ("+14155550100", "North America"),
        ("+4930123456", None),  # not covered
        ("+3", None),
    ],
)
def test_the_longest_prefix_wins(number: str, destination: str | None) -> None:
    rate = parse_csv(DECK).rate_for(number)
    assert (rate.destination if rate else None) == destination


@pytest.mark.parametrize(
    ("prefix_number", "seconds", "price"),
    [
        ("+33123456789", "0", "0.0000"),  # unanswered
        ("+33123456789", "59", "0.0300"),  # B2: one started minute
        ("+33123456789", "60", "0.0300"),
        ("+33123456789", "61", "0.0600"),
        ("+33123456789", "66", "0.0600"),  # 1 min 06 s bills 2 min
        ("+33612345678", "61", "0.1900"),  # connect fee + 2 minutes
        ("+33712345678", "31", "0.0640"),  # 30/6: 36 s at 0.09/min + 0.01
        ("+14155550100", "61", "0.0203"),  # 1/1: 61 s at 0.02/min, half up
    ],
)
def test_prices_follow_the_increment(prefix_number: str, seconds: str, price: str) -> None:
    rate = parse_csv(DECK).rate_for(prefix_number)
    assert rate is not None
    assert rate.price(Decimal(seconds)) == Decimal(price)


def test_every_bad_line_is_reported_at_once() -> None:
    bad = """prefix,destination,rate_per_minute,connect_fee,increment
33,France,0.03,,
33,France again,0.03,,
x1,Nowhere,0.01,,
44,UK,cheap,,
49,Germany,-0.01,,
39,Italy,0.02,,6/0
"""
    with pytest.raises(DeckError) as refused:
        parse_csv(bad)
    lines = [p.split(":")[0] for p in refused.value.problems]
    assert lines == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    with pytest.raises(DeckError, match="header"):
        parse_csv("code,name\n33,France\n")


def test_versions_by_effective_date() -> None:
    jan = datetime(2026, 1, 1, tzinfo=UTC)
    old = RateDeck([Rate("33", "France", Decimal("0.03"))])
    new = RateDeck([Rate("33", "France", Decimal("0.04"))])
    tariff = Tariff([DeckVersion(jan + timedelta(days=31), new), DeckVersion(jan, old)])
    assert tariff.version_at(jan - timedelta(seconds=1)) is None
    assert tariff.version_at(jan).deck is old  # type: ignore[union-attr]
    feb = jan + timedelta(days=31)
    assert tariff.version_at(feb - timedelta(seconds=1)).deck is old  # type: ignore[union-attr]
    assert tariff.version_at(feb).deck is new  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="same moment"):
        Tariff([DeckVersion(jan, old), DeckVersion(jan, new)])


@settings(max_examples=200, deadline=None)
@given(
    prefixes=st.sets(st.text(alphabet="0123456789", min_size=1, max_size=6), max_size=40),
    number=st.text(alphabet="0123456789", min_size=1, max_size=15),
)
def test_lookup_equals_a_scan_for_the_longest_prefix(prefixes: set[str], number: str) -> None:
    deck = RateDeck(Rate(p, p, Decimal(1)) for p in prefixes)
    matching = [p for p in prefixes if number.startswith(p)]
    expected = max(matching, key=len) if matching else None
    found = deck.rate_for("+" + number)
    assert (found.prefix if found else None) == expected


def test_a_duplicate_prefix_is_refused_in_code_too() -> None:
    with pytest.raises(DeckError):
        RateDeck([Rate("33", "a", Decimal(1)), Rate("33", "b", Decimal(2))])
    assert Rate("33", "x", Decimal(1), increment=Increment(1, 1)).price(Decimal("0.4")) == Decimal(
        "0.0167"
    )
