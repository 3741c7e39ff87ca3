"""An issued invoice as a French/EU B2B customer receives it (issue 13, item 20): both
parties' identities, number, dates, the period (the same in the header and on the lines),
VAT per rate, totals, payment terms and method, late-payment terms (Code de commerce
L441-9, L441-10), no rule IDs, plurals right. The PDF is read back with pdftotext."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dialtone.services.accounts import accounts
from dialtone.services.billing import billing_profiles, collections, invoicing, subscriptions
from dialtone.services.billing.invoice_documents import (
    Issuer,
    Party,
    plural,
)
from dialtone.services.billing.invoice_html import render as render_html
from dialtone.services.billing.invoice_pdf import render as render_pdf
from dialtone.services.numbering import numbers
from dialtone.store.models import Invoice, SlaClaim

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
ISSUER = Issuer(
    Party(
        "Dialtone SAS",
        "12 rue de la Paix\n75002 Paris\nFrance",
        vat_number="FR40123456824",
        registration="SAS with a share capital of 10 000 EUR\nSIREN 123 456 789 RCS Paris",
    ),
    iban="FR7630006000011234567890189",
    bic="AGRIFRPPXXX",
    creditor_id="FR12ZZZ123456",
)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) must be installed on CI")
        pytest.skip("pdftotext not installed (apt install poppler-utils)")
    source = tmp_path / "invoice.pdf"
    source.write_bytes(pdf)
    # -raw: the text in reading order, one sentence unbroken by columns.
    out = subprocess.run(
        [tool, "-raw", str(source), "-"], capture_output=True, check=True, text=True, timeout=60
    ).stdout
    return " ".join(out.split())  # lines wrapped in the PDF read as one text


def _customer(session: Session, method: str = "sepa_debit", accesses: int = 3) -> str:
    acct = accounts.create_account(session, "Acme", now=T0).account.id
    billing_profiles.set_profile(
        session, acct, legal_name="Acme Industries SARL",
        address="4 avenue des Champs\n69002 Lyon\nFrance", vat_number="fr 12 345678901", now=T0,
    )  # fmt: skip
    sub = subscriptions.subscribe(
        session, acct, plan_code="essential", currency="EUR", country="FR", now=T0,
        accesses=accesses, payment_method=method,
    )  # fmt: skip
    if method == "sepa_debit":
        sub.iban, sub.bic = "FR1420041010050500013M02606", "PSSTFRPPPAR"
        sub.mandate_id, sub.mandate_signed_on = "MD-2026-0042", datetime(2026, 1, 5, tzinfo=UTC)
    numbers.add_number(session, acct, "+33199000042", now=T0)
    return acct


# The B-, V-, N-, S- rule IDs of the terms, as they used to be printed ("(B9)").
_RULE_ID = re.compile(r"\b(?:TERMS )?[BVNMFDS]\d{1,2}\b")


def test_every_mention_of_a_b2b_invoice_reads_back_from_the_pdf(
    session: Session, tmp_path: Path
) -> None:
    acct = _customer(session)
    invoice = invoicing.issue(session, acct, now=T0, issuer=ISSUER)
    text = _pdf_text(render_pdf(invoicing.document(session, invoice, ISSUER)), tmp_path)
    for mention in (
        # The seller: legal name, address, legal form, capital and registration, VAT number.
        "Dialtone SAS", "12 rue de la Paix", "75002 Paris",
        "SAS with a share capital of 10 000 EUR SIREN 123 456 789 RCS Paris",
        "VAT no. FR40123456824",
        # The customer: legal name, address, VAT number (normalised).
        "Bill to", "Acme Industries SARL", "4 avenue des Champs", "69002 Lyon",
        "VAT no. FR12345678901",
        # Number, issue date, due date, period.
        "Invoice no. INV-000001", "Issue date 2026-03-02", "Due date 2026-03-05",
        "Period 2026-03-02 – 2026-03-31",
        # Lines: plurals right, prices excluding VAT, the VAT rate of each line.
        ", 3 accesses", "Phone number", "Unit price excl. VAT", "VAT",
        # Totals and VAT per rate: 3 × 19.00 + 3.00 = 60.00; VAT 20 % = 12.00.
        "Total excl. VAT 60.00 €", "VAT 20 % on 60.00 € 12.00 €", "Total incl. VAT 72.00 €",
        # Payment terms and method.
        "Payment due on 2026-03-05. No discount for early payment.",
        "By SEPA direct debit on the due date from IBAN FR14 **** **** **** **** ***2 606, "
        "mandate reference MD-2026-0042, creditor identifier FR12ZZZ123456.",
        "IBAN FR76 3000 6000 0112 3456 7890 189, BIC AGRIFRPPXXX, quoting INV-000001",
        # Late payment (B8: ECB 2.15 % on 1 January 2026 + 10 points; the fixed 40).
        "Late payment: interest at 12.15 % a year (the ECB refinancing rate of 2.15 % plus "
        "10 points) from the day after the due date and a fixed recovery fee of 40.00 € "
        "(French Commercial Code, art. L441-10 and D441-5).",
        "adds 10.00 € to the next attempt",
    ):  # fmt: skip
        assert mention in text, (mention, text)
    # The period is the same in the header and on the lines billed in advance.
    assert text.count("2026-03-02 – 2026-03-31") == 3  # header, accesses, number
    assert "2026-04-01" not in text  # the first day not covered, printed before
    assert _RULE_ID.findall(text) == [], text
    assert "(s)" not in text


@pytest.mark.parametrize(
    ("method", "says"),
    [
        ("card", "By card, charged on the due date."),
        (
            "invoice",
            "By bank transfer to IBAN FR76 3000 6000 0112 3456 7890 189, BIC AGRIFRPPXXX, "
            "quoting INV-000001.",
        ),
    ],
)
def test_the_payment_method_is_stated(
    session: Session, tmp_path: Path, method: str, says: str
) -> None:
    acct = _customer(session, method, accesses=1)
    invoice = invoicing.issue(session, acct, now=T0, issuer=ISSUER)
    text = _pdf_text(render_pdf(invoicing.document(session, invoice, ISSUER)), tmp_path)
    assert says in text
    assert "monthly), 1 access " in text
    assert "SEPA" not in text
    assert "recovery fee of 40.00 €" in text


def test_untaxed_fees_show_their_own_vat_line(session: Session, tmp_path: Path) -> None:
    acct = _customer(session, "invoice", accesses=1)
    first = invoicing.issue(session, acct, now=T0, issuer=ISSUER)
    assert first.due_at is not None
    # Paid 20 days late: interest and the recovery fee, both outside VAT, on the next one.
    collections.record_result(session, first.id, "paid", at=first.due_at + timedelta(days=20),
                              method="transfer")  # fmt: skip
    second = invoicing.issue(session, acct, now=first.period_end, issuer=ISSUER)
    text = _pdf_text(render_pdf(invoicing.document(session, second, ISSUER)), tmp_path)
    # 19.00 + 3.00 taxed at 20 %; not subject to VAT: the interest, 26.40 × 12.15 % ×
    # 20 / 365 = 0.1757… → 0.18, and the 40.00 recovery fee.
    assert (second.subtotal, second.tax) == (Decimal("62.18"), Decimal("4.40"))
    assert "VAT 20 % on 22.00 € 4.40 €" in text
    assert "Not subject to VAT: 40.18 € 0.00 €" in text
    assert "Total incl. VAT 66.58 €" in text
    assert "none 40.00 €" in text  # the fee's VAT column


def test_an_issued_invoice_keeps_the_parties_it_was_issued_with(session: Session) -> None:
    acct = _customer(session)
    invoice = invoicing.issue(session, acct, now=T0, issuer=ISSUER)
    before = render_html(invoicing.document(session, invoice, ISSUER))
    billing_profiles.set_profile(session, acct, legal_name="Acme Renamed SA", address="Elsewhere",
                                 vat_number="", now=T0 + timedelta(days=1))  # fmt: skip
    moved = Issuer(Party("Dialtone Group SA", "1 place Nouvelle"), iban="DE89370400440532013000")
    again = render_html(invoicing.document(session, invoice, moved))
    assert again == before
    assert "Acme Industries SARL" in again
    # The next invoice carries the new profile and the operator's current identity.
    nxt = invoicing.issue(session, acct, now=invoice.period_end, issuer=moved)
    page = render_html(invoicing.document(session, nxt, moved))
    assert "Acme Renamed SA" in page
    assert "Dialtone Group SA" in page


def test_an_invoice_issued_before_the_profile_existed_prints_the_current_parties(
    session: Session,
) -> None:
    acct = _customer(session)
    invoice = invoicing.issue(session, acct, now=T0)
    row = session.get(Invoice, invoice.id)
    assert row is not None
    row.parties = None  # as issued before this release
    page = render_html(invoicing.document(session, row, ISSUER))
    assert "Dialtone SAS" in page
    assert "Acme Industries SARL" in page


@pytest.mark.parametrize(
    ("count", "singular", "many", "expected"),
    [
        (1, "access", "accesses", "1 access"),
        (3, "access", "accesses", "3 accesses"),
        (0, "call", None, "0 calls"),
        (1, "call", None, "1 call"),
        (2, "call", None, "2 calls"),
        (Decimal("1.0"), "segment", None, "1 segment"),
        (Decimal("1.5"), "minute", None, "1.5 minutes"),
    ],
)
def test_plurals(count: Decimal | int, singular: str, many: str | None, expected: str) -> None:
    assert plural(count, singular, many) == expected


def test_a_pro_rata_line_is_singular_for_one(session: Session) -> None:
    acct = _customer(session, "invoice", accesses=1)
    invoicing.issue(session, acct, now=T0, issuer=ISSUER)
    subscriptions.add(session, acct, "access", now=T0 + timedelta(days=10))
    nxt = invoicing.draft(session, acct)
    [prorata] = [ln for ln in nxt.totals.lines if ln.kind == "prorata"]
    assert prorata.description == "1 access added on 2026-03-12, pro rata"


def test_credit_lines_name_what_they_are_for_not_the_rule(session: Session, tmp_path: Path) -> None:
    acct = _customer(session, "card", accesses=1)
    session.add(
        SlaClaim(id="SC1", account_id=acct, rule="S1", month="2026-02", location="paris-1",
                 claimed_at=T0, amount=Decimal("0.63"), detail="")
    )  # fmt: skip
    invoice = invoicing.issue(session, acct, now=T0, issuer=ISSUER)
    [credit] = [ln for ln in invoice.lines if ln.kind == "sla_credit"]
    assert credit.description == "SLA credit for 2026-02 at paris-1: downtime at the location"
    assert credit.rule == "S1"  # kept for operators
    text = _pdf_text(render_pdf(invoicing.document(session, invoice, ISSUER)), tmp_path)
    assert "SLA credit for 2026-02 at paris-1" in text
    assert _RULE_ID.findall(text) == [], text


def test_an_old_subscriptions_malformed_vat_number_never_stops_the_document(
    session: Session,
) -> None:
    acct = accounts.create_account(session, "Legacy", now=T0).account.id
    sub = subscriptions.subscribe(session, acct, plan_code="essential", currency="EUR",
                                  country="FR", now=T0)  # fmt: skip
    sub.billing_name, sub.vat_number = "Legacy SARL", "n/a"
    invoice = invoicing.issue(session, acct, now=T0)
    page = render_html(invoicing.document(session, invoice, ISSUER))
    assert "Legacy SARL" in page
    assert "VAT no. n/a" in page
