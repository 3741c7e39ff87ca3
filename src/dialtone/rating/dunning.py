"""Debit notice, dunning and late fees (TERMS B7, B8, B10).

Three pure pieces of the billing rules, with every time passed in as an argument:

* B7: a direct debit needs notice at least 3 days before it is taken
  (:func:`debit_allowed`); exactly 3 days is enough.
* B10: after a rejected payment, retry 72 h after it was attempted, then 72 h after that
  retry was attempted; the third rejection suspends at once (:func:`next_step`,
  :func:`due_retry`). An attempt has two times, when it was made and when its result
  arrived (a SEPA return comes days after the debit was presented): retries count from
  the first, a suspension happens at the second. The invoice stays due
  after a suspension, and a suspension earns no refund or credit: nothing here ever
  cancels, reduces or credits an amount.
* B8: late interest at the ECB rate + 10 points, actual/365, using the rate in force on
  1 January or 1 July of each half-year (:func:`late_interest`); a fixed recovery fee once
  per late invoice (:func:`recovery_fee`); a fee for a rejected direct debit the customer
  caused, not for card declines, excluding tax, added at the next attempt
  (:func:`rejected_debit_fee`).

Every figure the terms give is a module constant or keyword default, so an operator can
configure it ("Where rules meet — decisions": Dunning times, Late fees).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Literal, TypeAlias

PRENOTIFICATION = timedelta(days=3)
RETRY_AFTER = timedelta(hours=72)
REJECTIONS_TO_SUSPEND = 3

# Read-only so that a caller cannot change the operator's defaults for every later call.
RECOVERY_FEE: Mapping[str, Decimal] = MappingProxyType(
    {"EUR": Decimal("40"), "GBP": Decimal("40"), "USD": Decimal("40")}
)
REJECTED_DEBIT_FEE: Mapping[str, Decimal] = MappingProxyType(
    {"EUR": Decimal("10"), "GBP": Decimal("10"), "USD": Decimal("10")}
)
INTEREST_MARGIN = Decimal("10")  # percentage points over the ECB rate
INTEREST_DAY_BASIS = 365  # actual/365, leap years included (decision "Late fees")

MONEY_QUANTUM = Decimal("0.01")
_HUNDRED = Decimal(100)

Outcome = Literal["rejected", "paid", "pending"]
PaymentMethod = Literal["card", "sepa_debit", "bacs_debit"]
_OUTCOMES: frozenset[str] = frozenset({"rejected", "paid", "pending"})
_METHODS: frozenset[str] = frozenset({"card", "sepa_debit", "bacs_debit"})
_DIRECT_DEBITS: frozenset[str] = frozenset({"sepa_debit", "bacs_debit"})


def _require_aware(moment: datetime, what: str) -> None:
    # A naive time cannot be compared with the aware ones the rest of billing uses, and
    # guessing its zone could move a deadline by hours.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


# --- B7: notice before a debit ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an action may go on, the rule that decided it, a stable code and a
    sentence for people."""

    allowed: bool
    rule: str
    code: str
    message: str


def earliest_debit(notified_at: datetime, notice: timedelta = PRENOTIFICATION) -> datetime:
    """The first moment a debit notified at ``notified_at`` may be taken (TERMS B7)."""
    _require_aware(notified_at, "the notice time")
    return notified_at + notice


def debit_allowed(
    notified_at: datetime | None, debit_at: datetime, notice: timedelta = PRENOTIFICATION
) -> Verdict:
    """May a debit be taken at ``debit_at`` given the notice sent at ``notified_at``
    (TERMS B7)? Refused with no notice, or with less than ``notice`` (3 days) between
    notice and debit; exactly ``notice`` is enough."""
    _require_aware(debit_at, "the debit time")
    if notified_at is None:
        return Verdict(
            allowed=False,
            rule="B7",
            code="billing.debit_not_notified",
            message="A debit needs notice to the customer before it is taken.",
        )
    earliest = earliest_debit(notified_at, notice)
    if debit_at < earliest:
        return Verdict(
            allowed=False,
            rule="B7",
            code="billing.debit_notice_too_short",
            message=(
                f"The customer was notified at {notified_at.isoformat()}; the debit may be "
                f"taken from {earliest.isoformat()}, not at {debit_at.isoformat()}."
            ),
        )
    return Verdict(
        allowed=True,
        rule="B7",
        code="billing.debit_notice_given",
        message=f"The customer was notified at {notified_at.isoformat()}.",
    )


