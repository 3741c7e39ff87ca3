"""Changes to a customer's contract: credit purchases and their withdrawal (B13),
disputes and credit notes (B9), termination and its fee (B12), the number deletion fee
(N9) and announced price changes (B11).

The arithmetic and the limits are :mod:`dialtone.rating.contract`'s and
:mod:`dialtone.policy.number_fees`'; this module reads the facts from the store, refuses
with the rule's code, and records what was done (fees go on the next invoice, money
moves through the ledger).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.policy.number_fees import deletion_fee
from dialtone.rating import contract
from dialtone.rating import ledger as books
from dialtone.rating.contract import Verdict
from dialtone.rating.invoice import cents
from dialtone.rating.plans import DEFAULT_CATALOGUE
from dialtone.services.billing import ledger
from dialtone.services.billing.subscriptions import (
    add_fee,
    find_subscription,
    get_subscription,
    plan_of,
)
from dialtone.services.ids import new_id
from dialtone.store.models import (
    CreditPurchase,
    Dispute,
    Invoice,
    LedgerEntry,
    PhoneNumber,
    PortInRequest,
    PriceChange,
)

DISPUTE_WINDOW = timedelta(days=30)  # B9
MAX_WITHDRAWAL_REASON = 200  # CreditPurchase.withdrawal_reason's width


def _refuse(verdict: Verdict, status: int = 409, **details: object) -> DialtoneError:
    return DialtoneError(
        verdict.code, verdict.message, rule=verdict.rule, status=status, details=details
    )


# -- B4 / B13: prepaid credits ---------------------------------------------------------


def buy_credits(
    session: Session, account_id: str, amount: Decimal, *, now: datetime,
    channel: contract.PurchaseChannel = "self_service",
) -> CreditPurchase:  # fmt: skip
    """Credits bought and paid (B4): shared by the account's users, rolled over until
    used, valid for the subscription's duration."""
    sub = get_subscription(session, account_id)
    if amount <= 0 or amount != cents(amount):
        raise DialtoneError("billing.amount", "an amount of money, to the cent, above zero")
    row = CreditPurchase(
        id=new_id("CP"), account_id=account_id, amount=amount, currency=sub.currency,
        channel=channel, purchased_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    ledger.post(
        session,
        books.transfer(
            f"credits-bought:{row.id}", now, "credits bought", books.CASH,
            books.credits(account_id), amount, sub.currency,
        ),
    )  # fmt: skip
    return row


def _credits_used_since(session: Session, account_id: str, since: datetime) -> bool:
    drawn = session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(
            LedgerEntry.account == books.credits(account_id),
            LedgerEntry.amount_e4 > 0,  # a debit of the liability: credits drawn
            LedgerEntry.at >= since,
            LedgerEntry.tx_key.like("credits-used:%"),
        )
    )
    return bool(drawn)


def withdraw_credits(
    session: Session, account_id: str, purchase_id: str, *, now: datetime, reason: str
) -> CreditPurchase:
    """B13: withdraw a purchase of credits within 24 hours (exactly 24 h is in time),
    unless credits were used or a number assigned since; only self-service purchases;
    repeated requests for the same reason may be refused as abuse. The money goes back
    and the credits go away, through the ledger. The reason is required (it is how
    repeated requests are told apart), up to 200 characters (the column's width)."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_WITHDRAWAL_REASON:
        raise DialtoneError(
            "billing.withdrawal_reason",
            f"Say why the purchase is withdrawn (1 to {MAX_WITHDRAWAL_REASON} characters).",
            rule="B13",
        )
    row = session.get(CreditPurchase, purchase_id)
    if row is None or row.account_id != account_id:
        raise NotFound("billing.purchase_not_found", f"No credit purchase {purchase_id}.")
    if row.withdrawn_at is not None:
        raise DialtoneError("billing.purchase_withdrawn", "Already withdrawn.", status=409)
    numbers_since = session.scalar(
        select(func.count())
        .select_from(PhoneNumber)
        .where(PhoneNumber.account_id == account_id, PhoneNumber.created_at >= row.purchased_at)
    )
    same_reason = session.scalar(
        select(func.count())
        .select_from(CreditPurchase)
        .where(
            CreditPurchase.account_id == account_id,
            CreditPurchase.withdrawal_reason == reason,
            CreditPurchase.withdrawn_at.is_not(None),
        )
    )
    verdict = contract.withdrawal_allowed(
        row.purchased_at, now, channel=row.channel,  # type: ignore[arg-type]
        credits_used=_credits_used_since(session, account_id, row.purchased_at),
        number_assigned=bool(numbers_since), previous_requests_same_reason=same_reason or 0,
    )  # fmt: skip
    if verdict.refused:
        raise _refuse(verdict, purchase=purchase_id)
    row.withdrawn_at = now
    row.withdrawal_reason = reason
    ledger.post(
        session,
        books.transfer(
            f"credits-withdrawn:{row.id}", now, "credit purchase withdrawn",
            books.credits(account_id), books.CASH, Decimal(row.amount), row.currency,
        ),
    )  # fmt: skip
    return row


def list_purchases(session: Session, account_id: str) -> list[CreditPurchase]:
    """The account's credit purchases (B4), oldest first, withdrawn ones (B13) included."""
    return list(
        session.scalars(
            select(CreditPurchase)
            .where(CreditPurchase.account_id == account_id)
            .order_by(CreditPurchase.purchased_at, CreditPurchase.id)
        )
    )


