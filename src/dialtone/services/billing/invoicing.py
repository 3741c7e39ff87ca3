"""Invoices: in advance at the plan's periodicity, usage in arrears (TERMS B6, B7, B9,
B16, B17, S1/S4).

The invoice issued at the start of a period carries:

- the period's accesses, numbers and options, in advance (B6, B7; an option from the
  period after it was taken, B17);
- accesses and numbers added during the previous period, pro rata to its end (B6);
- the previous period's rated usage not yet invoiced, in arrears: one line per
  destination, the sum of each record's overage rounded to the cent (B5, V4), and the
  B16 penalty;
- one-off fees (B8, B12, N9), agreed disputes as credit notes (B9), claimed SLA credits
  (S1, S4) and credit carried from the last invoice.

The draft is the next invoice computed live (nothing is marked); issuing persists it
with the next number of the sequence, marks what it billed, and posts it to the ledger,
all in one transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.rating import contract
from dialtone.rating import ledger as books
from dialtone.rating.invoice import (
    InvoiceLine,
    InvoiceTotals,
    amount_line,
    cents,
    line,
    settle,
    tax_rate_for,
)
from dialtone.rating.plans import DEFAULT_OPTIONS
from dialtone.services.billing import billing_profiles, contract_changes, ledger, subscriptions
from dialtone.services.billing.invoice_documents import (
    DocumentLine,
    InvoiceDocument,
    Issuer,
    Party,
    Payment,
    plural,
)
from dialtone.services.billing.subscriptions import get_subscription, plan_of
from dialtone.services.ids import new_id
from dialtone.store.models import (
    Account,
    BillingProfile,
    Dispute,
    Invoice,
    InvoiceLineRow,
    PhoneNumber,
    RatedLine,
    SlaClaim,
    Subscription,
    SubscriptionChange,
)

INVOICE_PREFIX = "INV-"
PAYMENT_TERMS = timedelta(days=3)  # the B7 notice: a debit on the due date is notified
_SIXTY = Decimal(60)


@dataclass(frozen=True, slots=True)
class Draft:
    """An invoice as it would be issued at ``period_start``, and what it bills."""

    subscription: Subscription
    period_start: datetime
    period_end: datetime
    totals: InvoiceTotals
    rated_ids: tuple[int, ...]
    change_ids: tuple[str, ...]
    dispute_ids: tuple[str, ...]
    claim_ids: tuple[str, ...]


def next_period(sub: Subscription) -> tuple[datetime, datetime]:
    """The period the next invoice bills in advance."""
    plan = plan_of(sub)
    start = sub.invoiced_until or sub.started_at
    return contract.period_containing(sub.started_at, plan.periodicity, start, plan.years)


def _fmt(day: datetime) -> str:
    return day.date().isoformat()


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _advance(
    session: Session, sub: Subscription, start: datetime, end: datetime
) -> list[InvoiceLine]:
    plan = plan_of(sub)
    period = (start, end)
    # The period is printed under each line, from the line's own span (not the text).
    lines = [
        line(
            "subscription", f"{plan.name}, {plural(sub.accesses, 'access', 'accesses')}",
            sub.accesses,
            contract_changes.price_at(session, sub.plan_code, sub.currency, start),  # B11
            rule="B6", period=period,
        )
    ]  # fmt: skip
    numbers = session.scalar(
        select(func.count())
        .select_from(PhoneNumber)
        .where(PhoneNumber.account_id == sub.account_id, PhoneNumber.deactivated_at.is_(None))
    )
    if numbers and plan.number_price(sub.currency):
        lines.append(
            line(
                "number", "Phone number" if numbers == 1 else "Phone numbers", numbers,
                plan.number_price(sub.currency),
                rule="B6", period=period,
            )
        )  # fmt: skip
    options = session.scalars(
        select(SubscriptionChange).where(
            SubscriptionChange.subscription_id == sub.id,
            SubscriptionChange.kind == "option",
            SubscriptionChange.at < start,  # B17: from the period after it was taken
            SubscriptionChange.removed_at.is_(None),
        )
    )
    for option in options:
        known = DEFAULT_OPTIONS.get(option.code)
        if known is not None:
            lines.append(
                line(
                    "option", known.name, option.quantity,
                    known.price[sub.currency], rule="B17", period=period,
                )
            )  # fmt: skip
    return lines


def _arrears_changes(
    session: Session, sub: Subscription, start: datetime
) -> tuple[list[InvoiceLine], list[str]]:
    plan = plan_of(sub)
    lines: list[InvoiceLine] = []
    ids: list[str] = []
    changes = session.scalars(
        select(SubscriptionChange)
        .where(
            SubscriptionChange.subscription_id == sub.id,
            SubscriptionChange.invoice_id.is_(None),
            SubscriptionChange.kind.in_(("access", "number", "fee")),
            SubscriptionChange.at < start,
        )
        .order_by(SubscriptionChange.at)
    )
    for change in changes:
        ids.append(change.id)
        if change.kind == "fee":
            lines.append(
                amount_line(
                    "fee", change.code, Decimal(change.amount or 0), taxable=change.taxable,
                    rule=None,
                )
            )  # fmt: skip
            continue
        p_start, p_end = contract.period_containing(
            sub.started_at, plan.periodicity, change.at, plan.years
        )
        if p_start == change.at or p_end > start:
            continue  # added at a period's start, or in the period billed in advance now
        price = (
            plan.access_price(sub.currency)
            if change.kind == "access"
            else plan.number_price(sub.currency)
        )
        part = contract.prorata(price, change.at, p_start, p_end)
        what = (
            plural(change.quantity, "access", "accesses")
            if change.kind == "access"
            else (plural(change.quantity, "number"))
        )
        lines.append(
            line(
                "prorata", f"{what} added on {_fmt(change.at)}, pro rata", change.quantity,
                part, rule="B6",
                period=(change.at, p_end),
            )
        )  # fmt: skip
    return lines, ids


def _usage(
    session: Session, sub: Subscription, before: datetime
) -> tuple[list[InvoiceLine], list[int]]:
    rows = list(
        session.scalars(
            select(RatedLine)
            .where(
                RatedLine.account_id == sub.account_id,
                RatedLine.invoice_id.is_(None),
                RatedLine.started_at < before,
                RatedLine.status == "rated",
            )
            .order_by(RatedLine.id)
        )
    )
    groups: dict[tuple[str, str], list[RatedLine]] = defaultdict(list)
    penalty = Decimal(0)
    penalty_seconds = 0
    for row in rows:
        if Decimal(row.overage):
            groups[(row.kind, row.destination_name or row.destination)].append(row)
        if Decimal(row.penalty):
            penalty += Decimal(row.penalty)
            penalty_seconds += row.quantity
    lines: list[InvoiceLine] = []
    for (kind, name), members in sorted(groups.items()):
        amount = cents(sum((Decimal(r.overage) for r in members), Decimal(0)))
        if kind == "sms":
            qty = Decimal(sum(r.quantity for r in members))
            what = f"SMS to {name}: {plural(qty, 'segment')}"
        else:
            qty = Decimal(sum(r.quantity - r.included for r in members)) / _SIXTY
            label = "Forwarded calls" if kind == "forward" else "Calls"
            what = f"{label} to {name}: {plural(len(members), 'call')}, {qty.normalize():f} min"
        rule = "V4" if kind == "forward" else "B5"
        # The days the records were made on, printed like every other period.
        first = min(r.started_at for r in members)
        last = max(r.started_at for r in members)
        span = (_day_start(first), _day_start(last) + timedelta(days=1))
        lines.append(
            InvoiceLine(
                "usage", what, qty, (amount / qty) if qty else amount, amount, rule,
                period_start=span[0], period_end=span[1],
            )
        )  # fmt: skip
    if penalty:
        lines.append(
            amount_line("penalty", "Telemarketing penalty per minute", penalty, rule="B16")
        )
    return lines, [r.id for r in rows]


_SLA_CREDITS = {"S1": "downtime at the location", "S4": "availability of reported incidents"}


def _credits(session: Session, sub: Subscription) -> tuple[list[InvoiceLine], list[str], list[str]]:
    lines: list[InvoiceLine] = []
    disputes = list(
        session.scalars(
            select(Dispute).where(
                Dispute.account_id == sub.account_id,
                Dispute.status == "agreed",
                Dispute.credited_invoice_id.is_(None),
            )
        )
    )
    for d in disputes:
        lines.append(
            amount_line(
                "credit_note", f"Credit note: dispute {d.id}", -Decimal(d.agreed_amount or 0),
                rule="B9",
            )
        )  # fmt: skip
    claims = list(
        session.scalars(
            select(SlaClaim).where(
                SlaClaim.account_id == sub.account_id, SlaClaim.invoice_id.is_(None)
            )
        )
    )
    for c in claims:
        where = f" at {c.location}" if c.location else ""
        # The customer reads what the credit is for; the rule stays on the line for operators.
        what = _SLA_CREDITS.get(c.rule, "service level")
        lines.append(
            amount_line(
                "sla_credit", f"SLA credit for {c.month}{where}: {what}", -Decimal(c.amount),
                rule=c.rule,
            )
        )  # fmt: skip
    carried = session.scalar(
        select(Invoice.carried_credit)
        .where(Invoice.account_id == sub.account_id, Invoice.issued_at.is_not(None))
        .order_by(Invoice.sequence.desc())
        .limit(1)
    )
    if carried:
        lines.append(amount_line("credit_carried", "Credit carried forward", -Decimal(carried)))
    return lines, [d.id for d in disputes], [c.id for c in claims]


def _compose(
    session: Session, sub: Subscription, arrears_until: datetime, *, final: bool = False
) -> Draft:
    start, end = next_period(sub)
    if final:  # B12: the subscription has ended: only what is left to bill, in arrears
        assert sub.ends_at is not None
        start = end = sub.ends_at
    lines = [] if final else _advance(session, sub, start, end)
    changed, change_ids = _arrears_changes(session, sub, arrears_until)
    usage, rated_ids = _usage(session, sub, arrears_until)
    credit_lines, dispute_ids, claim_ids = _credits(session, sub)
    totals = settle(
        [*lines, *changed, *usage, *credit_lines], sub.currency, tax_rate_for(sub.country)
    )
    return Draft(
        sub, start, end, totals, tuple(rated_ids), tuple(change_ids), tuple(dispute_ids),
        tuple(claim_ids),
    )  # fmt: skip


def draft(session: Session, account_id: str) -> Draft:
    """The next invoice of the account as it stands now (B7), with the usage rated so
    far (it will be billed in arrears there): nothing is marked."""
    sub = get_subscription(session, account_id)
    return _compose(session, sub, next_period(sub)[1])


def _revenue_account(ln: InvoiceLine) -> str:
    if ln.kind in ("usage", "penalty"):
        return books.REVENUE_USAGE
    if ln.kind in ("fee", "interest", "termination_fee", "deletion_fee"):
        return books.REVENUE_FEES
    if ln.is_credit:
        return books.SLA_CREDITS
    return books.REVENUE_SUBSCRIPTIONS


def issue(
    session: Session, account_id: str, *, now: datetime, final: bool = False,
    issuer: Issuer | None = None,
) -> Invoice:  # fmt: skip
    """Issue the next invoice (B7): the draft, with usage up to the start of the period
    it bills (arrears), numbered next in the sequence, posted to the ledger. ``final``:
    the subscription has ended (B12): the usage and fees left, nothing in advance. The
    invoice keeps the customer's billing profile, the payment terms and ``issuer`` (the
    seller) as printed at issue, so its document never changes afterwards."""
    sub = get_subscription(session, account_id)
    until = _final_cutoff(sub) if final else next_period(sub)[0]
    composed = _compose(session, sub, until, final=final)
    totals = composed.totals
    sequence = (session.scalar(select(func.max(Invoice.sequence))) or 0) + 1
    invoice = Invoice(
        id=new_id("IN"),
        account_id=account_id,
        kind="invoice",
        sequence=sequence,
        number=f"{INVOICE_PREFIX}{sequence:06d}",
        status="issued",
        currency=sub.currency,
        country=sub.country,
        tax_rate=totals.tax_rate,
        period_start=composed.period_start,
        period_end=composed.period_end,
        created_at=now,
        issued_at=now,
        due_at=now + PAYMENT_TERMS,
        subtotal=totals.subtotal,
        tax=totals.tax,
        total=totals.total,
        carried_credit=totals.carried_credit,
    )
    invoice.lines = _line_rows(totals)
    invoice.parties = json.dumps(_parties(session, invoice, issuer), sort_keys=True)
    session.add(invoice)
    session.flush()
    _mark(session, invoice.id, composed)
    if not final:
        sub.invoiced_until = composed.period_end
    _post(session, invoice, totals, now)
    return invoice


def _line_rows(totals: InvoiceTotals) -> list[InvoiceLineRow]:
    """The stored form of an invoice's lines, in order."""
    return [
        InvoiceLineRow(
            position=i, kind=ln.kind, description=ln.description, quantity=ln.quantity,
            unit_price=ln.unit_price, amount=ln.amount, rule=ln.rule, taxable=ln.taxable,
            period_start=ln.period_start, period_end=ln.period_end,
        )
        for i, ln in enumerate(totals.lines)
    ]  # fmt: skip


