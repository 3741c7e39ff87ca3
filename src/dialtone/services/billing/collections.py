"""Collecting invoices and dunning (TERMS B7, B8, B10; N6 on suspension).

The billing job attempts each due invoice of a card-paying account through the card
provider (a real adapter or the fake, behind one interface); SEPA debits go out in a
pain.008 file (each recorded as a ``pending`` attempt on its collection date) and their
results come back from the bank days later, recorded with :func:`record_result`. An attempt
keeps both times, when it was made and when its result arrived. After a rejection the pure
:func:`dialtone.rating.dunning.next_step` says what is next: a retry 72 hours after the
rejected attempt was made, then 72 hours after that retry was made, and on the third
rejection the account is suspended at once (B10): its calls are refused with
``billing.suspended`` and its numbers deactivated, which starts N6's revocation delay.
The invoices stay due; a suspension earns no refund or credit.

Fees (B8, decision "Late fees"): a rejected direct debit the customer caused adds 10
(EUR or GBP) to the next attempt; an invoice paid after its due date costs interest at
the ECB rate + 10 points and the fixed 40 recovery fee, billed on the next invoice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.outside.payments import CardProvider, PaymentProviderError
from dialtone.rating import dunning
from dialtone.rating import ledger as books
from dialtone.services.accounts import audit
from dialtone.services.accounts.accounts import get_account
from dialtone.services.billing import ledger
from dialtone.services.billing.subscriptions import add_fee, find_subscription
from dialtone.services.ids import new_id
from dialtone.store.models import (
    Account,
    Invoice,
    PaymentAttempt,
    PhoneNumber,
    Subscription,
    SubscriptionChange,
)

# The ECB main refinancing rate in force on each half-year's reference date (percent).
# Data the operator keeps current; a half-year after the last listed one uses the last.
ECB_RATES: Mapping[date, Decimal] = MappingProxyType(
    {
        date(2025, 1, 1): Decimal("3.15"),
        date(2025, 7, 1): Decimal("2.15"),
        date(2026, 1, 1): Decimal("2.15"),
    }
)
ACTOR = "scheduler:billing"


def ecb_rate_on(day: date, rates: Mapping[date, Decimal] = ECB_RATES) -> Decimal | None:
    """The ECB rate that applies to late payment on ``day`` (B8: the rate in force on
    1 January or 1 July of its half-year; a half-year not listed takes the last listed
    before it); None before the first listed."""
    reference = dunning.reference_rate_date(day)
    known = [k for k in rates if k <= reference]
    return rates[max(known)] if known else None


@dataclass(frozen=True, slots=True)
class DunningSettings:
    """The values B8 and B10 give, each configurable."""

    retry_after: timedelta = dunning.RETRY_AFTER
    rejections_to_suspend: int = dunning.REJECTIONS_TO_SUSPEND
    late_fees: bool = True
    ecb_rates: Mapping[date, Decimal] = field(default_factory=lambda: ECB_RATES)


@dataclass(slots=True)
class CollectionReport:
    """What one run of the job did."""

    attempted: list[str] = field(default_factory=list)
    paid: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)


def _rates_for(rates: Mapping[date, Decimal], due: date, paid: date) -> dict[date, Decimal]:
    """``rates`` with every half-year from ``due`` to ``paid`` filled in (a half-year not
    listed takes the last listed rate before it)."""
    filled = dict(rates)
    day = dunning.reference_rate_date(due)
    last = max((k for k in rates if k <= day), default=None)
    while day <= paid:
        if day not in filled:
            if last is None:
                raise ValueError(f"no ECB rate is known for {day}")
            filled[day] = rates[last]
        last = day if day in rates else last
        day = date(day.year + (day.month == 7), 1 if day.month == 7 else 7, 1)
    return filled


def _attempts(session: Session, invoice_id: str) -> list[PaymentAttempt]:
    return list(
        session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.invoice_id == invoice_id)
            .order_by(PaymentAttempt.at, PaymentAttempt.id)
        )
    )


def list_payments(session: Session, account_id: str) -> list[tuple[PaymentAttempt, str | None]]:
    """Every attempt to collect the account's invoices (B7, B10), newest first, each with
    its invoice's number."""
    rows = session.execute(
        select(PaymentAttempt, Invoice.number)
        .join(Invoice, Invoice.id == PaymentAttempt.invoice_id)
        .where(Invoice.account_id == account_id)
        .order_by(PaymentAttempt.at.desc(), PaymentAttempt.id)
    ).all()
    return [(attempt, number) for attempt, number in rows]