# -- B9: disputes ----------------------------------------------------------------------


def list_disputes(session: Session, account_id: str) -> list[Dispute]:
    """The account's disputes (B9), oldest first, with how each was decided."""
    return list(
        session.scalars(
            select(Dispute)
            .where(Dispute.account_id == account_id)
            .order_by(Dispute.opened_at, Dispute.id)
        )
    )


def open_dispute(
    session: Session, account_id: str, invoice_id: str, *, reason: str, now: datetime
) -> Dispute:
    """B9: dispute an issued invoice within 30 days of issue (exactly 30 days is in
    time), naming it; the invoice stays payable meanwhile."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.account_id != account_id or invoice.issued_at is None:
        raise NotFound("invoice.not_found", f"The account has no invoice {invoice_id}.")
    if not reason.strip():
        raise DialtoneError("billing.dispute_reason", "Say what is disputed.", rule="B9")
    if now > invoice.issued_at + DISPUTE_WINDOW:
        raise DialtoneError(
            "billing.dispute_late",
            "A bill may be disputed within 30 days of its issue.",
            rule="B9",
            status=409,
            details={"issued_at": invoice.issued_at.isoformat()},
        )
    row = Dispute(
        id=new_id("DS"), invoice_id=invoice.id, account_id=account_id, opened_at=now,
        reason=reason.strip(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def decide_dispute(
    session: Session, dispute_id: str, *, agreed_amount: Decimal | None, now: datetime
) -> Dispute:
    """The operator's decision on a dispute: an agreed reduction (up to the invoice's
    total) becomes a credit note line on the next invoice (B9); None rejects it."""
    row = session.get(Dispute, dispute_id)
    if row is None:
        raise NotFound("billing.dispute_not_found", f"No dispute {dispute_id}.")
    if row.status != "open":
        raise DialtoneError("billing.dispute_decided", "The dispute was decided.", status=409)
    invoice = session.get(Invoice, row.invoice_id)
    assert invoice is not None
    if agreed_amount is not None and not (0 < agreed_amount <= Decimal(invoice.total)):
        raise DialtoneError(
            "billing.amount", "The agreed reduction is above zero and at most the invoice."
        )
    row.status = "agreed" if agreed_amount is not None else "rejected"
    row.agreed_amount = cents(agreed_amount) if agreed_amount is not None else None
    row.decided_at = now
    session.flush()
    return row


# -- B12: termination ------------------------------------------------------------------


def request_termination(session: Session, account_id: str, *, now: datetime) -> datetime:
    """B12: when a termination asked for at ``now`` takes effect (monthly plans at the
    anniversary at least a month away; committed plans at the commitment's end when
    asked 30 days before, otherwise the next term's). Invoices stop there."""
    sub = get_subscription(session, account_id)
    plan = plan_of(sub)
    committed = sub.commitment_end is not None
    ends = contract.termination_effective(
        now, sub.started_at, plan.periodicity, committed=committed,
        commitment_end=sub.commitment_end, years=plan.years,
    )  # fmt: skip
    sub.termination_requested_at = now
    sub.ends_at = ends
    return ends


def terminate_early(session: Session, account_id: str, *, now: datetime, reason: str) -> Decimal:
    """B12: end a committed subscription at ``now``: the fee is the last invoice times
    the months left (the same for a termination for unpaid invoices); none inside a
    B11 fee-free exit window. The fee goes on a last invoice."""
    sub = get_subscription(session, account_id)
    plan = plan_of(sub)
    last = session.scalar(
        select(Invoice)
        .where(Invoice.account_id == account_id, Invoice.issued_at.is_not(None))
        .order_by(Invoice.sequence.desc())
        .limit(1)
    )
    fee = Decimal("0.00")
    if last is not None and not in_exit_window(session, sub.plan_code, sub.currency, now):
        fee = contract.early_termination_fee(
            Decimal(last.total), plan.months_per_period, now, sub.commitment_end
        )
    if fee:
        add_fee(session, sub, f"Early termination fee ({reason})", fee, at=now)
    sub.termination_requested_at = now
    sub.ends_at = now
    session.flush()
    return fee


# -- N9: deleting a number -------------------------------------------------------------


def charge_number_deletion(
    session: Session, account_id: str, number: PhoneNumber, *, now: datetime
) -> Decimal:
    """N9: deleting a number under commitment costs 6 months of its price; free without
    commitment, before its port-in completes, or on a trial. Billed on the next invoice."""
    sub = find_subscription(session, account_id)
    if sub is None:
        return Decimal(0)
    plan = plan_of(sub)
    pending = session.scalar(
        select(func.count())
        .select_from(PortInRequest)
        .where(
            PortInRequest.account_id == account_id,
            PortInRequest.numbers.contains(number.number),
            PortInRequest.closed_at.is_(None),
        )
    )
    monthly = plan.number_price(sub.currency) / plan.months_per_period
    fee = deletion_fee(
        monthly,
        committed=sub.commitment_end is not None and now < sub.commitment_end,
        trial=plan.trial,
        port_pending=bool(pending),
    )
    amount = cents(fee.amount)
    if amount:
        add_fee(session, sub, f"Number deletion fee {number.number}", amount, at=now)
    return amount


# -- B11: price changes ----------------------------------------------------------------


def announce_price_change(
    session: Session, plan_code: str, currency: str, new_price: Decimal, *,
    kind: contract.PriceChangeKind, effective_at: datetime, now: datetime,
    carrier_cost: bool = False,
) -> PriceChange:  # fmt: skip
    """B11: announce a plan's new price per access: an increase at least 30 days ahead,
    an annual revision at most 6 % once a year; a decrease at any time after it is
    announced. Invoices from ``effective_at`` use it."""
    if plan_code not in DEFAULT_CATALOGUE:
        raise DialtoneError("billing.unknown_plan", f"plan {plan_code} is not in the catalogue")
    old = price_at(session, plan_code, currency, effective_at)
    last_revision = session.scalar(
        select(func.max(PriceChange.effective_at)).where(
            PriceChange.plan_code == plan_code,
            PriceChange.currency == currency,
            PriceChange.kind == "revision",
        )
    )
    verdict = contract.price_change_allowed(
        old, new_price, now, effective_at, kind=kind, last_revision_at=last_revision
    )
    if verdict.refused:
        raise _refuse(verdict, old=str(old), new=str(new_price))
    row = PriceChange(
        id=new_id("PC"), plan_code=plan_code, currency=currency, kind=kind, old_price=old,
        new_price=new_price, announced_at=now, effective_at=effective_at,
        carrier_cost=carrier_cost,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def price_at(session: Session, plan_code: str, currency: str, at: datetime) -> Decimal:
    """A plan's price per access in force at ``at``: the catalogue's, or the last
    announced change effective by then (B11)."""
    change = session.scalar(
        select(PriceChange)
        .where(
            PriceChange.plan_code == plan_code,
            PriceChange.currency == currency,
            PriceChange.effective_at <= at,
        )
        .order_by(PriceChange.effective_at.desc())
        .limit(1)
    )
    if change is not None:
        return Decimal(change.new_price)
    return DEFAULT_CATALOGUE[plan_code].access_price(currency)


def in_exit_window(session: Session, plan_code: str, currency: str, at: datetime) -> bool:
    """B11: whether ``at`` is inside the fee-free exit window of an increase of the plan
    (from its announcement to its effect; not for carriers' cost increases)."""
    changes = session.scalars(
        select(PriceChange).where(
            PriceChange.plan_code == plan_code,
            PriceChange.currency == currency,
            PriceChange.kind.in_(("increase", "revision")),
        )
    )
    return any(
        contract.fee_free_exit(c.announced_at, c.effective_at, at, carrier_cost=c.carrier_cost)
        for c in changes
    )