def _mark(session: Session, invoice_id: str, billed: Draft) -> None:
    """Mark what an issued invoice billed, so no later invoice bills it again."""
    for model, ids, column in (
        (RatedLine, billed.rated_ids, "invoice_id"),
        (SubscriptionChange, billed.change_ids, "invoice_id"),
        (Dispute, billed.dispute_ids, "credited_invoice_id"),
        (SlaClaim, billed.claim_ids, "invoice_id"),
    ):
        if ids:
            session.execute(update(model).where(model.id.in_(ids)).values({column: invoice_id}))


def _post(session: Session, invoice: Invoice, totals: InvoiceTotals, now: datetime) -> None:
    """Dr receivable the total; Cr each line's revenue account, Cr tax (debit for
    credit lines): balanced by construction."""
    postings: dict[str, Decimal] = defaultdict(Decimal)
    for ln in totals.lines:
        postings[_revenue_account(ln)] -= ln.amount
    postings[books.TAX_PAYABLE] -= totals.tax
    postings[books.receivable(invoice.account_id)] += totals.total
    kept = tuple(books.Posting(a, v, invoice.currency) for a, v in postings.items() if v)
    if kept:  # an invoice of zero moves no money
        ledger.post(
            session,
            books.Transaction(f"invoice:{invoice.id}", now, f"invoice {invoice.number}", kept),
        )