def _fees_on(session: Session, invoice_id: str) -> Decimal:
    """Fees added to the attempts on ``invoice_id`` (B8's rejected-debit fee)."""
    total = session.scalar(
        select(func.coalesce(func.sum(SubscriptionChange.amount), 0)).where(
            SubscriptionChange.invoice_id == invoice_id, SubscriptionChange.kind == "fee"
        )
    )
    return Decimal(str(total)).quantize(Decimal("0.01"))


def amount_due(session: Session, invoice: Invoice) -> Decimal:
    """What the next attempt on ``invoice`` collects: its total and the fees added."""
    return Decimal(invoice.total) + _fees_on(session, invoice.id)


def next_step(
    session: Session, invoice: Invoice, settings: DunningSettings = DunningSettings()
) -> dunning.DunningStep:
    """Where dunning stands for ``invoice`` (B10)."""
    return dunning.next_step(
        [
            dunning.Attempt(a.at, a.outcome, a.result_at)  # type: ignore[arg-type]
            for a in _attempts(session, invoice.id)
        ],
        retry_after=settings.retry_after,
        rejections_to_suspend=settings.rejections_to_suspend,
    )


def pending_attempt(session: Session, invoice_id: str, method: str) -> PaymentAttempt | None:
    """The attempt by ``method`` on the invoice still awaiting its result (a SEPA debit
    presented), if any."""
    return session.scalar(
        select(PaymentAttempt)
        .where(
            PaymentAttempt.invoice_id == invoice_id,
            PaymentAttempt.method == method,
            PaymentAttempt.outcome == "pending",
        )
        .order_by(PaymentAttempt.at, PaymentAttempt.id)
        .limit(1)
    )


