"""Contract arithmetic: terms, pro rata, options, price changes, termination, withdrawal.

Pure functions over aware UTC datetimes and ``Decimal`` for TERMS B6 (terms and pro
rata), B17 (paid options), B11 (price changes), B12 (termination and its fee) and B13
(withdrawing a credit purchase). Every value the terms give is a module constant and a
keyword parameter defaulting to it, so a plan or operator can choose otherwise.

Renewal anniversaries are always counted from the subscription's start (the k-th
anniversary is ``start`` shifted by k terms), never chained from the previous one: a
subscription started on 29 February renews on 28 February in common years and on
29 February again in leap years, instead of drifting to the 28th for ever.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Periodicity = Literal["monthly", "annual", "multi_year"]
PriceChangeKind = Literal["increase", "revision", "decrease"]
PurchaseChannel = Literal[
    "self_service", "subscription", "partner", "voucher", "cash", "admin_assigned"
]

MONTHLY_TERM = timedelta(days=30)
"""B6: a monthly subscription renews every 30 days (not on calendar months)."""
MONTHS_PER_YEAR = 12
"""B6: annual and multi-year subscriptions renew every 12 months per year."""

PRICE_INCREASE_NOTICE = timedelta(days=30)
"""B11: an increase is announced at least 30 days before it takes effect."""
REVISION_CAP_PERCENT = Decimal("6")
"""B11: an annual revision raises a price by at most 6 %."""
REVISION_INTERVAL_MONTHS = 12
"""B11: at most one annual revision per 12 months."""

TERMINATION_NOTICE_MONTHLY = timedelta(days=30)
"""B12: "one month" of notice for a monthly plan, read as 30 days like its B6 term."""
TERMINATION_NOTICE_COMMITTED = timedelta(days=30)
"""B12: a committed plan is terminated at least 30 days before its term ends."""
FEE_MONTH = timedelta(days=30)
"""B12: the early-termination fee counts months left as started 30-day months."""

WITHDRAWAL_WINDOW = timedelta(hours=24)
"""B13: a credit purchase can be withdrawn within 24 hours (24:00:00 is still in time)."""
WITHDRAWAL_ABUSE_AFTER = 1
"""B13: this many earlier requests for the same reason let a new one be refused as abuse."""
REFUNDABLE_CHANNELS: frozenset[PurchaseChannel] = frozenset({"self_service"})
"""B13: only credits the customer bought themselves can be withdrawn."""

CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an action is allowed, the TERMS rule that decided, a stable
    machine-readable ``code`` (allowances have one too) and a sentence for people."""

    allowed: bool
    rule: str
    code: str
    message: str

    @property
    def refused(self) -> bool:
        return not self.allowed


def _require_utc(name: str, value: datetime) -> None:
    # Naive or non-UTC datetimes would make day counts and anniversaries depend on a
    # local clock (DST days are 23 or 25 hours); the callers convert at the edge.
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be an aware UTC datetime, not {value!r}")


def _add_months(value: datetime, months: int) -> datetime:
    """``value`` moved by whole calendar months, the day clamped to the month's last
    (29 February + 12 months is 28 February)."""
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def _term_months(periodicity: Periodicity, years: int) -> int:
    if years < 1:
        raise ValueError("a multi-year term lasts at least one year")
    return MONTHS_PER_YEAR * (years if periodicity == "multi_year" else 1)


def _anniversary(start: datetime, periodicity: Periodicity, k: int, years: int) -> datetime:
    """The k-th renewal date counted from ``start`` (k = 0 is ``start`` itself)."""
    if periodicity == "monthly":
        return start + k * MONTHLY_TERM
    return _add_months(start, k * _term_months(periodicity, years))


def term_end(start: datetime, periodicity: Periodicity, years: int = 1) -> datetime:
    """TERMS B6: the end of a term begun at ``start``: 30 days later for a monthly plan,
    the same day and time 12 months later for an annual one, ``years`` × 12 months later
    for a multi-year one (29 February clamps to 28 February in common years)."""
    _require_utc("start", start)
    return _anniversary(start, periodicity, 1, years)