def issue_due(session: Session, *, now: datetime, issuer: Issuer | None = None) -> list[Invoice]:
    """Issue every invoice whose period has started (the billing job), oldest first;
    for a subscription that has ended (B12), a final invoice of what is left to bill,
    once, and its unused credits lapse (B4: valid for the subscription's duration)."""
    issued: list[Invoice] = []
    for sub in session.scalars(select(Subscription).order_by(Subscription.started_at)):
        while next_period(sub)[0] <= now and (
            sub.ends_at is None or next_period(sub)[0] < sub.ends_at
        ):
            issued.append(issue(session, sub.account_id, now=now, issuer=issuer))
        if sub.ends_at is not None and sub.ends_at <= now:
            last = _compose(session, sub, _final_cutoff(sub), final=True)
            if any(not ln.is_credit for ln in last.totals.lines):  # credits alone wait
                issued.append(issue(session, sub.account_id, now=now, final=True, issuer=issuer))
            _lapse_credits(session, sub, now)
    return issued


def _final_cutoff(sub: Subscription) -> datetime:
    """What a final invoice bills: everything up to and including the end (a fee
    charged at the moment of termination is on it)."""
    assert sub.ends_at is not None
    return sub.ends_at + timedelta(microseconds=1)


def _lapse_credits(session: Session, sub: Subscription, now: datetime) -> None:
    """B1/B4: credits left when the subscription ends are neither refunded nor moved."""
    left = -ledger.balance(session, books.credits(sub.account_id), sub.currency)
    if left > 0:
        ledger.post(
            session,
            books.transfer(
                f"credits-lapsed:{sub.id}", now, "credits lapsed at the end of the subscription",
                books.credits(sub.account_id), books.REVENUE_CREDITS, left, sub.currency,
            ),
        )  # fmt: skip


