"""SEPA debits of the invoices due, from the store (TERMS B7; B10 retries, B8 fees)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.rating import dunning
from dialtone.services.accounts import accounts
from dialtone.services.billing import collections, invoicing, subscriptions
from dialtone.services.billing.sepa import Creditor
from dialtone.services.billing.sepa_exports import due_debits
from dialtone.store.models import Invoice

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
CREDITOR = Creditor("Dialtone SAS", "DE89370400440532013000", "COBADEFFXXX", "DE98ZZZ09999999999")


def _sepa_customer(session: Session, *, mandate: bool = True) -> str:
    acct = accounts.create_account(session, "Jean", now=T0).account.id
    sub = subscriptions.subscribe(
        session, acct, plan_code="essential", currency="EUR", country="FR", now=T0,
        payment_method="sepa_debit",
    )  # fmt: skip
    if mandate:
        sub.iban, sub.bic, sub.mandate_id = "FR1420041010050500013M02606", "PSSTFRPPPAR", "MD-1"
        sub.mandate_signed_on = datetime(2026, 1, 5, tzinfo=UTC)
    invoicing.issue(session, acct, now=T0)
    return acct


def _amounts(xml: bytes) -> list[str]:
    root = ElementTree.fromstring(xml)
    return [e.text or "" for e in root.iter() if e.tag.endswith("InstdAmt")]


def test_an_invoice_is_collected_on_its_due_date_3_days_after_issue(session: Session) -> None:
    _sepa_customer(session)
    assert due_debits(session, CREDITOR, date(2026, 3, 4), now=T0).xml is None
    batch = due_debits(session, CREDITOR, date(2026, 3, 5), now=T0)
    assert batch.xml is not None
    assert _amounts(batch.xml) == ["22.80"]  # 19.00 + VAT 20 %
    assert b"FRST" in batch.xml  # the mandate's first debit


def test_a_retry_collects_the_fee_72_hours_later(session: Session) -> None:
    acct = _sepa_customer(session)
    [invoice] = invoicing.list_invoices(session, acct)
    assert invoice.due_at is not None
    collections.record_result(session, invoice.id, "rejected", at=invoice.due_at,
                              method="sepa_debit")  # fmt: skip
    retry_day = (invoice.due_at + timedelta(hours=72)).date()
    batch = due_debits(session, CREDITOR, retry_day, now=T0)
    assert batch.xml is not None
    assert _amounts(batch.xml) == ["32.80"]  # + the 10.00 rejected-debit fee (B8)
    assert b"RCUR" in batch.xml


def test_no_mandate_is_reported_not_collected(session: Session) -> None:
    _sepa_customer(session, mandate=False)
    batch = due_debits(session, CREDITOR, date(2026, 3, 5), now=T0)
    assert batch.xml is None
    assert list(batch.skipped.values()) == ["billing.no_mandate"]
    assert batch.invoices == []


def _day(moment: datetime) -> date:
    return moment.date()


@pytest.mark.parametrize(
    ("elapsed", "in_file"),
    [
        (timedelta(hours=72) - timedelta(seconds=1), False),  # 71:59:59: the day before
        (timedelta(hours=72), True),  # 72:00:00
        (timedelta(hours=72, seconds=1), True),  # 72:00:01
    ],
)
def test_a_retry_counts_from_the_debit_not_from_its_return_5_days_later(
    session: Session, elapsed: timedelta, in_file: bool
) -> None:
    acct = _sepa_customer(session)
    [invoice] = invoicing.list_invoices(session, acct)
    first_day = date(2026, 3, 5)  # the due date
    assert due_debits(session, CREDITOR, first_day, now=T0).xml is not None
    presented = datetime.combine(first_day, datetime.min.time(), UTC)
    # The bank's return arrives 5 days after the debit was presented.
    returned = presented + timedelta(days=5, hours=9)
    attempt = collections.record_result(
        session, invoice.id, "rejected", at=returned, method="sepa_debit"
    )
    assert (attempt.at, attempt.result_at) == (presented, returned)
    step = collections.next_step(session, invoice)
    assert step == dunning.Retry(at=presented + timedelta(hours=72), attempt_number=1)
    assert (
        dunning.due_retry(
            [dunning.Attempt(attempt.at, "rejected", attempt.result_at)], presented + elapsed
        )
        is in_file
    )
    # The retry's day is 72 h after the debit; the file of that day carries it (and,
    # since the return came later, the first file after the return does).
    batch = due_debits(session, CREDITOR, _day(presented + elapsed), now=T0)
    assert (batch.xml is not None) is in_file
    if not in_file:
        batch = due_debits(session, CREDITOR, _day(returned), now=returned)
        assert batch.xml is not None
    assert _amounts(batch.xml) == ["32.80"]  # with the rejected-debit fee (B8)
    retry_one = collections.pending_attempt(session, invoice.id, "sepa_debit")
    assert retry_one is not None
    assert retry_one.outcome == "pending"
    # Retry 2: 72 h after retry 1 was presented, though its return also took 5 days.
    second_return = retry_one.at + timedelta(days=5)
    collections.record_result(session, invoice.id, "rejected", at=second_return,
                              method="sepa_debit")  # fmt: skip
    assert collections.next_step(session, invoice) == dunning.Retry(
        at=retry_one.at + timedelta(hours=72), attempt_number=2
    )
    assert due_debits(session, CREDITOR, _day(second_return), now=second_return).xml is not None


def test_a_debit_presented_awaits_its_result_and_the_same_days_file_is_made_again(
    session: Session,
) -> None:
    acct = _sepa_customer(session)
    [invoice] = invoicing.list_invoices(session, acct)
    first = due_debits(session, CREDITOR, date(2026, 3, 5), now=T0)
    again = due_debits(session, CREDITOR, date(2026, 3, 5), now=T0)
    assert first.xml == again.xml
    assert first.invoices == again.invoices == [invoice.id]
    assert b"FRST" in (again.xml or b"")
    # Nothing more goes out until the bank answers.
    assert due_debits(session, CREDITOR, date(2026, 3, 12), now=T0).xml is None
    assert isinstance(collections.next_step(session, invoice), dunning.Awaiting)
    with pytest.raises(DialtoneError, match="cannot arrive before"):
        collections.record_result(
            session, invoice.id, "rejected", at=datetime(2026, 3, 4, tzinfo=UTC),
            method="sepa_debit",
        )  # fmt: skip
    paid = collections.record_result(
        session, invoice.id, "paid", at=datetime(2026, 3, 9, tzinfo=UTC), method="sepa_debit"
    )
    assert paid.at == datetime(2026, 3, 5, tzinfo=UTC)  # paid on the collection date
    assert session.get(Invoice, invoice.id).paid_at == paid.at  # type: ignore[union-attr]