def period_containing(
    start: datetime, periodicity: Periodicity, at: datetime, years: int = 1
) -> tuple[datetime, datetime]:
    """TERMS B6: the renewal period ``[begin, end)`` holding ``at``, periods renewing back
    to back from ``start``; an instant on an anniversary opens the new period."""
    _require_utc("start", start)
    _require_utc("at", at)
    if at < start:
        raise ValueError("the subscription had not started at that time")
    if periodicity == "monthly":
        k = (at - start) // MONTHLY_TERM
    else:
        elapsed = (at.year - start.year) * 12 + at.month - start.month
        k = elapsed // _term_months(periodicity, years)
        # The month count ignores days and times, so the guess can be one term off.
        while _anniversary(start, periodicity, k, years) > at:
            k -= 1
        while _anniversary(start, periodicity, k + 1, years) <= at:
            k += 1
    return (
        _anniversary(start, periodicity, k, years),
        _anniversary(start, periodicity, k + 1, years),
    )


def prorata(
    price_per_period: Decimal,
    added_at: datetime,
    period_start: datetime,
    period_end: datetime,
) -> Decimal:
    """TERMS B6: what a user or number added at ``added_at`` costs for the rest of the
    current period: ``price × remaining days / period days`` in whole calendar (UTC)
    days, the day of addition counted as remaining, rounded half up to the cent.

    Added on the period's first day it costs the full price; on its last day, one day's
    share. (Added on the date the period ends, before its end time, no whole day is left
    and it costs nothing: the access is billed with the next period.)
    """
    for name, value in (
        ("added_at", added_at),
        ("period_start", period_start),
        ("period_end", period_end),
    ):
        _require_utc(name, value)
    if price_per_period < 0:
        raise ValueError("a price cannot be negative")
    if not period_start <= added_at < period_end:
        raise ValueError("the access must be added within the period it is billed for")
    total = (period_end.date() - period_start.date()).days
    if total <= 0:
        raise ValueError("a billing period spans at least one day")
    remaining = (period_end.date() - added_at.date()).days
    return (price_per_period * remaining / total).quantize(CENT, rounding=ROUND_HALF_UP)


def committed_accesses(previous: int, requested: int, committed: bool) -> int:
    """TERMS B6: the accesses billed after a change: under commitment the count never
    decreases (deleting a user does not change the bill); otherwise the request."""
    if previous < 0 or requested < 0:
        raise ValueError("an access count cannot be negative")
    return max(previous, requested) if committed else requested


def option_first_billed_period(
    taken_at: datetime,
    subscription_start: datetime,
    periodicity: Periodicity,
    years: int = 1,
) -> tuple[datetime, datetime]:
    """TERMS B17: the first period a paid option is billed for. "From the month after it
    is taken" is read as the renewal period after the one it was taken in, with no pro
    rata for the current one (an option taken at the very start of a period is still
    taken in that period, so it is first billed in the next)."""
    _, current_end = period_containing(subscription_start, periodicity, taken_at, years)
    return period_containing(subscription_start, periodicity, current_end, years)


def option_commitment_end(access_commitment_end: datetime | None) -> datetime | None:
    """TERMS B17: an option attached to an access follows that access's commitment
    (committed until the access's commitment ends; uncommitted when the access is)."""
    return access_commitment_end


