"""Debit notice (TERMS B7), dunning (B10) and late fees (B8): boundaries worked by hand
from the rules, and properties over arbitrary histories and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dialtone.rating.dunning import (
    PRENOTIFICATION,
    RECOVERY_FEE,
    Attempt,
    Awaiting,
    Nothing,
    PaymentMethod,
    Retry,
    Settled,
    Suspend,
    debit_allowed,
    due_retry,
    earliest_debit,
    late_interest,
    next_step,
    recovery_fee,
    reference_rate_date,
    rejected_debit_fee,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
H72 = timedelta(hours=72)


def rejected(at: datetime) -> Attempt:
    return Attempt(at, "rejected")


# --- B7 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("debit_at", "allowed", "code"),
    [
        (T0 + timedelta(days=3) - SECOND, False, "billing.debit_notice_too_short"),
        (T0 + timedelta(days=3), True, "billing.debit_notice_given"),  # exactly 3 days
        (T0 + timedelta(days=3) + SECOND, True, "billing.debit_notice_given"),
        (T0 - SECOND, False, "billing.debit_notice_too_short"),  # debit before the notice
    ],
)
def test_a_debit_needs_three_days_notice(debit_at: datetime, allowed: bool, code: str) -> None:
    verdict = debit_allowed(T0, debit_at)
    assert (verdict.allowed, verdict.rule, verdict.code) == (allowed, "B7", code)
    assert verdict.message


def test_a_debit_without_notice_is_refused() -> None:
    verdict = debit_allowed(None, T0 + timedelta(days=30))
    assert (verdict.allowed, verdict.code) == (False, "billing.debit_not_notified")


def test_the_notice_period_is_configurable() -> None:
    assert earliest_debit(T0) == T0 + PRENOTIFICATION == T0 + timedelta(days=3)
    assert debit_allowed(T0, T0 + timedelta(days=1), notice=timedelta(days=1)).allowed
    assert not debit_allowed(T0, T0 + timedelta(days=4), notice=timedelta(days=5)).allowed


def test_naive_times_are_refused() -> None:
    naive = datetime(2026, 3, 2, 9, 0)  # naive on purpose
    with pytest.raises(ValueError, match="timezone-aware"):
        debit_allowed(naive, T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        debit_allowed(T0, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        Attempt(naive, "rejected")
    with pytest.raises(ValueError, match="timezone-aware"):
        due_retry([rejected(T0)], naive)


# --- B10 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "due"),
    [
        (H72 - SECOND, False),  # 71:59:59
        (H72, True),  # 72:00:00
        (H72 + SECOND, True),  # 72:00:01
    ],
)
def test_retry_one_is_72_hours_after_the_first_rejection(elapsed: timedelta, due: bool) -> None:
    attempts = [rejected(T0)]
    assert next_step(attempts) == Retry(at=T0 + H72, attempt_number=1)
    assert due_retry(attempts, T0 + elapsed) is due


@pytest.mark.parametrize(
    ("elapsed", "due"),
    [(H72 - SECOND, False), (H72, True), (H72 + SECOND, True)],
)
def test_retry_two_is_72_hours_after_retry_one_was_attempted(elapsed: timedelta, due: bool) -> None:
    late_retry = T0 + H72 + timedelta(hours=5)  # retry 1 ran 5 h after it fell due
    attempts = [rejected(T0), rejected(late_retry)]
    assert next_step(attempts) == Retry(at=late_retry + H72, attempt_number=2)
    assert due_retry(attempts, late_retry + elapsed) is due


# A card answers when charged; a SEPA return arrives days after the debit was presented.
_RESULT_DELAYS = [("card", timedelta(0)), ("sepa_debit", timedelta(days=5))]
_BOUNDARIES = [(H72 - SECOND, False), (H72, True), (H72 + SECOND, True)]  # 71:59:59, 72:00:0x


@pytest.mark.parametrize(("method", "delay"), _RESULT_DELAYS)
@pytest.mark.parametrize(("elapsed", "due"), _BOUNDARIES)
def test_retries_count_from_the_attempt_not_from_its_result(
    method: str, delay: timedelta, elapsed: timedelta, due: bool
) -> None:
    first = T0
    retry_one = T0 + H72 + delay  # presented once the first return was known
    history = [Attempt(first, "rejected", first + delay)]
    assert next_step(history) == Retry(at=first + H72, attempt_number=1), method
    assert due_retry(history, first + elapsed) is due
    history.append(Attempt(retry_one, "rejected", retry_one + delay))
    # Retry 2 is 72 h after retry 1 was attempted, however late its return came.
    assert next_step(history) == Retry(at=retry_one + H72, attempt_number=2), method
    assert due_retry(history, retry_one + elapsed) is due


def test_a_presented_debit_awaits_its_result_and_the_third_return_suspends_on_arrival() -> None:
    presented = T0 + 2 * H72
    history = [rejected(T0), rejected(T0 + H72), Attempt(presented, "pending")]
    assert next_step(history) == Awaiting(at=presented)
    assert not due_retry(history, presented + 10 * H72)
    returned = presented + timedelta(days=5)
    history[-1] = Attempt(presented, "rejected", returned)
    assert next_step(history) == Suspend(at=returned)  # not before anyone could know


def test_a_result_cannot_precede_its_attempt_nor_a_pending_attempt_have_one() -> None:
    with pytest.raises(ValueError, match="before the attempt"):
        Attempt(T0, "rejected", T0 - SECOND)
    with pytest.raises(ValueError, match="no result yet"):
        Attempt(T0, "pending", T0)


def test_the_third_rejection_suspends_at_once() -> None:
    third = T0 + 2 * H72
    attempts = [rejected(T0), rejected(T0 + H72), rejected(third)]
    assert next_step(attempts) == Suspend(at=third)
    assert not due_retry(attempts, third + 10 * H72)
    # Later rejections do not move the suspension, and order of input does not matter.
    more = [rejected(third + H72), *reversed(attempts)]
    assert next_step(more) == Suspend(at=third)


@pytest.mark.parametrize(
    ("attempts", "step"),
    [
        ([], Nothing()),
        ([Attempt(T0, "paid")], Settled()),
        ([rejected(T0), Attempt(T0 + H72, "paid")], Settled()),  # paid after one rejection
        ([rejected(T0), rejected(T0 + H72), Attempt(T0 + 2 * H72, "paid")], Settled()),
        # Paid after suspension: the invoice is settled (it stayed due until then, B10).
        (
            [
                rejected(T0),
                rejected(T0 + H72),
                rejected(T0 + 2 * H72),
                Attempt(T0 + 4 * H72, "paid"),
            ],
            Settled(),
        ),
    ],
)
def test_payment_settles_and_no_attempt_means_nothing(
    attempts: list[Attempt], step: object
) -> None:
    assert next_step(attempts) == step
    assert not due_retry(attempts, T0 + 100 * H72)


def test_dunning_times_are_configurable() -> None:
    attempts = [rejected(T0)]
    assert next_step(attempts, retry_after=timedelta(hours=48)) == Retry(
        at=T0 + timedelta(hours=48), attempt_number=1
    )
    assert next_step(attempts, rejections_to_suspend=1) == Suspend(at=T0)
    with pytest.raises(ValueError, match="at least one"):
        next_step(attempts, rejections_to_suspend=0)
    with pytest.raises(ValueError, match="some time after"):
        next_step(attempts, retry_after=timedelta(0))


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="'rejected', 'paid' or 'pending'"):
        Attempt(T0, "bounced")  # type: ignore[arg-type]


_offsets = st.integers(min_value=0, max_value=60 * 24 * 3600)


@settings(max_examples=200, deadline=None)
@given(
    history=st.lists(
        st.tuples(_offsets, st.sampled_from(["rejected", "paid"])), min_size=3, max_size=8
    )
)
def test_never_a_retry_after_three_rejections(history: list[tuple[int, str]]) -> None:
    assume(sum(outcome == "rejected" for _, outcome in history) >= 3)
    attempts = [Attempt(T0 + timedelta(seconds=s), o) for s, o in history]  # type: ignore[arg-type]
    step = next_step(attempts)
    assert not isinstance(step, Retry)
    if all(o == "rejected" for _, o in history):
        third = sorted(s for s, _ in history)[2]
        assert step == Suspend(at=T0 + timedelta(seconds=third))
    else:
        assert step == Settled()


# --- B8 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "reference"),
    [
        (date(2024, 1, 1), date(2024, 1, 1)),
        (date(2024, 6, 30), date(2024, 1, 1)),
        (date(2024, 7, 1), date(2024, 7, 1)),
        (date(2024, 12, 31), date(2024, 7, 1)),
    ],
)
def test_the_reference_date_is_the_half_years_first_day(day: date, reference: date) -> None:
    assert reference_rate_date(day) == reference


RATES_2024 = {date(2024, 1, 1): Decimal("4.50"), date(2024, 7, 1): Decimal("4.25")}


@pytest.mark.parametrize(
    ("due", "paid", "rates", "interest"),
    [
        # 1000 x (4.00 + 10) % x 31 / 365 = 11.890... -> 11.89
        (date(2024, 1, 10), date(2024, 2, 10), {date(2024, 1, 1): Decimal("4.00")}, "11.89"),
        # Across 1 July: 16-30 June, 15 days at 14.50 %, then 1-16 July, 16 days at 14.25 %:
        # 1000 x (14.50 x 15 + 14.25 x 16) / 100 / 365 = 1000 x 445.5 / 36500 = 12.205... -> 12.21
        (date(2024, 6, 15), date(2024, 7, 16), RATES_2024, "12.21"),
        # Due 30 June, paid 1 July: one day, 1 July, at the second half-year's rate only:
        # 1000 x 14.25 / 100 / 365 = 0.390... -> 0.39
        (date(2024, 6, 30), date(2024, 7, 1), {date(2024, 7, 1): Decimal("4.25")}, "0.39"),
        # Across New Year: 31 Dec at 14.25 %, 1-2 Jan at (3.15 + 10) %:
        # 1000 x (14.25 + 13.15 x 2) / 36500 = 1000 x 40.55 / 36500 = 1.110... -> 1.11
        (
            date(2024, 12, 30),
            date(2025, 1, 2),
            {date(2024, 7, 1): Decimal("4.25"), date(2025, 1, 1): Decimal("3.15")},
            "1.11",
        ),
        (date(2024, 6, 15), date(2024, 6, 15), {}, "0.00"),  # paid on the due date
        (date(2024, 6, 15), date(2024, 6, 1), {}, "0.00"),  # paid early
    ],
)
def test_late_interest_by_hand(
    due: date, paid: date, rates: dict[date, Decimal], interest: str
) -> None:
    result = late_interest(Decimal("1000.00"), due, paid, rates)
    assert result == Decimal(interest)
    assert result.as_tuple().exponent == -2


def test_interest_rounds_half_up_once() -> None:
    rates = {date(2024, 1, 1): Decimal(0)}  # ECB 0: the rate is the 10-point margin alone
    # 500 x 10 x 1 / 36500 = 0.13698... -> 0.14; 73 days make exactly 10.00.
    assert late_interest(Decimal(500), date(2024, 1, 1), date(2024, 1, 2), rates) == Decimal("0.14")
    assert late_interest(Decimal(500), date(2024, 1, 1), date(2024, 3, 14), rates) == Decimal(
        "10.00"
    )
    # 18.25 x 10 x 1 / 36500 = 0.005 exactly: half up makes it a cent (half even would not).
    assert late_interest(Decimal("18.25"), date(2024, 1, 1), date(2024, 1, 2), rates) == Decimal(
        "0.01"
    )


def test_the_margin_is_configurable_and_a_negative_rate_earns_nothing() -> None:
    rates = {date(2024, 1, 1): Decimal("4.00")}
    assert late_interest(
        Decimal(1000), date(2024, 1, 10), date(2024, 2, 10), rates, margin=Decimal(8)
    ) == Decimal("10.19")  # 1000 x 12 x 31 / 36500 = 10.191...
    sub_zero = {date(2024, 1, 1): Decimal(-11)}
    assert late_interest(Decimal(1000), date(2024, 1, 10), date(2024, 2, 10), sub_zero) == 0


def test_a_missing_half_year_rate_is_named() -> None:
    with pytest.raises(ValueError, match="2024-07-01"):
        late_interest(
            Decimal(1000), date(2024, 6, 15), date(2024, 7, 16), {date(2024, 1, 1): Decimal(4)}
        )
    with pytest.raises(ValueError, match="not negative"):
        late_interest(Decimal(-1), date(2024, 6, 15), date(2024, 7, 16), RATES_2024)


_HALF_YEARS = [date(y, m, 1) for y in range(2020, 2031) for m in (1, 7)]


@settings(max_examples=200, deadline=None)
@given(
    amount=st.decimals(min_value=0, max_value=10**7, places=2),
    due=st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31)),
    late=st.integers(min_value=-30, max_value=800),
    extra=st.integers(min_value=0, max_value=400),
    rates=st.fixed_dictionaries(
        {d: st.decimals(min_value=-12, max_value=20, places=2) for d in _HALF_YEARS}
    ),
)
def test_interest_is_non_negative_and_grows_with_the_payment_date(
    amount: Decimal, due: date, late: int, extra: int, rates: dict[date, Decimal]
) -> None:
    paid = due + timedelta(days=late)
    earlier = late_interest(amount, due, paid, rates)
    later = late_interest(amount, due, paid + timedelta(days=extra), rates)
    assert Decimal(0) <= earlier <= later


@pytest.mark.parametrize(
    ("method", "currency", "customer_caused", "fee"),
    [
        ("card", "EUR", True, "0"),  # a card decline carries no fee
        ("card", "GBP", True, "0"),
        ("sepa_debit", "EUR", True, "10"),
        ("sepa_debit", "EUR", False, "0"),  # e.g. the bank's own failure
        ("bacs_debit", "GBP", True, "10"),
        ("bacs_debit", "GBP", False, "0"),
        ("sepa_debit", "USD", True, "10"),
    ],
)
def test_rejected_debit_fee(
    method: PaymentMethod, currency: str, customer_caused: bool, fee: str
) -> None:
    result = rejected_debit_fee(method, currency, customer_caused)
    assert result == Decimal(fee)
    assert result.as_tuple().exponent == -2


def test_fees_per_currency_are_configurable_and_unknown_ones_refused() -> None:
    assert recovery_fee("EUR") == recovery_fee("GBP") == recovery_fee("USD") == Decimal("40.00")
    assert recovery_fee("EUR", fees={"EUR": Decimal("45")}) == Decimal("45.00")
    assert rejected_debit_fee("sepa_debit", "EUR", True, fees={"EUR": Decimal(12)}) == 12
    with pytest.raises(ValueError, match="JPY"):
        recovery_fee("JPY")
    with pytest.raises(ValueError, match="JPY"):
        rejected_debit_fee("card", "JPY", False)  # refused even when no fee would be due
    with pytest.raises(ValueError, match="payment method"):
        rejected_debit_fee("cheque", "EUR", True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        RECOVERY_FEE["EUR"] = Decimal(0)  # type: ignore[index]