# --- B10: dunning -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt to collect an invoice and what came of it (B10).

    ``at`` is when the attempt was made (a card charged, a debit presented to the bank);
    ``result_at`` when its result arrived, ``None`` for the same moment (a card answers at
    once). A ``pending`` attempt is out and has no result yet (a SEPA debit presented,
    its return not yet possible to rule out)."""

    at: datetime
    outcome: Outcome
    result_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware(self.at, "a payment attempt's time")
        if self.outcome not in _OUTCOMES:
            raise ValueError(
                f"a payment attempt is 'rejected', 'paid' or 'pending', not {self.outcome!r}"
            )
        if self.result_at is not None:
            _require_aware(self.result_at, "a payment result's time")
            if self.result_at < self.at:
                raise ValueError("a payment's result cannot arrive before the attempt was made")
            if self.outcome == "pending":
                raise ValueError("a pending attempt has no result yet")

    @property
    def known_at(self) -> datetime:
        """When the result was known: ``result_at``, or ``at`` when they coincide."""
        return self.result_at if self.result_at is not None else self.at


@dataclass(frozen=True, slots=True)
class Retry:
    """Try to collect again at ``at``; ``attempt_number`` counts retries from 1 (B10).
    A rejected-debit fee, when one is due, is added to this attempt (B8)."""

    at: datetime
    attempt_number: int


@dataclass(frozen=True, slots=True)
class Suspend:
    """Suspend the service from ``at``, when the last allowed rejection arrived (B10).
    The invoice stays due and the suspension earns no refund or credit."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Awaiting:
    """An attempt made at ``at`` has no result yet: nothing to do until it comes (B10)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Settled:
    """The invoice was paid: dunning is over."""


@dataclass(frozen=True, slots=True)
class Nothing:
    """No attempt yet: dunning has not started."""


DunningStep: TypeAlias = Retry | Suspend | Settled | Nothing | Awaiting


def next_step(
    attempts: Sequence[Attempt],
    *,
    retry_after: timedelta = RETRY_AFTER,
    rejections_to_suspend: int = REJECTIONS_TO_SUSPEND,
) -> DunningStep:
    """What dunning does next for an invoice with these ``attempts`` (TERMS B10).

    Attempts are taken in the order they were made, whatever order they come in. A paid
    attempt settles the invoice, even after a suspension (lifting the suspension is the
    caller's call). Otherwise, after rejection ``k`` below ``rejections_to_suspend`` comes
    retry ``k``, ``retry_after`` after the rejected attempt was *made*: retry 1 is 72 h
    after the first attempt, and retry 2 is 72 h after retry 1 was attempted (decision
    "Dunning times"), not after its rejection arrived. A SEPA return arriving 5 days
    after the debit was presented therefore makes the retry due at once (its time is
    already past). While an attempt awaits its result, nothing is due (:class:`Awaiting`).
    The third rejection suspends at once, when it arrives; later rejections change
    nothing. The invoice stays due after a suspension and the suspension earns no refund
    or credit (B10).
    """
    if rejections_to_suspend < 1:
        raise ValueError("dunning suspends after at least one rejection")
    if retry_after <= timedelta(0):
        raise ValueError("a retry comes some time after the rejection")
    # sorted() is stable: attempts recorded at the same instant keep the order given.
    rejections: list[Attempt] = []
    pending: Attempt | None = None
    for attempt in sorted(attempts, key=lambda a: a.at):
        if attempt.outcome == "paid":
            return Settled()
        if attempt.outcome == "pending":
            pending = pending or attempt
        else:
            rejections.append(attempt)
    if len(rejections) >= rejections_to_suspend:
        return Suspend(at=rejections[rejections_to_suspend - 1].known_at)
    if pending is not None:
        return Awaiting(at=pending.at)
    if not rejections:
        return Nothing()
    return Retry(at=rejections[-1].at + retry_after, attempt_number=len(rejections))


def due_retry(
    attempts: Sequence[Attempt],
    now: datetime,
    *,
    retry_after: timedelta = RETRY_AFTER,
    rejections_to_suspend: int = REJECTIONS_TO_SUSPEND,
) -> bool:
    """Is a retry due at ``now`` (TERMS B10)? Exactly ``retry_after`` (72 h) after the
    rejected attempt was made is due; a second earlier is not."""
    _require_aware(now, "now")
    step = next_step(attempts, retry_after=retry_after, rejections_to_suspend=rejections_to_suspend)
    return isinstance(step, Retry) and now >= step.at


# --- B8: late interest and fees ---------------------------------------------------------


def reference_rate_date(day: date) -> date:
    """The date whose ECB rate applies to ``day``: 1 January or 1 July of its half-year
    (TERMS B8, decision "Late fees")."""
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _next_half_year(reference: date) -> date:
    return date(reference.year, 7, 1) if reference.month == 1 else date(reference.year + 1, 1, 1)


def late_interest(
    amount: Decimal,
    due: date,
    paid: date,
    ecb_rates: Mapping[date, Decimal],
    margin: Decimal = INTEREST_MARGIN,
) -> Decimal:
    """Late-payment interest on ``amount`` due on ``due`` and paid on ``paid`` (TERMS B8).

    Simple interest, actual/365, from the day after the due date to the payment date
    included, so ``(paid - due).days`` days, and nothing when paid on or before the due
    date. Each day bears the rate of its half-year: ``ecb_rates`` keyed by the half-year's
    reference date (1 January or 1 July, the ECB rate in force that day) plus ``margin``
    points; a combined rate below zero counts as zero, since lateness never earns the
    customer money. The sum is rounded once, half up, to the cent, so splitting a period
    across half-years adds no rounding of its own. A half-year with no rate raises
    ``ValueError`` naming it.
    """
    if amount < 0:
        raise ValueError("late interest is charged on an amount due, which is not negative")
    if paid <= due:
        return Decimal(0).quantize(MONEY_QUANTUM)
    # Rate x days is summed over the half-years before dividing, so the period is rounded
    # once, whatever the number of half-years it spans.
    weighted = Decimal(0)
    first_day = due + timedelta(days=1)
    reference = reference_rate_date(first_day)
    while reference <= paid:
        following = _next_half_year(reference)
        start = max(first_day, reference)
        end = min(paid, following - timedelta(days=1))
        ecb = ecb_rates.get(reference)
        if ecb is None:
            raise ValueError(
                f"no ECB rate for the half-year starting {reference.isoformat()} "
                f"(needed for late interest from {due.isoformat()} to {paid.isoformat()})"
            )
        days = (end - start).days + 1
        weighted += max(ecb + margin, Decimal(0)) * days
        reference = following
    interest = amount * weighted / (_HUNDRED * INTEREST_DAY_BASIS)
    return interest.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def _fee(fees: Mapping[str, Decimal], currency: str, what: str) -> Decimal:
    fee = fees.get(currency)
    if fee is None:
        known = ", ".join(sorted(fees))
        raise ValueError(f"no {what} for currency {currency!r} (known: {known})")
    return fee.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def rejected_debit_fee(
    method: PaymentMethod,
    currency: str,
    customer_caused: bool,
    fees: Mapping[str, Decimal] = REJECTED_DEBIT_FEE,
) -> Decimal:
    """The fee for a rejected payment (TERMS B8, decision "Late fees"): 10 €/£ for a
    rejected direct debit (SEPA or UK) the customer caused, nothing for a card decline or
    a rejection the customer did not cause. Excluding tax; the caller adds it to the next
    attempt. An unknown currency raises ``ValueError`` even when no fee is due, so a bad
    invoice is caught the first time."""
    if method not in _METHODS:
        raise ValueError(f"payment method is one of {', '.join(sorted(_METHODS))}, not {method!r}")
    fee = _fee(fees, currency, "rejected-debit fee")
    if method in _DIRECT_DEBITS and customer_caused:
        return fee
    return Decimal(0).quantize(MONEY_QUANTUM)


def recovery_fee(currency: str, fees: Mapping[str, Decimal] = RECOVERY_FEE) -> Decimal:
    """The fixed recovery fee, once per late invoice (TERMS B8). Unknown currency raises
    ``ValueError``."""
    return _fee(fees, currency, "recovery fee")