def get_invoice(session: Session, account_id: str, invoice_id: str) -> Invoice:
    """One of the account's invoices; NotFound otherwise."""
    row = session.get(Invoice, invoice_id)
    if row is None or row.account_id != account_id:
        raise NotFound("invoice.not_found", f"The account has no invoice {invoice_id}.")
    return row


def find_invoice(session: Session, account_id: str, reference: str) -> Invoice:
    """One of the account's invoices by its number as printed (``INV-000001``, any case)
    or its id; NotFound otherwise."""
    number = reference.strip().upper()
    row = session.scalar(
        select(Invoice).where(Invoice.account_id == account_id, Invoice.number == number)
    )
    return row if row is not None else get_invoice(session, account_id, reference.strip())


def list_invoices(session: Session, account_id: str) -> list[Invoice]:
    """The account's invoices in sequence."""
    return list(
        session.scalars(
            select(Invoice).where(Invoice.account_id == account_id).order_by(Invoice.sequence)
        )
    )


def as_row(composed: Draft) -> Invoice:
    """A draft as an unsaved invoice (no number), to show it like an issued one."""
    totals = composed.totals
    sub = composed.subscription
    row = Invoice(
        id=None, account_id=sub.account_id, kind="invoice", status="draft",
        currency=sub.currency, country=sub.country, tax_rate=totals.tax_rate,
        period_start=composed.period_start, period_end=composed.period_end,
        subtotal=totals.subtotal, tax=totals.tax, total=totals.total,
        carried_credit=totals.carried_credit,
    )  # fmt: skip
    row.lines = _line_rows(totals)
    return row