def price_change_allowed(
    old: Decimal,
    new: Decimal,
    announced_at: datetime,
    effective_at: datetime,
    *,
    kind: PriceChangeKind,
    last_revision_at: datetime | None = None,
    notice: timedelta = PRICE_INCREASE_NOTICE,
    revision_cap: Decimal = REVISION_CAP_PERCENT,
    revision_interval_months: int = REVISION_INTERVAL_MONTHS,
) -> Verdict:
    """TERMS B11: may a price go from ``old`` to ``new`` at ``effective_at`` when
    announced at ``announced_at``?

    Every change is announced before it applies. An increase takes effect at least
    ``notice`` (30 days) after its announcement; exactly 30 days is enough. An annual
    revision is an increase too, so it needs the same notice (RG 3.2 covers every
    increase); it also raises the price by at most ``revision_cap`` % (6 % passes,
    6.01 % does not) and comes at most once per ``revision_interval_months`` (12) after
    the last revision's effective date. A decrease only needs announcing.
    """
    _require_utc("announced_at", announced_at)
    _require_utc("effective_at", effective_at)
    if old < 0 or new < 0:
        raise ValueError("a price cannot be negative")
    rising = kind in ("increase", "revision")
    if (rising and new <= old) or (kind == "decrease" and new >= old):
        return Verdict(
            False,
            "B11",
            "billing.price_change_kind_mismatch",
            f"a {kind} from {old} to {new} does not move the price that way",
        )
    if effective_at < announced_at:
        return Verdict(
            False,
            "B11",
            "billing.price_change_not_announced",
            "a price change applies only once it has been announced",
        )
    if rising and effective_at - announced_at < notice:
        return Verdict(
            False,
            "B11",
            "billing.price_increase_notice_too_short",
            f"a price increase is announced at least {notice.days} days before it applies",
        )
    if kind == "revision":
        # Compared exactly, without computing a rounded percentage first: 6.01 % must fail.
        if new * 100 > old * (100 + revision_cap):
            return Verdict(
                False,
                "B11",
                "billing.price_revision_over_cap",
                f"an annual revision raises a price by at most {revision_cap} %",
            )
        if last_revision_at is not None:
            _require_utc("last_revision_at", last_revision_at)
            if effective_at < _add_months(last_revision_at, revision_interval_months):
                return Verdict(
                    False,
                    "B11",
                    "billing.price_revision_too_frequent",
                    f"prices are revised at most once per {revision_interval_months} months",
                )
    return Verdict(True, "B11", "billing.price_change_allowed", f"the {kind} may apply")


def fee_free_exit(
    announced_at: datetime, effective_at: datetime, at: datetime, *, carrier_cost: bool
) -> bool:
    """TERMS B11: may the customer leave at ``at`` without early-termination fee because
    of an increase announced at ``announced_at`` for ``effective_at``? Yes from the
    announcement to the effective date, both included, unless the increase only passes
    on carriers' higher SMS or minute costs."""
    for name, value in (("announced_at", announced_at), ("effective_at", effective_at), ("at", at)):
        _require_utc(name, value)
    return not carrier_cost and announced_at <= at <= effective_at


def termination_effective(
    requested_at: datetime,
    subscription_start: datetime,
    periodicity: Periodicity,
    *,
    committed: bool,
    commitment_end: datetime | None,
    notice_monthly: timedelta = TERMINATION_NOTICE_MONTHLY,
    notice_committed: timedelta = TERMINATION_NOTICE_COMMITTED,
    years: int = 1,
) -> datetime:
    """TERMS B12: when a termination requested at ``requested_at`` takes effect.

    Without commitment: at the first anniversary at least ``notice_monthly`` after the
    request. B12's "one month" is read as 30 days, the same as the B6 monthly term, so a
    request 30 days or more before the next anniversary ends there and a later one ends
    at the anniversary after. (An uncommitted annual plan counts its own anniversaries.)

    Under commitment: at ``commitment_end`` when requested at least ``notice_committed``
    (30 days) before it, exactly 30 days being in time; otherwise the commitment renews
    for another term and the subscription ends with that term (and so on, should
    ``commitment_end`` already be too close to or behind the request).
    """
    _require_utc("requested_at", requested_at)
    _require_utc("subscription_start", subscription_start)
    if requested_at < subscription_start:
        raise ValueError("a termination is requested after the subscription starts")
    if committed:
        if commitment_end is None:
            raise ValueError("a committed subscription has a commitment end")
        _require_utc("commitment_end", commitment_end)
        # Renewals are counted from the commitment end itself so 29 February cannot drift.
        k = 0
        while requested_at + notice_committed > _anniversary(commitment_end, periodicity, k, years):
            k += 1
        return _anniversary(commitment_end, periodicity, k, years)
    deadline = requested_at + notice_monthly
    begin, end = period_containing(subscription_start, periodicity, deadline, years)
    return begin if begin == deadline else end