def record_result(
    session: Session,
    invoice_id: str,
    outcome: str,
    *,
    at: datetime,
    method: str,
    attempted_at: datetime | None = None,
    reason: str = "",
    provider_ref: str = "",
    customer_caused: bool = True,
    settings: DunningSettings = DunningSettings(),
) -> PaymentAttempt:
    """Record one attempt's result (a card charge, a SEPA debit or its return, a
    transfer), arrived at ``at``, and act on it: paid settles the invoice; rejected may add
    B8's fee and, at the third rejection, suspends the account (B10).

    The result is that of the invoice's attempt by ``method`` awaiting its result (a
    debit presented in a SEPA file, made on its collection date) when there is one, else
    of a new attempt; it was made at ``attempted_at`` when given, else on the collection
    date, else at ``at`` (a card, a transfer). B10's retries count from when the
    attempt was made, not from when a late SEPA return arrived."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise DialtoneError("invoice.not_found", f"No invoice {invoice_id}.", status=404)
    if outcome not in ("paid", "rejected"):
        raise DialtoneError("payment.invalid", "outcome: paid or rejected")
    if invoice.status == "paid":
        raise DialtoneError("payment.settled", "The invoice is already paid.", status=409)
    if attempted_at is not None and attempted_at > at:
        raise DialtoneError(
            "payment.invalid",
            f"attempted_at: the attempt ({attempted_at.isoformat()}) cannot come after its "
            f"result ({at.isoformat()})",
        )
    attempt = pending_attempt(session, invoice.id, method)
    if attempt is not None and attempted_at is not None:
        attempt.at = attempted_at  # the operator knows when the bank took it
    if attempt is not None and attempt.at > at:
        raise DialtoneError(
            "payment.invalid",
            f"the debit is collected on {attempt.at:%Y-%m-%d}; its result cannot arrive "
            f"before, at {at.isoformat()}",
        )
    if attempt is None:
        attempt = PaymentAttempt(
            id=new_id("PA"),
            invoice_id=invoice.id,
            method=method,
            amount=amount_due(session, invoice),
            currency=invoice.currency,
            at=attempted_at or at,
        )
        session.add(attempt)
    attempt.outcome = outcome
    attempt.result_at = at
    attempt.reason = reason
    attempt.provider_ref = provider_ref or attempt.provider_ref or ""
    attempt.customer_caused = customer_caused
    session.flush()
    if outcome == "paid":
        _settle(session, invoice, attempt, settings, now=at)
        return attempt
    if method in ("sepa_debit", "bacs_debit"):
        fee = dunning.rejected_debit_fee(method, invoice.currency, customer_caused)  # type: ignore[arg-type]
        if fee:
            _add_fee(session, invoice, "Rejected direct debit fee", fee, at, collect_now=True)
    step = next_step(session, invoice, settings)
    if isinstance(step, dunning.Suspend):
        suspend(session, invoice.account_id, now=step.at, invoice_id=invoice.id)
    return attempt


def present(session: Session, invoice: Invoice, *, at: datetime, method: str) -> PaymentAttempt:
    """Record an attempt made at ``at`` whose result comes later (a SEPA debit presented
    for collection that day): ``pending`` until :func:`record_result`."""
    attempt = PaymentAttempt(
        id=new_id("PA"), invoice_id=invoice.id, method=method,
        amount=amount_due(session, invoice), currency=invoice.currency, at=at,
        outcome="pending", result_at=None,
    )  # fmt: skip
    session.add(attempt)
    session.flush()
    return attempt


def _add_fee(
    session: Session, invoice: Invoice, what: str, amount: Decimal, at: datetime, *,
    collect_now: bool, taxable: bool = True,
) -> None:  # fmt: skip
    """A B8 fee: added to the next attempt on ``invoice`` (``collect_now``, posted to
    the receivable at once) or billed on the next invoice."""
    sub = find_subscription(session, invoice.account_id)
    if sub is None or amount <= 0:
        return
    fee = add_fee(
        session, sub, what, amount, at=at, taxable=taxable,
        invoice_id=invoice.id if collect_now else None,
    )  # fmt: skip
    if collect_now:
        ledger.post(
            session,
            books.transfer(
                f"fee:{fee.id}", at, what, books.receivable(invoice.account_id),
                books.REVENUE_FEES, amount, invoice.currency,
            ),
        )  # fmt: skip


def _settle(
    session: Session, invoice: Invoice, attempt: PaymentAttempt, settings: DunningSettings,
    *, now: datetime,
) -> None:  # fmt: skip
    # The money was taken when the attempt was made (a debit's collection date): lateness
    # and the payment date count from then; reinstatement happens when it is known.
    invoice.status = "paid"
    invoice.paid_at = attempt.at
    ledger.post(
        session,
        books.transfer(
            f"payment:{attempt.id}", attempt.at, f"payment of {invoice.number}", books.CASH,
            books.receivable(invoice.account_id), Decimal(attempt.amount), invoice.currency,
        ),
    )  # fmt: skip
    due = invoice.due_at
    if settings.late_fees and due is not None and attempt.at.date() > due.date():
        rates = _rates_for(settings.ecb_rates, due.date(), attempt.at.date())
        interest = dunning.late_interest(
            Decimal(invoice.total), due.date(), attempt.at.date(), rates
        )
        _add_fee(
            session, invoice, f"Late-payment interest on {invoice.number}", interest,
            attempt.at, collect_now=False, taxable=False,
        )  # fmt: skip
        _add_fee(
            session, invoice, f"Recovery fee for {invoice.number}",
            dunning.recovery_fee(invoice.currency), attempt.at, collect_now=False,
            taxable=False,
        )  # fmt: skip
    account = get_account(session, invoice.account_id)
    if account.billing_suspended_at is not None and not overdue(session, invoice.account_id, now):
        reinstate(session, account, now=now)


def overdue(session: Session, account_id: str, now: datetime) -> list[Invoice]:
    """The account's issued invoices past due and unpaid."""
    return list(
        session.scalars(
            select(Invoice).where(
                Invoice.account_id == account_id,
                Invoice.status == "issued",
                Invoice.due_at <= now,
                Invoice.total > 0,
            )
        )
    )


