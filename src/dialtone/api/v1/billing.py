"""``/v1/usage``, ``/v1/billing`` and ``/v1/invoices``: reported usage, what the
customer has left, and their invoices (TERMS section B).

Usage events are Lago-style: each carries the client's ``transaction_id``; a batch is
committed before the answer (durable before 2xx) and an id seen before is ignored, so a
client may retry a batch safely.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep, permit
from dialtone.api.fields import Moment
from dialtone.core.errors import DialtoneError
from dialtone.services.billing import (
    billing_profiles,
    collections,
    contract_changes,
    invoicing,
    rating,
    subscriptions,
    usage,
)
from dialtone.services.billing import invoice_html as html_renderer
from dialtone.services.billing import overview as billing_overview
from dialtone.store.models import CreditPurchase, Dispute, Invoice

router = APIRouter(tags=["billing"])

# How far a usage event may precede its account (an operator may open the account after
# the customer's first month began) and run ahead of our clock (the reporter's may be a
# little fast). Beyond either, the timestamp is a mistake, not usage to bill.
EARLY_USAGE = timedelta(days=31)
CLOCK_SKEW = timedelta(days=1)


class UsageEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction_id: str = Field(min_length=1, max_length=120, description="Unique per account.")
    code: Literal["call", "forward", "sms"]
    timestamp: Moment = Field(
        description="When the usage happened, with its UTC offset; not more than "
        f"{EARLY_USAGE.days} days before the account was created, nor ahead of the clock."
    )
    destination: str = Field(pattern=r"^\+[1-9]\d{1,14}$", description="E.164.")
    caller: str | None = Field(default=None, pattern=r"^\+[1-9]\d{1,14}$")
    duration: Decimal = Field(default=Decimal(0), ge=0, le=86400, description="Seconds.")
    segments: int = Field(default=0, ge=0, le=255)


class UsageBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[UsageEventIn] = Field(min_length=1, max_length=usage.MAX_BATCH)


class UsageBatchOut(BaseModel):
    accepted: int = Field(description="Events stored by this request.")
    duplicates: int = Field(description="Events whose transaction_id was already stored.")


@router.post("/v1/usage", dependencies=[permit("usage.write")])
def post_usage(body: UsageBatchIn, account: AccountDep, session: SessionDep) -> UsageBatchOut:
    """Store a batch of usage events for rating; committed before the answer. A
    timestamp far before the account existed or ahead of the clock is refused (400
    ``request.invalid`` naming the event)."""
    now = datetime.now(UTC)
    for n, e in enumerate(body.events):
        if e.timestamp < account.created_at - EARLY_USAGE:
            raise DialtoneError(
                "request.invalid",
                f"events.{n}.timestamp: {e.timestamp.isoformat()} is more than "
                f"{EARLY_USAGE.days} days before the account was created "
                f"({account.created_at.isoformat()}).",
            )
        if e.timestamp > now + CLOCK_SKEW:
            raise DialtoneError(
                "request.invalid",
                f"events.{n}.timestamp: {e.timestamp.isoformat()} is in the future.",
            )
    events = [
        usage.Event(
            e.transaction_id, e.code, e.timestamp, e.destination, e.caller, e.duration, e.segments
        )
        for e in body.events
    ]
    accepted = usage.ingest(session, account.id, events, now=now)
    return UsageBatchOut(accepted=accepted, duplicates=len(events) - accepted)


class BillingOut(BaseModel):
    plan: str
    currency: str
    country: str
    accesses: int
    period_start: datetime
    period_end: datetime
    commitment_end: datetime | None
    included_seconds_left: dict[str, int] = Field(description="B1, this period, by zone.")
    credits: Decimal = Field(description="Prepaid credits left (B4).")


@router.get("/v1/billing", dependencies=[permit("billing.read")])
def get_billing(account: AccountDep, session: SessionDep) -> BillingOut:
    """The subscription, the included minutes left this period and the credits."""
    found = billing_overview.summary(session, account.id, now=datetime.now(UTC))
    return BillingOut(
        plan=found.plan,
        currency=found.currency,
        country=found.country,
        accesses=found.accesses,
        period_start=found.period_start,
        period_end=found.period_end,
        commitment_end=found.commitment_end,
        included_seconds_left=found.included_seconds_left,
        credits=found.credits,
    )


class InvoiceLineOut(BaseModel):
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    rule: str | None


class InvoiceOut(BaseModel):
    id: str | None
    number: str | None = Field(description="None on the draft.")
    status: str
    currency: str
    period_start: datetime
    period_end: datetime
    issued_at: datetime | None
    due_at: datetime | None
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    carried_credit: Decimal
    lines: list[InvoiceLineOut]

    @classmethod
    def of(cls, row: Invoice) -> InvoiceOut:
        return cls(
            id=row.id, number=row.number, status=row.status, currency=row.currency,
            period_start=row.period_start, period_end=row.period_end,
            issued_at=row.issued_at, due_at=row.due_at, subtotal=row.subtotal,
            tax_rate=row.tax_rate, tax=row.tax, total=row.total,
            carried_credit=row.carried_credit,
            lines=[
                InvoiceLineOut(
                    kind=ln.kind, description=ln.description, quantity=ln.quantity,
                    unit_price=ln.unit_price, amount=ln.amount, rule=ln.rule,
                )
                for ln in row.lines
            ],
        )  # fmt: skip


@router.get("/v1/invoices", dependencies=[permit("billing.read")])
def list_invoices(account: AccountDep, session: SessionDep) -> list[InvoiceOut]:
    """The account's issued invoices, in sequence."""
    return [InvoiceOut.of(row) for row in invoicing.list_invoices(session, account.id)]


