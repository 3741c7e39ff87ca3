"""SEPA debits of the invoices due, from the store (TERMS B7; B10 retries, B8 fees)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

from sqlalchemy.orm import Session

from dialtone.services import accounts, collections, invoicing, subscriptions
from dialtone.services.sepa import Creditor
from dialtone.services.sepa_exports import due_debits

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