def suspend(session: Session, account_id: str, *, now: datetime, invoice_id: str) -> Account:
    """B10: suspend at once on the third rejection: calls refused, numbers deactivated
    (N6's delay to revocation starts). Idempotent."""
    account = get_account(session, account_id)
    if account.billing_suspended_at is not None:
        return account
    account.billing_suspended_at = now
    for number in session.scalars(
        select(PhoneNumber).where(
            PhoneNumber.account_id == account_id, PhoneNumber.deactivated_at.is_(None)
        )
    ):
        number.deactivated_at = now
    audit.record_enforcement(
        session, "billing.suspended",
        "Suspended after the third rejected payment; the invoices stay due.",
        at=now, account_id=account_id, actor=ACTOR, action="billing.suspend",
        invoice=invoice_id,
    )  # fmt: skip
    session.flush()
    return account


def reinstate(session: Session, account: Account, *, now: datetime) -> None:
    """Every overdue invoice is paid: calls resume and the numbers deactivated by the
    suspension (and not revoked since) work again. No credit for the suspension (B10)."""
    since = account.billing_suspended_at
    account.billing_suspended_at = None
    for number in session.scalars(
        select(PhoneNumber).where(
            PhoneNumber.account_id == account.id, PhoneNumber.deactivated_at == since
        )
    ):
        number.deactivated_at = None
    audit.record_enforcement(
        session, "billing.suspended", "Reinstated: the overdue invoices are paid.",
        at=now, account_id=account.id, actor=ACTOR, action="billing.reinstate",
    )  # fmt: skip
    session.flush()


def collect_due(
    session: Session,
    *,
    now: datetime,
    card: CardProvider,
    settings: DunningSettings = DunningSettings(),
) -> CollectionReport:
    """The billing job's collection step: for each unpaid, due invoice of a card-paying
    account, charge it when dunning says an attempt is due (the first on the due date,
    retries 72 h apart, B10); suspend where the third rejection is on record."""
    report = CollectionReport()
    invoices = session.scalars(
        select(Invoice)
        .join(Subscription, Subscription.account_id == Invoice.account_id)
        .where(
            Invoice.status == "issued",
            Invoice.due_at <= now,
            Invoice.total > 0,
            Subscription.payment_method == "card",
        )
        .order_by(Invoice.sequence)
    ).all()
    for invoice in invoices:
        step = next_step(session, invoice, settings)
        if isinstance(step, dunning.Suspend):
            if get_account(session, invoice.account_id).billing_suspended_at is None:
                suspend(session, invoice.account_id, now=now, invoice_id=invoice.id)
                report.suspended.append(invoice.account_id)
            continue
        if isinstance(step, dunning.Retry) and step.at > now:
            continue
        if not isinstance(step, (dunning.Nothing, dunning.Retry)):
            continue
        sub = find_subscription(session, invoice.account_id)
        number = len(_attempts(session, invoice.id)) + 1
        try:
            result = card.charge(
                customer_ref=(sub.customer_ref if sub else None) or invoice.account_id,
                amount=amount_due(session, invoice),
                currency=invoice.currency,
                idempotency_key=f"{invoice.id}:{number}",
                description=f"Invoice {invoice.number}",
            )
        except PaymentProviderError:
            continue  # the provider's outage is not the customer's rejection: retry later
        report.attempted.append(invoice.id)
        record_result(
            session, invoice.id, result.status, at=now, method="card", reason=result.reason,
            provider_ref=result.provider_ref, settings=settings,
        )  # fmt: skip
        (report.paid if result.status == "paid" else report.rejected).append(invoice.id)
        if get_account(session, invoice.account_id).billing_suspended_at == now:
            report.suspended.append(invoice.account_id)
    return report