@router.get("/v1/invoices/draft", dependencies=[permit("billing.read")])
def draft_invoice(account: AccountDep, session: SessionDep) -> InvoiceOut:
    """The next invoice as it stands: usage is rated first, so a call that just ended
    is on it (B7: usage in arrears)."""
    rating.rate_account(session, account.id, now=datetime.now(UTC))
    return InvoiceOut.of(invoicing.as_row(invoicing.draft(session, account.id)))


@router.get("/v1/invoices/{invoice_id}", dependencies=[permit("billing.read")])
def get_invoice(invoice_id: str, account: AccountDep, session: SessionDep) -> InvoiceOut:
    return InvoiceOut.of(invoicing.get_invoice(session, account.id, invoice_id))


@router.get("/v1/invoices/{invoice_id}/pdf", dependencies=[permit("billing.read")])
def invoice_pdf(
    invoice_id: str, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """The invoice as a PDF document."""
    # fpdf takes half a second to import: only a PDF pays for it.
    from dialtone.services.billing import invoice_pdf as pdf_renderer  # noqa: PLC0415

    row = invoicing.get_invoice(session, account.id, invoice_id)
    body = pdf_renderer.render(invoicing.document(session, row, settings.invoice_issuer))
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{row.number or row.id}.pdf"'},
    )


