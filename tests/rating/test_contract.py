"""Contract arithmetic (TERMS B6, B11, B12, B13, B17): terms, pro rata, options, price
changes, termination and withdrawal, each limit just under, at and just over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.rating.contract import (
    Periodicity,
    PriceChangeKind,
    PurchaseChannel,
    committed_accesses,
    early_termination_fee,
    fee_free_exit,
    option_commitment_end,
    option_first_billed_period,
    period_containing,
    price_change_allowed,
    prorata,
    term_end,
    termination_effective,
    withdrawal_allowed,
)

PERIODICITIES: list[Periodicity] = ["monthly", "annual", "multi_year"]
US = timedelta(microseconds=1)
S = timedelta(seconds=1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


START = at(2026, 1, 15, 10, 30)

# --- B6: terms and periods ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "periodicity", "years", "end"),
    [
        (START, "monthly", 1, at(2026, 2, 14, 10, 30)),  # 30 days, not a calendar month
        (START, "annual", 1, at(2027, 1, 15, 10, 30)),
        (START, "annual", 3, at(2027, 1, 15, 10, 30)),  # years only shapes multi-year
        (START, "multi_year", 3, at(2029, 1, 15, 10, 30)),
        (at(2024, 2, 29, 9), "annual", 1, at(2025, 2, 28, 9)),  # 29 Feb clamps
        (at(2024, 2, 29, 9), "multi_year", 4, at(2028, 2, 29, 9)),  # leap to leap
        (at(2024, 2, 29, 9), "multi_year", 2, at(2026, 2, 28, 9)),
        (at(2024, 2, 29, 9), "monthly", 1, at(2024, 3, 30, 9)),
    ],
)
def test_term_end(start: datetime, periodicity: Periodicity, years: int, end: datetime) -> None:
    assert term_end(start, periodicity, years) == end


@pytest.mark.parametrize(
    ("when", "period"),
    [
        (at(2024, 2, 29, 9), (at(2024, 2, 29, 9), at(2025, 2, 28, 9))),
        (at(2025, 2, 28, 9) - US, (at(2024, 2, 29, 9), at(2025, 2, 28, 9))),
        (at(2025, 2, 28, 9), (at(2025, 2, 28, 9), at(2026, 2, 28, 9))),
        (at(2027, 12, 31), (at(2027, 2, 28, 9), at(2028, 2, 29, 9))),
        # Anniversaries count from the start: back to 29 February in a leap year.
        (at(2028, 2, 29, 9), (at(2028, 2, 29, 9), at(2029, 2, 28, 9))),
    ],
)
def test_annual_periods_from_29_february_do_not_drift(
    when: datetime, period: tuple[datetime, datetime]
) -> None:
    assert period_containing(at(2024, 2, 29, 9), "annual", when) == period


@pytest.mark.parametrize(
    ("when", "period"),
    [
        (START, (START, START + timedelta(days=30))),
        (START + timedelta(days=30) - US, (START, START + timedelta(days=30))),
        (START + timedelta(days=30), (START + timedelta(days=30), START + timedelta(days=60))),
        (START + timedelta(days=301), (START + timedelta(days=300), START + timedelta(days=330))),
    ],
)
def test_monthly_periods(when: datetime, period: tuple[datetime, datetime]) -> None:
    assert period_containing(START, "monthly", when) == period


def test_multi_year_periods_and_bad_inputs() -> None:
    assert period_containing(START, "multi_year", at(2029, 1, 15, 10, 29), years=3) == (
        START,
        at(2029, 1, 15, 10, 30),
    )
    assert period_containing(START, "multi_year", at(2029, 1, 15, 10, 30), years=3) == (
        at(2029, 1, 15, 10, 30),
        at(2032, 1, 15, 10, 30),
    )
    with pytest.raises(ValueError, match="not started"):
        period_containing(START, "monthly", START - US)
    with pytest.raises(ValueError, match="UTC"):
        period_containing(START, "monthly", datetime(2026, 2, 1))  # naive
    with pytest.raises(ValueError, match="UTC"):
        term_end(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1))), "monthly")
    with pytest.raises(ValueError, match="one year"):
        term_end(START, "multi_year", years=0)


@given(
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4000)),
    periodicity=st.sampled_from(PERIODICITIES),
    years=st.integers(min_value=1, max_value=5),
)
def test_the_period_holds_the_instant_and_periods_chain(
    offset: timedelta, periodicity: Periodicity, years: int
) -> None:
    start = at(2024, 2, 29, 23, 59)
    when = start + offset
    begin, end = period_containing(start, periodicity, when, years)
    assert begin <= when < end
    assert period_containing(start, periodicity, end, years)[0] == end


PERIOD = (at(2026, 1, 1), at(2026, 1, 31))  # 30 days


@pytest.mark.parametrize(
    ("added_at", "price"),
    [
        (at(2026, 1, 1), "30.00"),  # at the start: full price
        (at(2026, 1, 1, 23, 59), "30.00"),  # the day of addition counts
        (at(2026, 1, 16, 12), "15.00"),  # middle: 15 of 30 days left
        (at(2026, 1, 30, 23, 59), "1.00"),  # last day: one day's share
    ],
)
def test_prorata_by_whole_days(added_at: datetime, price: str) -> None:
    assert prorata(Decimal("30.00"), added_at, *PERIOD) == Decimal(price)


def test_prorata_rounds_half_up_and_refuses_outside_the_period() -> None:
    # 10 × 1/8 = 1.25; 0.10 × 5/8 = 0.0625 → 0.06; 0.14 × 5/8 = 0.0875 → 0.09
    start, end = at(2026, 1, 1), at(2026, 1, 9)
    assert prorata(Decimal("10"), at(2026, 1, 8), start, end) == Decimal("1.25")
    assert prorata(Decimal("0.10"), at(2026, 1, 4), start, end) == Decimal("0.06")
    assert prorata(Decimal("0.14"), at(2026, 1, 4), start, end) == Decimal("0.09")
    # 0.20 × 1/8 = 0.025 → 0.03 (half up, not to even)
    assert prorata(Decimal("0.20"), at(2026, 1, 8), start, end) == Decimal("0.03")
    with pytest.raises(ValueError, match="within the period"):
        prorata(Decimal("30"), PERIOD[1], *PERIOD)
    with pytest.raises(ValueError, match="within the period"):
        prorata(Decimal("30"), PERIOD[0] - US, *PERIOD)
    with pytest.raises(ValueError, match="negative"):
        prorata(Decimal("-1"), PERIOD[0], *PERIOD)


_prices = st.decimals(min_value=0, max_value=100_000, places=2)
_offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365) - US)


@given(price=_prices, a=_offsets, b=_offsets)
def test_prorata_is_bounded_and_non_increasing(price: Decimal, a: timedelta, b: timedelta) -> None:
    start = at(2026, 3, 1, 7)
    end = term_end(start, "annual")
    early, late = sorted((a, b))
    first = prorata(price, start + early, start, end)
    second = prorata(price, start + late, start, end)
    assert Decimal(0) <= second <= first <= price
    assert prorata(price, start, start, end) == price


@pytest.mark.parametrize(
    ("previous", "requested", "committed", "billed"),
    [(5, 3, True, 5), (5, 5, True, 5), (5, 7, True, 7), (5, 3, False, 3), (5, 7, False, 7)],
)
def test_committed_accesses(previous: int, requested: int, committed: bool, billed: int) -> None:
    assert committed_accesses(previous, requested, committed) == billed


@given(previous=st.integers(0, 10_000), requested=st.integers(0, 10_000))
def test_committed_accesses_never_decrease(previous: int, requested: int) -> None:
    assert committed_accesses(previous, requested, True) >= previous
    assert committed_accesses(previous, requested, False) == requested


def test_committed_accesses_refuse_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        committed_accesses(-1, 2, True)


# --- B17: options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taken_at", "first"),
    [
        (START, (START + timedelta(days=30), START + timedelta(days=60))),  # period's start
        (START + timedelta(days=30) - US, (START + timedelta(days=30), START + timedelta(days=60))),
        (START + timedelta(days=30), (START + timedelta(days=60), START + timedelta(days=90))),
    ],
)
def test_options_are_billed_from_the_next_period(
    taken_at: datetime, first: tuple[datetime, datetime]
) -> None:
    assert option_first_billed_period(taken_at, START, "monthly") == first


def test_annual_options_and_option_commitment() -> None:
    assert option_first_billed_period(at(2026, 6, 1), START, "annual") == (
        at(2027, 1, 15, 10, 30),
        at(2028, 1, 15, 10, 30),
    )
    assert option_commitment_end(at(2027, 1, 15)) == at(2027, 1, 15)
    assert option_commitment_end(None) is None


# --- B11: price changes ------------------------------------------------------------------

ANNOUNCED = at(2026, 3, 1, 12)
D30 = timedelta(days=30)


@pytest.mark.parametrize(
    ("kind", "old", "new", "effective_at", "code"),
    [
        ("increase", "10", "12", ANNOUNCED + D30 - S, "billing.price_increase_notice_too_short"),
        ("increase", "10", "12", ANNOUNCED + D30, "billing.price_change_allowed"),
        ("increase", "10", "12", ANNOUNCED + D30 + S, "billing.price_change_allowed"),
        ("increase", "10", "10", ANNOUNCED + D30, "billing.price_change_kind_mismatch"),
        ("increase", "10", "12", ANNOUNCED - S, "billing.price_change_not_announced"),
        ("revision", "100", "106", ANNOUNCED + D30 - S, "billing.price_increase_notice_too_short"),
        ("revision", "100", "105.99", ANNOUNCED + D30, "billing.price_change_allowed"),
        ("revision", "100", "106", ANNOUNCED + D30, "billing.price_change_allowed"),
        ("revision", "100", "106.01", ANNOUNCED + D30, "billing.price_revision_over_cap"),
        ("revision", "9.99", "10.5894", ANNOUNCED + D30, "billing.price_change_allowed"),  # 6 %
        ("revision", "9.99", "10.59", ANNOUNCED + D30, "billing.price_revision_over_cap"),
        ("revision", "100", "99", ANNOUNCED + D30, "billing.price_change_kind_mismatch"),
        ("decrease", "10", "8", ANNOUNCED, "billing.price_change_allowed"),  # just announced
        ("decrease", "10", "8", ANNOUNCED + S, "billing.price_change_allowed"),
        ("decrease", "10", "8", ANNOUNCED - S, "billing.price_change_not_announced"),
        ("decrease", "10", "12", ANNOUNCED, "billing.price_change_kind_mismatch"),
    ],
)
def test_price_changes(
    kind: PriceChangeKind, old: str, new: str, effective_at: datetime, code: str
) -> None:
    verdict = price_change_allowed(Decimal(old), Decimal(new), ANNOUNCED, effective_at, kind=kind)
    assert (verdict.code, verdict.rule) == (code, "B11")
    assert verdict.allowed == (code == "billing.price_change_allowed")
    assert verdict.refused != verdict.allowed
    assert verdict.message


LAST = at(2025, 4, 1, 12)


@pytest.mark.parametrize(
    ("effective_at", "allowed"),
    [(at(2026, 4, 1, 12) - US, False), (at(2026, 4, 1, 12), True), (at(2026, 5, 1), True)],
)
def test_one_revision_per_twelve_months(effective_at: datetime, allowed: bool) -> None:
    verdict = price_change_allowed(
        Decimal("100"),
        Decimal("103"),
        ANNOUNCED,
        effective_at,
        kind="revision",
        last_revision_at=LAST,
    )
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.code == "billing.price_revision_too_frequent"


def test_price_change_settings_are_parameters() -> None:
    verdict = price_change_allowed(
        Decimal("100"),
        Decimal("110"),
        ANNOUNCED,
        ANNOUNCED + timedelta(days=7),
        kind="revision",
        notice=timedelta(days=7),
        revision_cap=Decimal("10"),
    )
    assert verdict.allowed
    with pytest.raises(ValueError, match="negative"):
        price_change_allowed(Decimal("-1"), Decimal("1"), ANNOUNCED, ANNOUNCED, kind="increase")


EFFECTIVE = ANNOUNCED + D30


@pytest.mark.parametrize(
    ("when", "carrier_cost", "free"),
    [
        (ANNOUNCED - US, False, False),
        (ANNOUNCED, False, True),
        (ANNOUNCED + timedelta(days=10), False, True),
        (EFFECTIVE, False, True),
        (EFFECTIVE + US, False, False),
        (ANNOUNCED + timedelta(days=10), True, False),  # carriers raised SMS/minute costs
    ],
)
def test_fee_free_exit(when: datetime, carrier_cost: bool, free: bool) -> None:
    assert fee_free_exit(ANNOUNCED, EFFECTIVE, when, carrier_cost=carrier_cost) is free


# --- B12: termination --------------------------------------------------------------------

SUB = at(2026, 1, 1, 8)
ANNIV_1 = SUB + D30  # 31 January 08:00
ANNIV_2 = SUB + 2 * D30


@pytest.mark.parametrize(
    ("requested_at", "effective"),
    [
        (SUB, ANNIV_1),  # exactly 30 days before the anniversary: in time
        (ANNIV_1 - D30 + S, ANNIV_2),  # 29 days 23:59:59 before: the anniversary after
        (ANNIV_1 - timedelta(days=29), ANNIV_2),  # 29 days before
        (ANNIV_1 - US, ANNIV_2),
        (ANNIV_1, ANNIV_2),  # on the anniversary: exactly 30 days before the next
        (ANNIV_1 + US, SUB + 3 * D30),
    ],
)
def test_monthly_termination(requested_at: datetime, effective: datetime) -> None:
    assert (
        termination_effective(requested_at, SUB, "monthly", committed=False, commitment_end=None)
        == effective
    )


COMMIT_END = at(2027, 1, 1, 8)


@pytest.mark.parametrize(
    ("requested_at", "effective"),
    [
        (COMMIT_END - D30 - S, COMMIT_END),
        (COMMIT_END - D30, COMMIT_END),  # exactly 30 days: in time
        (COMMIT_END - D30 + S, at(2028, 1, 1, 8)),  # too late: the commitment renews
        (COMMIT_END + timedelta(days=1), at(2028, 1, 1, 8)),  # stale commitment end
        (at(2027, 12, 15), at(2029, 1, 1, 8)),
    ],
)
def test_committed_termination(requested_at: datetime, effective: datetime) -> None:
    assert (
        termination_effective(
            requested_at, SUB, "annual", committed=True, commitment_end=COMMIT_END
        )
        == effective
    )


def test_committed_termination_renews_by_the_plan_term() -> None:
    end = at(2028, 2, 29)
    assert termination_effective(
        at(2028, 2, 1), at(2024, 2, 29), "multi_year", committed=True, commitment_end=end, years=2
    ) == at(2030, 2, 28)
    assert (
        termination_effective(
            at(2026, 1, 20), SUB, "monthly", committed=True, commitment_end=ANNIV_1
        )
        == ANNIV_1 + D30
    )
    with pytest.raises(ValueError, match="commitment end"):
        termination_effective(SUB, SUB, "annual", committed=True, commitment_end=None)
    with pytest.raises(ValueError, match="after the subscription"):
        termination_effective(SUB - US, SUB, "monthly", committed=False, commitment_end=None)


@pytest.mark.parametrize(
    ("ends_at", "fee"),
    [
        (COMMIT_END, "0.00"),  # at the commitment end: nothing left
        (COMMIT_END + US, "0.00"),
        (COMMIT_END - US, "120.00"),  # a microsecond left is a started month
        (COMMIT_END - timedelta(days=1), "120.00"),  # one day left costs one month
        (COMMIT_END - D30, "120.00"),
        (COMMIT_END - D30 - US, "240.00"),
        (COMMIT_END - 3 * D30 - S, "480.00"),
    ],
)
def test_early_termination_fee(ends_at: datetime, fee: str) -> None:
    # Last invoice 360.00 covered 3 months: 120.00 a month.
    assert early_termination_fee(Decimal("360.00"), 3, ends_at, COMMIT_END) == Decimal(fee)


def test_early_termination_fee_edges() -> None:
    assert early_termination_fee(Decimal("99"), 1, SUB, None) == Decimal("0.00")
    # 100 / 3 × 2 = 66.666… → 66.67
    assert early_termination_fee(Decimal("100"), 3, COMMIT_END - 2 * D30, COMMIT_END) == Decimal(
        "66.67"
    )
    with pytest.raises(ValueError, match="at least one month"):
        early_termination_fee(Decimal("100"), 0, SUB, COMMIT_END)


# --- B13: withdrawal ---------------------------------------------------------------------

BOUGHT = at(2026, 5, 4, 16, 20)
H24 = timedelta(hours=24)


@pytest.mark.parametrize(
    ("requested_at", "code"),
    [
        (BOUGHT, "billing.withdrawal_allowed"),
        (BOUGHT + H24 - US, "billing.withdrawal_allowed"),
        (BOUGHT + H24, "billing.withdrawal_allowed"),  # 24:00:00 is still in time
        (BOUGHT + H24 + US, "billing.withdrawal_window_closed"),
    ],
)
def test_withdrawal_window(requested_at: datetime, code: str) -> None:
    verdict = withdrawal_allowed(
        BOUGHT, requested_at, channel="self_service", credits_used=False, number_assigned=False
    )
    assert (verdict.code, verdict.rule) == (code, "B13")
    assert verdict.allowed == (code == "billing.withdrawal_allowed")


@pytest.mark.parametrize(
    "channel", ["subscription", "partner", "voucher", "cash", "admin_assigned"]
)
def test_only_self_service_purchases_are_refundable(channel: PurchaseChannel) -> None:
    verdict = withdrawal_allowed(
        BOUGHT, BOUGHT + S, channel=channel, credits_used=False, number_assigned=False
    )
    assert (verdict.allowed, verdict.code) == (False, "billing.withdrawal_not_refundable")


@pytest.mark.parametrize(
    ("credits_used", "number_assigned", "previous", "code"),
    [
        (True, False, 0, "billing.withdrawal_credits_used"),
        (False, True, 0, "billing.withdrawal_number_assigned"),  # counts as use
        (True, True, 0, "billing.withdrawal_number_assigned"),
        (False, False, 1, "billing.withdrawal_repeated_request"),  # at abuse_after
        (False, False, 2, "billing.withdrawal_repeated_request"),
        (False, False, 0, "billing.withdrawal_allowed"),  # just under abuse_after
    ],
)
def test_withdrawal_use_and_abuse(
    credits_used: bool, number_assigned: bool, previous: int, code: str
) -> None:
    verdict = withdrawal_allowed(
        BOUGHT,
        BOUGHT + timedelta(hours=1),
        channel="self_service",
        credits_used=credits_used,
        number_assigned=number_assigned,
        previous_requests_same_reason=previous,
    )
    assert verdict.code == code
    assert verdict.allowed == (code == "billing.withdrawal_allowed")


@pytest.mark.parametrize(("previous", "allowed"), [(1, True), (2, False), (3, False)])
def test_abuse_threshold_is_a_setting(previous: int, allowed: bool) -> None:
    verdict = withdrawal_allowed(
        BOUGHT,
        BOUGHT + H24 * 2,
        channel="self_service",
        credits_used=False,
        number_assigned=False,
        previous_requests_same_reason=previous,
        window=timedelta(hours=48),
        abuse_after=2,
    )
    assert verdict.allowed is allowed


def test_withdrawal_requested_before_the_purchase_is_an_error() -> None:
    with pytest.raises(ValueError, match="after the purchase"):
        withdrawal_allowed(
            BOUGHT, BOUGHT - US, channel="self_service", credits_used=False, number_assigned=False
        )