def early_termination_fee(
    last_invoice_total: Decimal,
    months_covered_by_last_invoice: int,
    ends_at: datetime,
    commitment_end: datetime | None,
) -> Decimal:
    """TERMS B12: what ending a committed subscription at ``ends_at`` costs: the last
    invoice's monthly share (its total over the months it covered) times the months left
    until ``commitment_end``, each started 30-day month counting whole (one day left
    costs a month), rounded half up to the cent. Nothing without a commitment or once it
    has ended. A termination for unpaid invoices costs the same: callers use this fee.
    """
    _require_utc("ends_at", ends_at)
    if last_invoice_total < 0:
        raise ValueError("an invoice total cannot be negative")
    if months_covered_by_last_invoice < 1:
        raise ValueError("an invoice covers at least one month")
    if commitment_end is None:
        return _ZERO
    _require_utc("commitment_end", commitment_end)
    if ends_at >= commitment_end:
        return _ZERO
    # Ceiling division on timedeltas: any started 30-day month is due in full.
    months_left = -((ends_at - commitment_end) // FEE_MONTH)
    monthly = last_invoice_total / months_covered_by_last_invoice
    return (monthly * months_left).quantize(CENT, rounding=ROUND_HALF_UP)


def withdrawal_allowed(
    purchased_at: datetime,
    requested_at: datetime,
    *,
    channel: PurchaseChannel,
    credits_used: bool,
    number_assigned: bool,
    previous_requests_same_reason: int = 0,
    window: timedelta = WITHDRAWAL_WINDOW,
    abuse_after: int = WITHDRAWAL_ABUSE_AFTER,
) -> Verdict:
    """TERMS B13: may a credit purchase be withdrawn (refunded)?

    Only purchases the customer made in self-service qualify (not subscriptions, partner
    or voucher purchases, cash payments, nor credits an administrator assigned); only
    within ``window`` (24 h) of the purchase, exactly 24:00:00 being still in time (TERMS
    "Withdrawal edge"); only while no credit was used, a number assigned since counting
    as use; and a customer who already asked ``abuse_after`` (1) or more times for the
    same reason may be refused as abusing it. The first failing condition is reported.
    """
    _require_utc("purchased_at", purchased_at)
    _require_utc("requested_at", requested_at)
    if requested_at < purchased_at:
        raise ValueError("a withdrawal is requested after the purchase")
    if previous_requests_same_reason < 0:
        raise ValueError("a request count cannot be negative")
    if channel not in REFUNDABLE_CHANNELS:
        return Verdict(
            False,
            "B13",
            "billing.withdrawal_not_refundable",
            f"credits from a {channel.replace('_', ' ')} purchase are not refundable",
        )
    if requested_at - purchased_at > window:
        hours = window / timedelta(hours=1)
        return Verdict(
            False,
            "B13",
            "billing.withdrawal_window_closed",
            f"a credit purchase can be withdrawn within {hours:g} hours only",
        )
    if number_assigned:
        return Verdict(
            False,
            "B13",
            "billing.withdrawal_number_assigned",
            "a number was assigned since the purchase, which counts as using the credits",
        )
    if credits_used:
        return Verdict(
            False,
            "B13",
            "billing.withdrawal_credits_used",
            "credits already used cannot be withdrawn",
        )
    if previous_requests_same_reason >= abuse_after:
        return Verdict(
            False,
            "B13",
            "billing.withdrawal_repeated_request",
            "refund requests repeated for the same reason are refused as abuse",
        )
    return Verdict(True, "B13", "billing.withdrawal_allowed", "the purchase may be withdrawn")
