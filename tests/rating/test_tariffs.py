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
    found = [(p.line, p.column, p.name) for p in refused.value.problems]
    assert found == [
        (3, 1, "prefix"), (4, 1, "prefix"), (5, 3, "rate_per_minute"),
        (6, 3, "rate_per_minute"), (7, 5, "increment"),
    ]  # fmt: skip
    assert str(refused.value.problems[1]) == (
        "line 4, column 1 (prefix): 'x1' is not 1 to 15 digits"
    )
    with pytest.raises(DeckError, match="header"):
        parse_csv("code,name\n33,France\n")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        # A blank line and a quoted field over two lines still give the file's line number.
        ('\n"34",Spain,\n', "line 3, column 3 (rate_per_minute): empty; a rate is required"),
        ('"3\n4",Spain,0.01\n44,UK,x\n', "line 4, column 3 (rate_per_minute): 'x' is not a number"),
        ("44,UK,0.01,0,60/60,extra\n", "line 2: 6 fields; the header has 3"),
    ],
)
def test_a_problem_names_its_line_in_the_file_and_its_column(body: str, problem: str) -> None:
    with pytest.raises(DeckError) as refused:
        parse_csv("prefix,destination,rate_per_minute\n" + body)
    assert problem in [str(p) for p in refused.value.problems]


def test_an_sms_deck_names_its_own_column() -> None:
    with pytest.raises(DeckError) as refused:
        parse_csv("prefix,destination,rate_per_segment\n33,France,free\n")
    assert str(refused.value.problems[0]) == (
        "line 2, column 3 (rate_per_segment): 'free' is not a number"
    )


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
