"""SEPA direct debits of the invoices due (TERMS B7), as a pain.008 file for the bank.

An invoice of an account paying by SEPA debit is collected on its due date, which is at
least 3 days after its issue: the invoice is the pre-notification (B7), and an invoice
whose due date is closer than that to its issue is left out with the reason. Each debit
in a file is recorded as an attempt made on its collection date, pending until the bank's
result comes back days later and is recorded with ``dialtone billing payment`` (a return
then follows B8 and B10 like a card decline; the next retry counts from the collection
date, so a return that arrives late makes the retry due in the next file). Exporting the
same day again gives the same debits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.rating import dunning
from dialtone.services.billing import collections
from dialtone.services.billing.sepa import Creditor, Debit, Mandate, pain008
from dialtone.store.models import Invoice, PaymentAttempt, Subscription


@dataclass(slots=True)
class SepaBatch:
    """A pain.008 file (None when nothing is due) and the invoices left out, and why."""

    xml: bytes | None
    invoices: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def due_debits(
    session: Session,
    creditor: Creditor,
    day: date,
    *,
    now: datetime,
    settings: collections.DunningSettings | None = None,
) -> SepaBatch:
    """The debits to collect on ``day``: unpaid SEPA invoices due by that day, and retries
    dunning has due by that day (B10), each for the amount due with fees (B8). Each is
    recorded as an attempt made on ``day`` awaiting its result; one already presented for
    ``day`` is carried again (the file can be made twice), one presented for another day
    waits for its result."""
    batch = SepaBatch(None)
    debits: list[Debit] = []
    # A debit is taken on its collection date: that is when the attempt is made.
    collected_at = datetime.combine(day, time(0), UTC)
    rows = session.execute(
        select(Invoice, Subscription)
        .join(Subscription, Subscription.account_id == Invoice.account_id)
        .where(
            Invoice.status == "issued",
            Invoice.total > 0,
            Subscription.payment_method == "sepa_debit",
        )
        .order_by(Invoice.sequence)
    ).all()
    for invoice, sub in rows:
        step = collections.next_step(session, invoice, settings or collections.DunningSettings())
        presented = None
        when: datetime | None
        if isinstance(step, dunning.Awaiting):
            presented = collections.pending_attempt(session, invoice.id, "sepa_debit")
            if presented is None or presented.at != collected_at:
                continue
            when = presented.at
        elif isinstance(step, dunning.Nothing):
            when = invoice.due_at
        elif isinstance(step, dunning.Retry):
            when = step.at
        else:
            continue
        if when is None or when.date() > day:
            continue
        assert invoice.issued_at is not None
        notice = dunning.debit_allowed(
            invoice.issued_at, datetime.combine(day, time(23, 59), when.tzinfo)
        )
        if not notice.allowed:
            batch.skipped[invoice.id] = notice.code
            continue
        if not (sub.iban and sub.bic and sub.mandate_id and sub.mandate_signed_on):
            batch.skipped[invoice.id] = "billing.no_mandate"
            continue
        earlier = session.scalar(
            select(PaymentAttempt.id)
            .join(Invoice, Invoice.id == PaymentAttempt.invoice_id)
            .where(
                Invoice.account_id == sub.account_id,
                PaymentAttempt.method == "sepa_debit",
                PaymentAttempt.at < collected_at,
            )
            .limit(1)
        )
        if presented is None:
            presented = collections.present(session, invoice, at=collected_at, method="sepa_debit")
        debits.append(
            Debit(
                end_to_end_id=f"{invoice.number}-{len(batch.invoices) + 1}",
                mandate=Mandate(
                    sub.billing_name or sub.account_id, sub.iban, sub.bic, sub.mandate_id,
                    sub.mandate_signed_on.date(),
                ),
                amount=presented.amount,
                description=f"Invoice {invoice.number}",
                collection_date=day,
                sequence="RCUR" if earlier else "FRST",
                currency=invoice.currency,
            )
        )  # fmt: skip
        batch.invoices.append(invoice.id)
    if debits:
        batch.xml = pain008(
            creditor, debits, message_id=f"DT-{day:%Y%m%d}-{len(debits)}", created_at=now
        )
    return batch
