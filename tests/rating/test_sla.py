"""SLA credits (TERMS S1, S4; decisions "SLA top band" and "SLA edges")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.rating.sla import (
    ALL_CAUSES,
    S1_EXCLUDED,
    S4_EXCLUDED,
    Incident,
    IncidentCause,
    SlaCredit,
    downtime_minutes,
    local_month_bounds,
    monthly_availability,
    s1_claim_open,
    s1_credit,
    s1_credit_amount,
    s1_day_credits,
    s4_claim_open,
    s4_credit,
    s4_credit_amount,
    s4_credit_percent,
)

PARIS = ZoneInfo("Europe/Paris")
JUNE = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))  # 30 days
T0 = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def down(
    start: datetime,
    length: timedelta,
    *,
    location: str = "paris",
    cause: IncidentCause = "platform",
) -> Incident:
    return Incident(location, start, start + length, cause)


# -- S1: minutes per location ------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "days"),
    [
        (0, 0),
        (14, 0),
        (15, 1),
        (16, 1),
        (30, 1),
        (31, 2),
        (60, 2),
        (61, 4),
        (120, 4),
        (121, 6),
        (240, 6),
        (241, 8),  # "SLA top band": 241 and more
        (44_640, 8),
    ],
)
def test_s1_bands(minutes: int, days: int) -> None:
    assert s1_day_credits(minutes) == days


def test_s1_refuses_negative_minutes() -> None:
    with pytest.raises(ValueError, match="negative"):
        s1_day_credits(-1)


@pytest.mark.parametrize(
    ("length", "minutes"),
    [
        (timedelta(0), 0),
        (timedelta(microseconds=1), 1),
        (timedelta(minutes=14), 14),
        (timedelta(minutes=14, seconds=1), 15),  # every started minute counts
        (timedelta(minutes=15), 15),
        (timedelta(minutes=30, seconds=1), 31),
    ],
)
def test_every_started_minute_counts(length: timedelta, minutes: int) -> None:
    assert downtime_minutes([down(T0, length)], "paris", *JUNE) == minutes


def test_overlapping_incidents_count_once() -> None:
    incidents = [
        down(T0, timedelta(minutes=20)),
        down(T0 + timedelta(minutes=10), timedelta(minutes=20)),  # 10 min overlap
        down(T0 + timedelta(minutes=5), timedelta(minutes=5)),  # inside the first
        down(T0 + timedelta(minutes=30), timedelta(minutes=5)),  # touches the second
        down(T0 + timedelta(hours=2), timedelta(minutes=1)),  # separate
    ]
    assert downtime_minutes(incidents, "paris", *JUNE) == 36
    assert downtime_minutes(reversed(incidents), "paris", *JUNE) == 36


def test_an_incident_crossing_the_month_end_is_split() -> None:
    july = (JUNE[1], datetime(2026, 8, 1, tzinfo=UTC))
    crossing = [down(JUNE[1] - timedelta(minutes=20), timedelta(minutes=50))]
    assert downtime_minutes(crossing, "paris", *JUNE) == 20
    assert downtime_minutes(crossing, "paris", *july) == 30
    before = [down(JUNE[0] - timedelta(hours=1), timedelta(hours=1))]  # ends at the start
    assert downtime_minutes(before, "paris", *JUNE) == 0


@pytest.mark.parametrize("cause", sorted(ALL_CAUSES))
def test_s1_counts_only_causes_it_does_not_exclude(cause: IncidentCause) -> None:
    minutes = downtime_minutes([down(T0, timedelta(minutes=20), cause=cause)], "paris", *JUNE)
    assert minutes == (0 if cause in S1_EXCLUDED else 20)


def test_exclusion_sets() -> None:
    assert "platform" not in S1_EXCLUDED | S4_EXCLUDED
    assert "maintenance" not in S1_EXCLUDED  # S1 does not excuse the provider's own work
    assert ALL_CAUSES - {"platform"} == S4_EXCLUDED
    assert S4_EXCLUDED - {"maintenance"} == S1_EXCLUDED


def test_locations_are_never_combined() -> None:
    incidents = [
        down(T0, timedelta(minutes=10), location="paris"),
        down(T0 + timedelta(hours=1), timedelta(minutes=10), location="lyon"),
    ]
    assert downtime_minutes(incidents, "paris", *JUNE) == 10
    assert downtime_minutes(incidents, "lyon", *JUNE) == 10
    assert s1_day_credits(downtime_minutes(incidents, "paris", *JUNE)) == 0  # not 20 → 1 day


def test_a_paris_month_across_the_dst_change() -> None:
    start, end = local_month_bounds(2026, 3, PARIS)
    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # CET, +01:00
    assert end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # CEST, +02:00
    assert end - start == timedelta(days=31, hours=-1)
    # 31 March 21:30–22:30 UTC is 23:30–00:30 in Paris: half of it is April there
    late = down(datetime(2026, 3, 31, 21, 30, tzinfo=UTC), timedelta(minutes=60))
    assert downtime_minutes([late], "paris", start, end) == 30
    # 28 February 23:00–24:00 UTC is 1 March 00:00–01:00 in Paris: all of it is March
    early = down(datetime(2026, 2, 28, 23, 0, tzinfo=UTC), timedelta(minutes=60))
    assert downtime_minutes([early], "paris", start, end) == 60
    whole = [Incident("paris", start, end, "platform")]
    assert downtime_minutes(whole, "paris", start, end) == 31 * 24 * 60 - 60
    assert monthly_availability(whole, start, end) == 0


def test_local_wall_clocks_subtract_as_elapsed_time() -> None:
    # same ZoneInfo on both ends: Python would subtract wall clocks (2 h), not 1 h
    incident = Incident(
        "paris",
        datetime(2026, 3, 29, 1, 30, tzinfo=PARIS),
        datetime(2026, 3, 29, 3, 30, tzinfo=PARIS),
        "platform",
    )
    assert downtime_minutes([incident], "paris", *local_month_bounds(2026, 3, PARIS)) == 60


def test_december_bounds_and_bad_months() -> None:
    assert local_month_bounds(2026, 12, ZoneInfo("UTC")) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="month"):
        local_month_bounds(2026, 13, PARIS)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Incident("paris", datetime(2026, 6, 1), datetime(2026, 6, 2), "platform")
    with pytest.raises(ValueError, match="before"):
        Incident("paris", T0, T0 - timedelta(seconds=1), "platform")
    with pytest.raises(ValueError, match="cause"):
        Incident("paris", T0, T0, "gremlins")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after"):
        downtime_minutes([], "paris", JUNE[1], JUNE[0])


@pytest.mark.parametrize(
    ("days", "price", "amount"),
    [
        (0, "30.00", "0.00"),
        (1, "30.00", "1.00"),
        (8, "30.00", "8.00"),
        (1, "19.99", "0.67"),  # 0.6663… rounds up
        (2, "0.15", "0.01"),  # 0.01 exactly
        (1, "0.15", "0.01"),  # 0.005 rounds half up
        (1, "0.14", "0.00"),  # 0.00466…
    ],
)
def test_s1_credit_amount(days: int, price: str, amount: str) -> None:
    assert s1_credit_amount(days, Decimal(price)) == Decimal(amount)


def test_s1_credit_amount_other_period() -> None:
    assert s1_credit_amount(4, Decimal("31.00"), days_per_period=31) == Decimal("4.00")
    with pytest.raises(ValueError, match="period"):
        s1_credit_amount(1, Decimal(1), days_per_period=0)


# -- S4: availability of the month -------------------------------------------------------

MONTH_S = 30 * 24 * 3600  # June, in seconds


def outage_for(availability: str) -> list[Incident]:
    """One platform incident leaving exactly ``availability`` percent of June up."""
    micros = Decimal(MONTH_S * 10**6) * (100 - Decimal(availability)) / 100
    assert micros == micros.to_integral_value()
    return [down(T0, timedelta(microseconds=int(micros)))]


@pytest.mark.parametrize(
    ("availability", "percent"),
    [
        ("100", "0"),
        ("99.96", "0"),
        ("99.9500001", "0"),
        ("99.95", "5"),  # "SLA edges": exactly 99.95 → 5
        ("99.949", "5"),
        ("99.5", "5"),  # exactly 99.5 → 5
        ("99.499", "10"),
        ("99.0", "10"),  # exactly 99 → 10
        ("98.999", "20"),
        ("0", "20"),
    ],
)
def test_s4_bands(availability: str, percent: str) -> None:
    assert s4_credit_percent(Decimal(availability)) == Decimal(percent)
    assert s4_credit_percent(Decimal(availability), ai_product=True) == 0
    assert s4_credit_percent(Decimal(availability), trial=True) == 0


@pytest.mark.parametrize("availability", ["-0.001", "100.001"])
def test_s4_refuses_impossible_availability(availability: str) -> None:
    with pytest.raises(ValueError, match="percentage"):
        s4_credit_percent(Decimal(availability))


@pytest.mark.parametrize(
    ("availability", "percent"),
    [("99.96", "0"), ("99.95", "5"), ("99.5", "5"), ("99", "10"), ("98.999", "20")],
)
def test_availability_is_exact_at_the_edges(availability: str, percent: str) -> None:
    measured = monthly_availability(outage_for(availability), *JUNE)
    assert measured == Decimal(availability)
    assert s4_credit_percent(measured) == Decimal(percent)


def test_availability_is_not_rounded() -> None:
    # 1297 s in June: 99.94996…, not 99.95 once rounded
    measured = monthly_availability([down(T0, timedelta(seconds=1297))], *JUNE)
    assert Decimal("99.9499") < measured < Decimal("99.95")
    assert s4_credit_percent(measured) == 5
    just_over = monthly_availability([down(T0, timedelta(seconds=1295))], *JUNE)
    assert s4_credit_percent(just_over) == 0


def test_availability_merges_locations_and_drops_s4_exclusions() -> None:
    incidents = [
        down(T0, timedelta(seconds=972), location="paris"),
        down(T0 + timedelta(seconds=324), timedelta(seconds=972), location="lyon"),
        down(T0 + timedelta(days=1), timedelta(hours=5), cause="maintenance"),
        down(T0 + timedelta(days=2), timedelta(hours=5), cause="outdated_app"),
    ]
    # 1296 s of June together (not 1944 s side by side): exactly 99.95 %
    assert monthly_availability(incidents, *JUNE) == Decimal("99.95")
    assert monthly_availability([], *JUNE) == 100


@pytest.mark.parametrize(
    ("percent", "total", "amount"),
    [
        ("0", "1234.56", "0.00"),
        ("5", "1234.56", "61.73"),  # 61.728
        ("10", "1234.56", "123.46"),  # 123.456
        ("20", "1234.56", "246.91"),  # 246.912
        ("5", "0.10", "0.01"),  # 0.005 half up
    ],
)
def test_s4_credit_amount(percent: str, total: str, amount: str) -> None:
    assert s4_credit_amount(Decimal(percent), Decimal(total)) == Decimal(amount)


# -- Claim windows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "open_"),
    [
        (timedelta(days=-1), True),  # before the month ends: not late
        (timedelta(days=29, hours=23, minutes=59, seconds=59), True),
        (timedelta(days=30), True),  # exactly 30 days: still in time
        (timedelta(days=30, seconds=1), False),
    ],
)
def test_s1_claim_window(after: timedelta, open_: bool) -> None:
    assert s1_claim_open(JUNE[1], JUNE[1] + after) is open_


def test_s1_claim_window_is_elapsed_time_across_dst() -> None:
    _, feb_end = local_month_bounds(2026, 2, PARIS)  # 28 Feb 23:00 UTC
    assert s1_claim_open(feb_end, feb_end + timedelta(days=30))  # 31 March 01:00 in Paris
    assert not s1_claim_open(feb_end, feb_end + timedelta(days=30, microseconds=1))


@pytest.mark.parametrize(
    ("month_end", "last_open"),
    [
        (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)),
        (datetime(2026, 1, 31, 12, tzinfo=UTC), datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2028, 1, 31, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),  # leap
        (datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 30, tzinfo=UTC)),
        (datetime(2026, 12, 15, tzinfo=UTC), datetime(2027, 1, 15, tzinfo=UTC)),
    ],
)
def test_s4_claim_window(month_end: datetime, last_open: datetime) -> None:
    assert s4_claim_open(month_end, last_open - timedelta(seconds=1))
    assert s4_claim_open(month_end, last_open)  # inclusive
    assert not s4_claim_open(month_end, last_open + timedelta(seconds=1))


def test_s4_claim_window_in_a_local_calendar() -> None:
    _, jan_end = local_month_bounds(2026, 1, PARIS)  # 1 Feb 00:00 Paris = 31 Jan 23:00 UTC
    _, feb_end = local_month_bounds(2026, 2, PARIS)  # 1 Mar 00:00 Paris = 28 Feb 23:00 UTC
    _, mar_end = local_month_bounds(2026, 3, PARIS)  # 1 Apr 00:00 Paris = 31 Mar 22:00 UTC
    assert s4_claim_open(jan_end, feb_end, tz=PARIS)
    assert not s4_claim_open(jan_end, feb_end + timedelta(seconds=1), tz=PARIS)
    # across the DST change: 1 March 00:00 CET to 1 April 00:00 CEST, 30 days 23 hours
    assert s4_claim_open(feb_end, mar_end, tz=PARIS)
    assert not s4_claim_open(feb_end, mar_end + timedelta(seconds=1), tz=PARIS)
    # read in UTC, 28 February 23:00 would run only to 28 March 23:00
    assert s4_claim_open(feb_end, datetime(2026, 3, 28, 23, tzinfo=UTC))
    assert not s4_claim_open(feb_end, datetime(2026, 3, 28, 23, 0, 1, tzinfo=UTC))
    assert not s4_claim_open(feb_end, mar_end)


# -- Whole decisions ---------------------------------------------------------------------


def test_s1_credit() -> None:
    price = Decimal("45.00")
    incidents = [down(T0, timedelta(minutes=31)), down(T0, timedelta(hours=9), location="lyon")]
    in_time = JUNE[1] + timedelta(days=3)
    assert s1_credit(incidents, "paris", *JUNE, monthly_price=price, claimed_at=in_time) == (
        SlaCredit("S1", "downtime", Decimal("3.00"), days=2)
    )
    assert s1_credit(incidents, "lyon", *JUNE, monthly_price=price, claimed_at=in_time) == (
        SlaCredit("S1", "downtime", Decimal("12.00"), days=8)
    )
    quiet = s1_credit(incidents, "nice", *JUNE, monthly_price=price, claimed_at=in_time)
    assert quiet.reason == "below_threshold"
    assert quiet.amount == 0
    late = JUNE[1] + timedelta(days=31)
    assert s1_credit(incidents, "paris", *JUNE, monthly_price=price, claimed_at=late).reason == (
        "claim_late"
    )


def test_s4_credit() -> None:
    in_time = JUNE[1] + timedelta(days=3)
    outage = outage_for("99.5")

    def claim(incidents: list[Incident], **kwargs: Any) -> SlaCredit:
        kwargs.setdefault("claimed_at", in_time)
        return s4_credit(incidents, *JUNE, month_invoice_total=Decimal("200.00"), **kwargs)

    assert claim(outage) == SlaCredit("S4", "availability", Decimal("10.00"), percent=Decimal(5))
    reasons = [
        claim([]).reason,
        claim(outage, ai_product=True).reason,
        claim(outage, trial=True).reason,
        claim(outage, claimed_at=JUNE[1] + timedelta(days=32)).reason,
    ]
    assert reasons == ["target_met", "ai_product", "trial", "claim_late"]


# -- Properties --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=50_000), st.integers(min_value=0, max_value=50_000))
def test_s1_days_never_decrease_with_more_downtime(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert s1_day_credits(low) <= s1_day_credits(high)


_AVAILABILITY = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(_AVAILABILITY, _AVAILABILITY)
def test_s4_percent_never_increases_with_availability(a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert s4_credit_percent(low) >= s4_credit_percent(high)


_OFFSET = st.integers(min_value=-3 * 24 * 3600, max_value=33 * 24 * 3600)
_INCIDENTS = st.lists(
    st.tuples(
        _OFFSET,
        st.integers(min_value=0, max_value=20 * 24 * 3600),
        st.sampled_from(["paris", "lyon"]),
        st.sampled_from(sorted(ALL_CAUSES)),
    ),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(_INCIDENTS)
def test_downtime_stays_within_the_month(raw: list[tuple[int, int, str, IncidentCause]]) -> None:
    incidents = [
        Incident(loc, JUNE[0] + timedelta(seconds=s), JUNE[0] + timedelta(seconds=s + n), cause)
        for s, n, loc, cause in raw
    ]
    month_minutes = MONTH_S // 60
    for location in ("paris", "lyon"):
        minutes = downtime_minutes(incidents, location, *JUNE)
        assert 0 <= minutes <= month_minutes
        # merged, so never more than the sum of the clipped pieces
        clipped = sum(
            max(0, (min(i.end, JUNE[1]) - max(i.start, JUNE[0])).total_seconds())
            for i in incidents
            if i.location == location and i.cause not in S1_EXCLUDED
        )
        assert minutes <= -(-int(clipped) // 60)
    availability = monthly_availability(incidents, *JUNE)
    assert 0 <= availability <= 100
