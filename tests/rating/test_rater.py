"""Rating (TERMS B1, B2, B3, B4, B5, V4, B16): buckets in order, each record once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.rating.plans import DEFAULT_CATALOGUE, Plan
from dialtone.rating.rater import Buckets, Rater, RatingContext, Usage, unlimited_applies
from dialtone.rating.tariffs import DeckVersion, Tariff, parse_csv

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DECK = parse_csv(
    "prefix,destination,rate_per_minute,connect_fee,increment\n"
    "33,France,0.03,,\n336,France mobile,0.09,0.01,\n41,Switzerland,0.20,,\n"
    "49,Germany,0.05,,\n1,North America,0.02,,1/1\n"
)
SMS = parse_csv("prefix,destination,rate_per_segment\n33,France,0.07\n")
CALLS = Tariff([DeckVersion(T0, DECK)])
ESSENTIAL = DEFAULT_CATALOGUE["essential"]
UNLIMITED = DEFAULT_CATALOGUE["unlimited"]


def ctx(plan: Plan = ESSENTIAL, **kw: object) -> RatingContext:
    return RatingContext(plan, "EUR", CALLS, Tariff([DeckVersion(T0, SMS)]), **kw)  # type: ignore[arg-type]


def call(seconds: str, to: str = "+33123456789", country: str = "FR", **kw: object) -> Usage:
    fields: dict[str, object] = {
        "key": f"c{seconds}{to}",
        "kind": "call",
        "started_at": T0,
        "destination": to,
        "duration": Decimal(seconds),
        "destination_country": country,
        "caller": "+33199000000",
        "caller_country": "FR",
    }
    fields.update(kw)
    return Usage(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "billed", "price"),
    [
        ("59", 60, "0.0300"),
        ("60", 60, "0.0300"),
        ("61", 120, "0.0600"),
        ("66", 120, "0.0600"),  # B2: 1 min 06 s bills 2 min
        ("0", 0, "0.0000"),
    ],
)
def test_overage_is_the_destination_rate_by_started_minute(
    seconds: str, billed: int, price: str
) -> None:
    line = Rater(ctx()).rate(call(seconds))
    assert (line.quantity, line.price, line.overage) == (billed, Decimal(price), Decimal(price))
    assert line.credits == 0
    assert line.increment == "60/60"
    assert line.tariff_version == T0
    assert line.rate_prefix == "33"


@pytest.mark.parametrize(
    ("left", "seconds", "included", "overage"),
    [
        (120, "61", 120, "0.0000"),  # just fits
        (60, "61", 60, "0.0300"),  # one minute included, one at the rate
        (0, "61", 0, "0.0600"),
        (59, "30", 59, "0.0005"),  # 1 s left over at 0.03/min
    ],
)
def test_included_minutes_come_first(left: int, seconds: str, included: int, overage: str) -> None:
    rater = Rater(ctx(), Buckets({"zone1": left}))
    line = rater.rate(call(seconds))
    assert (line.included, line.overage) == (included, Decimal(overage))
    assert rater.buckets.included_seconds["zone1"] == left - included
    assert ("included" in line.buckets) == (included > 0)


@pytest.mark.parametrize(
    ("credit", "credits", "overage"),
    [("1.00", "0.0600", "0.0000"), ("0.06", "0.0600", "0.0000"), ("0.05", "0.0500", "0.0100")],
)
def test_credits_before_overage(credit: str, credits: str, overage: str) -> None:
    rater = Rater(ctx(), Buckets({}, Decimal(credit)))
    line = rater.rate(call("61"))
    assert (line.credits, line.overage) == (Decimal(credits), Decimal(overage))
    assert rater.buckets.credits == Decimal(credit) - Decimal(credits)


def test_connect_fee_and_mobile_rate() -> None:
    line = Rater(ctx()).rate(call("61", "+33612345678"))
    assert line.price == Decimal("0.1900")  # 0.01 + 2 × 0.09


def test_rerating_a_key_draws_nothing_again() -> None:
    rater = Rater(ctx(), Buckets({"zone1": 60}, Decimal("1")))
    first = rater.rate(call("200"))
    again = rater.rate(call("200"))
    assert first is again
    assert rater.buckets.included_seconds["zone1"] == 0
    assert rater.buckets.credits == Decimal(1) - first.credits


@pytest.mark.parametrize(
    ("dest", "dest_country", "caller_country", "mobile", "included"),
    [
        ("+33123456789", "FR", "FR", False, True),
        ("+4930123456", "DE", "FR", False, True),  # EEA with an EEA number
        ("+4930123456", "DE", "US", False, False),  # EEA needs an EEA caller number
        ("+41441234567", "CH", "CH", False, True),
        ("+41441234567", "CH", "FR", False, False),  # Switzerland needs a Swiss number
        ("+14155550100", "US", "FR", False, True),
        ("+4930123456", "DE", "DE", True, True),  # foreign mobile, national traffic
        ("+33123456789", "FR", "DE", True, False),  # foreign mobile, international
        ("+33123456789", "FR", "FR", True, True),  # French mobile
    ],
)
def test_unlimited_zone_1_conditions(
    dest: str, dest_country: str, caller_country: str, mobile: bool, included: bool
) -> None:
    usage = call("61", dest, dest_country, caller_country=caller_country, caller_mobile=mobile)
    assert unlimited_applies(usage, ctx(UNLIMITED), "zone1") is included
    line = Rater(ctx(UNLIMITED)).rate(usage)
    assert (line.buckets == ("unlimited",)) is included
    assert (line.charge == 0) is included


@pytest.mark.parametrize("flag", ["call_centre", "unlimited_suspended"])
def test_unlimited_excludes_call_centres_and_suspended_plans(flag: str) -> None:
    line = Rater(ctx(UNLIMITED, **{flag: True})).rate(call("61"))
    assert line.included == 0
    assert line.overage == Decimal("0.0600")


def test_forwards_are_billed_by_destination_even_on_unlimited() -> None:
    line = Rater(ctx(UNLIMITED)).rate(replace(call("61"), kind="forward"))
    assert line.overage == Decimal("0.0600")
    assert "V4" in line.rules


@pytest.mark.parametrize(("seconds", "penalty"), [("59", "0.0800"), ("61", "0.1600")])
def test_telemarketing_penalty_per_minute_on_top(seconds: str, penalty: str) -> None:
    line = Rater(ctx(UNLIMITED, telemarketing_penalty=True)).rate(call(seconds))
    assert line.penalty == Decimal(penalty)
    assert line.included > 0  # on top of the nominal rate, whatever paid the call
    assert "B16" in line.rules


def test_sms_per_segment() -> None:
    usage = Usage("m1", "sms", T0, "+33612345678", segments=3, destination_country="FR")
    line = Rater(ctx()).rate(usage)
    assert (line.quantity, line.overage) == (3, Decimal("0.2100"))


def test_no_rate_is_kept_unrated() -> None:
    line = Rater(ctx()).rate(call("61", "+81312345678", "JP"))
    assert line.status == "unrated"
    assert line.reason == "rating.no_rate"
    assert line.charge == 0


def test_trial_minutes_are_per_user() -> None:
    trial = DEFAULT_CATALOGUE["trial"]
    buckets = Buckets({"zone1:user:a": 3600, "zone1:user:b": 3600})
    rater = Rater(ctx(trial), buckets)
    rater.rate(call("3600", user_id="a"))
    assert buckets.included_seconds == {"zone1:user:a": 0, "zone1:user:b": 3600}
    over = rater.rate(replace(call("61", user_id="a"), key="x"))
    assert over.included == 0


@settings(max_examples=200, deadline=None)
@given(
    durations=st.lists(st.integers(0, 4000), min_size=1, max_size=30),
    included=st.integers(0, 6000),
    credit=st.decimals("0", "5", places=2),
    repeat=st.lists(st.integers(0, 29), max_size=10),
)
def test_rating_is_idempotent_and_conserves_buckets(
    durations: list[int], included: int, credit: Decimal, repeat: list[int]
) -> None:
    rater = Rater(ctx(), Buckets({"zone1": included}, credit))
    usages = [replace(call(str(d)), key=f"k{i}") for i, d in enumerate(durations)]
    order = usages + [usages[i] for i in repeat if i < len(usages)]
    lines = {u.key: rater.rate(u) for u in order}
    assert len(lines) == len(usages)
    assert (
        sum(ln.included for ln in lines.values()) + rater.buckets.included_seconds["zone1"]
        == included
    )
    assert sum(ln.credits for ln in lines.values()) + rater.buckets.credits == credit
    for ln in lines.values():
        assert ln.price == ln.credits + ln.overage
        assert min(ln.price, ln.credits, ln.overage, ln.penalty) >= 0