SELLER = Party("dialtone")
NOTES = (
    "An invoice may be disputed within 30 days of its issue date, naming it; it stays "
    "payable meanwhile.",
)


def _customer(session: Session, row: Invoice) -> Party:
    """The customer as its billing profile names it (else as the subscription or the
    account does)."""
    profile = session.get(BillingProfile, row.account_id)
    sub = subscriptions.find_subscription(session, row.account_id)
    account_name = session.scalar(select(Account.name).where(Account.id == row.account_id))
    name = (profile.legal_name if profile else "") or (sub.billing_name if sub else "")
    address = (profile.address if profile else "") or (sub.billing_address if sub else "")
    vat = (profile.vat_number if profile else "") or (sub.vat_number if sub else "")
    return Party(
        name or account_name or row.account_id,
        address,
        # The address names the country; without one, the tax country at least.
        "" if address else row.country,
        _printed_vat(vat),
    )


def _printed_vat(vat: str) -> str:
    """A VAT number as printed: normalised, or as it was entered when it does not parse
    (one kept on an older subscription never stops an invoice from rendering)."""
    try:
        return billing_profiles.normalise_vat(vat)
    except DialtoneError:
        return vat.strip()


def _payment_terms(session: Session, row: Invoice, issuer: Issuer | None) -> Payment:
    """How the invoice is paid (the subscription's method) and the late-payment terms of
    B8 (Code de commerce L441-10): the ECB rate of the due date's half-year plus 10
    points, the fixed recovery fee in the invoice's currency."""
    # Imported here: collections brings the payment providers, which only this needs.
    from dialtone.rating import dunning  # noqa: PLC0415
    from dialtone.services.billing import collections  # noqa: PLC0415

    sub = subscriptions.find_subscription(session, row.account_id)
    method = sub.payment_method if sub else "invoice"
    ecb = collections.ecb_rate_on((row.due_at or row.period_start).date())
    try:
        recovery: Decimal | None = dunning.recovery_fee(row.currency)
    except ValueError:
        recovery = None
    rejected = dunning.REJECTED_DEBIT_FEE.get(row.currency)
    return Payment(
        method="transfer" if method == "invoice" else method,
        debtor_iban=(sub.iban or "") if sub and method == "sepa_debit" else "",
        mandate_id=(sub.mandate_id or "") if sub and method == "sepa_debit" else "",
        creditor_id=issuer.creditor_id if issuer else "",
        seller_iban=issuer.iban if issuer else "",
        seller_bic=issuer.bic if issuer else "",
        interest_rate=None if ecb is None else ecb + dunning.INTEREST_MARGIN,
        ecb_rate=ecb,
        recovery_fee=recovery,
        rejected_debit_fee=rejected,
    )