@router.get("/v1/invoices/{invoice_id}/html", dependencies=[permit("billing.read")])
def invoice_html(
    invoice_id: str, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """The invoice as an HTML page (printable)."""
    row = invoicing.get_invoice(session, account.id, invoice_id)
    return HTMLResponse(
        html_renderer.render(invoicing.document(session, row, settings.invoice_issuer))
    )


class BillingProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: str = Field(min_length=1, max_length=200, description="e.g. Acme SAS.")
    address: str = Field(
        default="", max_length=1000, description="Postal address, lines separated by newlines."
    )
    vat_number: str = Field(default="", max_length=40, description="e.g. FR40123456824.")


class BillingProfileOut(BaseModel):
    legal_name: str | None = Field(description="None until a profile is set.")
    address: str
    vat_number: str


@router.get("/v1/billing/profile", dependencies=[permit("billing.read")])
def get_billing_profile(account: AccountDep, session: SessionDep) -> BillingProfileOut:
    """Who the account's invoices are made out to."""
    profile = billing_profiles.get_profile(session, account.id)
    if profile is None:
        return BillingProfileOut(legal_name=None, address="", vat_number="")
    return BillingProfileOut(
        legal_name=profile.legal_name, address=profile.address, vat_number=profile.vat_number
    )


@router.put("/v1/billing/profile", dependencies=[permit("billing.write")])
def put_billing_profile(
    body: BillingProfileIn, account: AccountDep, session: SessionDep
) -> BillingProfileOut:
    """Set who the account's invoices are made out to (legal name, postal address, VAT
    number); invoices issued from now on carry it, issued ones keep theirs."""
    profile = billing_profiles.set_profile(
        session, account.id, legal_name=body.legal_name, address=body.address,
        vat_number=body.vat_number, now=datetime.now(UTC),
    )  # fmt: skip
    return BillingProfileOut(
        legal_name=profile.legal_name, address=profile.address, vat_number=profile.vat_number
    )


class PurchaseOut(BaseModel):
    id: str
    amount: Decimal
    currency: str
    channel: str
    purchased_at: datetime
    withdrawn_at: datetime | None


class CreditsOut(BaseModel):
    balance: Decimal = Field(description="Prepaid credits left (B4).")
    purchases: list[PurchaseOut]


def _purchase(row: CreditPurchase) -> PurchaseOut:
    return PurchaseOut(
        id=row.id, amount=row.amount, currency=row.currency, channel=row.channel,
        purchased_at=row.purchased_at, withdrawn_at=row.withdrawn_at,
    )  # fmt: skip


@router.get("/v1/billing/credits", dependencies=[permit("billing.read")])
def list_credits(account: AccountDep, session: SessionDep) -> CreditsOut:
    """Credit purchases and the balance left (B4)."""
    sub = subscriptions.get_subscription(session, account.id)
    return CreditsOut(
        balance=rating.credit_balance(session, account.id, sub.currency),
        purchases=[_purchase(r) for r in contract_changes.list_purchases(session, account.id)],
    )


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


@router.post("/v1/billing/credits/{purchase_id}/withdraw", dependencies=[permit("billing.write")])
def withdraw_credits(
    purchase_id: str, body: ReasonIn, account: AccountDep, session: SessionDep
) -> PurchaseOut:
    """B13: withdraw a purchase of credits within 24 hours, when none was used."""
    row = contract_changes.withdraw_credits(
        session, account.id, purchase_id, now=datetime.now(UTC), reason=body.reason
    )
    return _purchase(row)


class DisputeOut(BaseModel):
    id: str
    invoice_id: str
    opened_at: datetime
    reason: str
    status: str
    agreed_amount: Decimal | None
    credited_invoice_id: str | None


def _dispute(row: Dispute) -> DisputeOut:
    return DisputeOut(
        id=row.id, invoice_id=row.invoice_id, opened_at=row.opened_at, reason=row.reason,
        status=row.status, agreed_amount=row.agreed_amount,
        credited_invoice_id=row.credited_invoice_id,
    )  # fmt: skip


@router.post(
    "/v1/invoices/{invoice_id}/disputes",
    dependencies=[permit("billing.write")],
    status_code=status.HTTP_201_CREATED,
)
def open_dispute(
    invoice_id: str, body: ReasonIn, account: AccountDep, session: SessionDep
) -> DisputeOut:
    """B9: dispute an invoice within 30 days of its issue; it stays payable meanwhile."""
    row = contract_changes.open_dispute(
        session, account.id, invoice_id, reason=body.reason, now=datetime.now(UTC)
    )
    return _dispute(row)


@router.get("/v1/billing/disputes", dependencies=[permit("billing.read")])
def list_disputes(account: AccountDep, session: SessionDep) -> list[DisputeOut]:
    return [_dispute(r) for r in contract_changes.list_disputes(session, account.id)]


class TerminationOut(BaseModel):
    ends_at: datetime = Field(description="When the subscription ends (B12).")


@router.post("/v1/billing/termination", dependencies=[permit("billing.write")])
def terminate(account: AccountDep, session: SessionDep) -> TerminationOut:
    """B12: give notice; the subscription ends at the anniversary the notice reaches
    (the commitment's end for committed plans)."""
    ends = contract_changes.request_termination(session, account.id, now=datetime.now(UTC))
    return TerminationOut(ends_at=ends)


class PaymentOut(BaseModel):
    id: str
    invoice_id: str
    invoice_number: str | None
    method: str
    amount: Decimal
    currency: str
    at: datetime = Field(description="When the attempt was made (a debit's collection date)")
    outcome: str = Field(description="paid, rejected or pending (a debit awaiting its result)")
    result_at: datetime | None = Field(
        default=None, description="When the result arrived (a SEPA return comes days later)"
    )
    reason: str


@router.get("/v1/billing/payments", dependencies=[permit("billing.read")])
def list_payments(account: AccountDep, session: SessionDep) -> list[PaymentOut]:
    """Every attempt to collect the account's invoices, newest first (B7, B10)."""
    return [
        PaymentOut(
            id=a.id, invoice_id=a.invoice_id, invoice_number=number, method=a.method,
            amount=a.amount, currency=a.currency, at=a.at, outcome=a.outcome,
            result_at=a.result_at, reason=a.reason,
        )
        for a, number in collections.list_payments(session, account.id)
    ]  # fmt: skip
