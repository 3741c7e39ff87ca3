"""Collection and dunning over a simulated clock (TERMS B7, B8, B10; N6 on suspension)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from dialtone.outside.payments import FakeCardProvider
from dialtone.policy.checklist import CallIntent, call_checks, verdict
from dialtone.policy.destinations import DestinationSettings
from dialtone.rating import ledger as books
from dialtone.services.accounts import accounts, audit
from dialtone.services.billing import collections, invoicing, ledger, subscriptions
from dialtone.services.numbering import numbers
from dialtone.store.models import Account, Invoice, PhoneNumber, SubscriptionChange

T0 = datetime(2026, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _customer(session: Session, method: str = "card") -> tuple[str, Invoice]:
    acct = accounts.create_account(session, "Dunned", now=T0).account.id
    sub = subscriptions.subscribe(
        session, acct, plan_code="essential", currency="EUR", country="FR", now=T0,
        payment_method=method,
    )  # fmt: skip
    sub.customer_ref = "cus_1"
    numbers.add_number(session, acct, "+33199000042", now=T0)
    return acct, invoicing.issue(session, acct, now=T0)


def test_three_rejections_72_hours_apart_then_suspension(session: Session) -> None:
    acct, invoice = _customer(session)
    card = FakeCardProvider().will_reject("cus_1", times=3)
    due = invoice.due_at
    assert due == T0 + timedelta(days=3)  # B7: the debit is notified 3 days ahead
    # Before the due date nothing is attempted.
    assert collections.collect_due(session, now=due - H, card=card).attempted == []
    first = collections.collect_due(session, now=due, card=card)
    assert first.rejected == [invoice.id]
    # B10: the retry is due 72 h later, not a second before.
    assert (
        collections.collect_due(
            session, now=due + 72 * H - timedelta(seconds=1), card=card
        ).attempted
        == []
    )
    assert collections.collect_due(session, now=due + 72 * H, card=card).rejected == [invoice.id]
    assert collections.collect_due(session, now=due + 143 * H, card=card).attempted == []
    third = collections.collect_due(session, now=due + 144 * H, card=card)
    assert third.suspended == [acct]
    account = session.get(Account, acct)
    assert account is not None
    assert account.billing_suspended_at == due + 144 * H
    number = session.query(PhoneNumber).filter_by(account_id=acct).one()
    assert number.deactivated_at == due + 144 * H  # N6's revocation delay starts
    # Nothing more is attempted; the invoice stays due (no refund or credit).
    assert collections.collect_due(session, now=due + 300 * H, card=card).attempted == []
    assert session.get(Invoice, invoice.id).status == "issued"  # type: ignore[union-attr]
    assert len(card.charges) == 3
    # Calls are refused with the B10 code.
    intent = CallIntent(
        dialed="+33612345678", e164="+33612345678", is_extension=False, country="FR",
        destinations=DestinationSettings(), active_calls=0, channels=1,
        caller_id="+33199000042", held_numbers={"+33199000042"},
        billing_suspended_at=account.billing_suspended_at,
    )  # fmt: skip
    refusal = verdict(call_checks(intent))
    assert (refusal.code, refusal.rule) == ("billing.suspended", "B10")
    enforced = [e for e in audit.list_events(session, acct)[0] if e.outcome == "enforced"]
    assert [(e.code, e.action) for e in enforced] == [("billing.suspended", "billing.suspend")]


def test_paying_after_suspension_reinstates_with_late_fees(session: Session) -> None:
    acct, invoice = _customer(session)
    card = FakeCardProvider().will_reject("cus_1", times=3)
    due = invoice.due_at
    assert due is not None
    for hours in (0, 72, 144):
        collections.collect_due(session, now=due + hours * H, card=card)
    paid_at = due + timedelta(days=31)
    collections.record_result(session, invoice.id, "paid", at=paid_at, method="transfer")
    account = session.get(Account, acct)
    assert account is not None
    assert account.billing_suspended_at is None
    assert session.query(PhoneNumber).filter_by(account_id=acct).one().deactivated_at is None
    fees = session.query(SubscriptionChange).filter_by(kind="fee", invoice_id=None).all()
    # B8: 26.40 × (2.15 + 10) % × 31 / 365 = 0.2724… → 0.27, and the 40 recovery fee;
    # both untaxed, on the next invoice.
    assert sorted((f.amount, f.taxable) for f in fees) == [
        (Decimal("0.27"), False), (Decimal("40.00"), False),
    ]  # fmt: skip
    assert ledger.balance(session, books.receivable(acct), "EUR") == Decimal("0")
    nxt = invoicing.draft(session, acct)
    assert [ln.amount for ln in nxt.totals.lines if ln.kind == "fee"] == [
        Decimal("0.27"), Decimal("40.00"),
    ]  # fmt: skip


@pytest.mark.parametrize(("caused", "fee"), [(True, Decimal("10.00")), (False, Decimal("0"))])
def test_a_rejected_debit_the_customer_caused_adds_10_to_the_next_attempt(
    session: Session, caused: bool, fee: Decimal
) -> None:
    _, invoice = _customer(session, "sepa_debit")
    due = invoice.due_at
    assert due is not None
    first = collections.record_result(
        session, invoice.id, "rejected", at=due, method="sepa_debit", customer_caused=caused
    )
    # the invoice: 19.00 access + 3.00 number = 22.00, VAT 20 % → 26.40
    assert first.amount == Decimal("26.40")
    second = collections.record_result(
        session, invoice.id, "paid", at=due + 72 * H, method="sepa_debit"
    )
    assert second.amount == Decimal("26.40") + fee


def test_a_card_decline_adds_no_fee_and_a_paid_invoice_is_settled(session: Session) -> None:
    _, invoice = _customer(session)
    card = FakeCardProvider().will_reject("cus_1").will_pay("cus_1")
    due = invoice.due_at
    assert due is not None
    collections.collect_due(session, now=due, card=card)
    report = collections.collect_due(session, now=due + 72 * H, card=card)
    assert report.paid == [invoice.id]
    assert card.charges[-1].amount == Decimal("26.40")  # no fee after a card decline
    assert collections.collect_due(session, now=due + 200 * H, card=card).attempted == []
    assert ledger.trial_balance(session) == {"EUR": Decimal("0.0000")}