def _parties(session: Session, row: Invoice, issuer: Issuer | None) -> dict[str, object]:
    """What an issued invoice keeps of who and how, as JSON-ready values."""
    payment = asdict(_payment_terms(session, row, issuer))
    # Only the masked IBAN is printed; the invoice does not keep a copy of the whole.
    payment["debtor_iban"] = _mask(str(payment["debtor_iban"]))
    kept: dict[str, object] = {
        "customer": asdict(_customer(session, row)),
        "payment": {k: (str(v) if isinstance(v, Decimal) else v) for k, v in payment.items()},
    }
    if issuer is not None:
        kept["seller"] = asdict(issuer.party)
    return kept


def _mask(iban: str) -> str:
    compact = iban.replace(" ", "")
    return compact[:4] + "*" * (len(compact) - 8) + compact[-4:] if len(compact) > 8 else compact


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _tax_base(row: Invoice) -> Decimal:
    """The base the tax was computed on, as ``rating.invoice.settle`` did: taxable
    charges less the credits, which lower the taxable base first."""
    lines = list(row.lines)
    credits = -sum((Decimal(ln.amount) for ln in lines if Decimal(ln.amount) < 0), Decimal(0))
    taxable = sum(
        (Decimal(ln.amount) for ln in lines if Decimal(ln.amount) > 0 and ln.taxable),
        Decimal(0),
    )
    return taxable - min(credits, taxable)


def document(session: Session, row: Invoice, issuer: Issuer | None = None) -> InvoiceDocument:
    """The printable document of an invoice (HTML, PDF): the parties and payment terms
    kept at issue (for older invoices, the current ones; the seller is ``issuer``)."""
    kept = json.loads(row.parties) if row.parties else {}
    if "seller" in kept:
        seller = Party(**kept["seller"])
    else:
        seller = issuer.party if issuer is not None else SELLER
    customer = Party(**kept["customer"]) if "customer" in kept else _customer(session, row)
    if "payment" in kept:
        raw = kept["payment"]
        money = ("interest_rate", "ecb_rate", "recovery_fee", "rejected_debit_fee")
        values: dict[str, Any] = {k: (_decimal(v) if k in money else v) for k, v in raw.items()}
        payment = Payment(**values)
    else:
        payment = _payment_terms(session, row, issuer)
    return InvoiceDocument(
        number=row.number,
        kind="credit_note" if row.kind == "credit_note" else "invoice",
        issued_at=row.issued_at,
        due_at=row.due_at,
        period_start=row.period_start,
        period_end=row.period_end,
        seller=seller,
        customer=customer,
        currency=row.currency,
        lines=tuple(
            DocumentLine(
                ln.description,
                Decimal(ln.quantity),
                Decimal(ln.unit_price),
                Decimal(ln.amount),
                ln.kind,
                ln.rule,
                (ln.period_start, ln.period_end)
                if ln.period_start is not None and ln.period_end is not None
                else None,
                ln.taxable,
            )
            for ln in row.lines
        ),
        subtotal=Decimal(row.subtotal),
        tax_rate=Decimal(row.tax_rate),
        tax=Decimal(row.tax),
        total=Decimal(row.total),
        carried_credit=Decimal(row.carried_credit or 0),
        notes=(
            "Prices are excluding VAT; VAT is charged at the rate of the customer's country "
            f"({row.country}).",
            *NOTES,
        ),
        tax_base=_tax_base(row),
        payment=payment,
    )
