"""Invoice documents (issue 6): money formats, the HTML page (escaped, complete), the PDF
read back with poppler (text, pages, a rendered image), credit notes and drafts."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dialtone.services.billing import invoice_pdf
from dialtone.services.billing.invoice_documents import (
    DocumentLine,
    InvoiceDocument,
    Party,
    format_money,
)
from dialtone.services.billing.invoice_html import render as render_html
from dialtone.services.billing.invoice_pdf import render as render_pdf

D = Decimal

LINES = (
    DocumentLine("Business plan, 3 users", D(3), D("412.50"), D("1237.50"), "subscription", "B6"),
    DocumentLine(
        "Calls to mobiles",
        D(812),
        D("0.0125"),
        D("10.15"),
        "usage",
        period=(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
    ),
    DocumentLine("SLA credit, outage of 2026-11-12", D(1), D("-7.65"), D("-7.65"), "sla_credit"),
)


def _doc(**changes: Any) -> InvoiceDocument:
    """An invoice of LINES, with ``changes``."""
    doc = InvoiceDocument(
        number="INV-2026-000042",
        kind="invoice",
        issued_at=datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
        due_at=datetime(2026, 12, 31, tzinfo=UTC),
        period_start=datetime(2026, 11, 1, tzinfo=UTC),
        period_end=datetime(2026, 12, 1, tzinfo=UTC),
        seller=Party("Dialtone SAS", "1 rue de la Paix\n75002 Paris", "FR", "FR40123456824"),
        customer=Party("Acme GmbH", "Hauptstraße 1\n10115 Berlin", "DE", "DE123456789"),
        currency="EUR",
        lines=LINES,
        # 1237.50 + 10.15 - 7.65, and 20 % tax.
        subtotal=D("1240.00"),
        tax_rate=D(20),
        tax=D("248.00"),
        total=D("1488.00"),
        notes=(
            "Disputes: within 30 days of the invoice date.",
            "Paid by SEPA direct debit on 2026-12-31, mandate DT-000042.",
        ),
    )
    return replace(doc, **changes)


def _poppler(tool: str) -> str:
    """The path of a poppler tool; missing, the test is skipped, except on CI."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} (poppler-utils) must be installed on CI")
        pytest.skip(f"{tool} not installed (apt install poppler-utils)")
    return path


def _pdf_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page of ``pdf``, as pdftotext reads it."""
    source = tmp_path / "document.pdf"
    source.write_bytes(pdf)
    out = subprocess.run(
        [_poppler("pdftotext"), "-layout", str(source), "-"],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    ).stdout
    # pdftotext ends every page with a form feed.
    return out.split("\f")[:-1]


# --- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (D("1234.5"), "EUR", "1 234.50 €"),
        (D("1234.5"), "USD", "$1,234.50"),
        (D("1234.5"), "GBP", "£1,234.50"),
        (D("1234567.891"), "eur", "1 234 567.89 €"),
        (D("-7.65"), "EUR", "-7.65 €"),
        (D("-1234.5"), "USD", "-$1,234.50"),
        (D("-0.004"), "GBP", "£0.00"),
        (D("0.005"), "EUR", "0.01 €"),
        (D(12), "CHF", "12.00 CHF"),
    ],
)
def test_format_money(amount: Decimal, currency: str, expected: str) -> None:
    assert format_money(amount, currency) == expected


# --- HTML -------------------------------------------------------------------------------


def test_html_shows_every_line_the_number_and_the_totals() -> None:
    page = render_html(_doc())
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert "INV-2026-000042" in page
    assert "DRAFT" not in page
    for text in ("Business plan, 3 users", "Calls to mobiles", "SLA credit, outage of 2026-11-12"):
        assert text in page
    for amount in ("1 237.50 €", "10.15 €", "-7.65 €", "1 240.00 €", "248.00 €", "1 488.00 €"):
        assert amount in page
    assert "0.0125 €" in page  # the per-minute rate keeps its digits
    assert "VAT 20 % on 1 240.00 €" in page  # the rate and the base it applies to
    assert "2026-12-01" in page
    assert "2026-11-01 – 2026-11-30" in page  # the period's last day, not its end
    assert "within 30 days" in page
    assert "B6" not in page  # a line's rule ID is for operators, not printed


def test_html_escapes_the_customer() -> None:
    page = render_html(_doc(customer=Party('<script>alert("x")</script>', "a & b")))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "a &amp; b" in page


def test_a_draft_shows_draft_and_no_issue_date() -> None:
    page = render_html(_doc(number=None, issued_at=None, due_at=None))
    assert "DRAFT" in page
    assert "Issued" not in page


def test_dates_are_utc() -> None:
    paris = timezone(timedelta(hours=1))
    page = render_html(_doc(issued_at=datetime(2026, 12, 1, 0, 30, tzinfo=paris)))
    assert "2026-11-30" in page


def test_carried_credit_is_shown() -> None:
    page = render_html(_doc(carried_credit=D("12.3")))
    assert "Credit carried to the next invoice" in page
    assert "12.30 €" in page


@pytest.mark.parametrize(
    ("currency", "amounts"),
    [
        ("GBP", ("£1,237.50", "£412.50", "-£7.65", "£1,240.00", "£1,488.00")),
        ("USD", ("$1,237.50", "$412.50", "-$7.65", "$1,240.00", "$1,488.00")),
    ],
)
def test_other_currencies(currency: str, amounts: tuple[str, ...], tmp_path: Path) -> None:
    doc = _doc(currency=currency)
    page = render_html(doc)
    text = "".join(_pdf_pages(render_pdf(doc), tmp_path))
    for amount in amounts:
        assert amount in page
        assert amount in text
    assert "€" not in page
    assert "€" not in text


def test_a_credit_note_says_so(tmp_path: Path) -> None:
    refund = DocumentLine("Agreed dispute, INV-2026-000042", D(1), D(-50), D(-50), "credit_note")
    doc = _doc(
        number="CN-2026-000003",
        kind="credit_note",
        lines=(refund,),
        subtotal=D(-50),
        tax=D(-10),
        total=D(-60),
    )
    page = render_html(doc)
    assert "Credit note" in page
    assert "-60.00 €" in page
    text = "".join(_pdf_pages(render_pdf(doc), tmp_path))
    assert "Credit note" in text
    assert "CN-2026-000003" in text
    assert "-60.00 €" in text


# --- PDF --------------------------------------------------------------------------------


def test_pdf_has_the_lines_and_the_totals(tmp_path: Path) -> None:
    pdf = render_pdf(_doc())
    assert pdf.startswith(b"%PDF")
    pages = _pdf_pages(pdf, tmp_path)
    assert len(pages) == 1
    for text in (
        "INV-2026-000042",
        "Acme GmbH",
        "Hauptstraße 1",
        "Business plan, 3 users",
        "Calls to mobiles",
        "SLA credit, outage of 2026-11-12",
        "1 237.50 €",
        "-7.65 €",
        "1 240.00 €",
        "248.00 €",
        "1 488.00 €",
        "within 30 days",
    ):
        assert text in pages[0], text


def test_pdf_page_renders_to_an_image(tmp_path: Path) -> None:
    source = tmp_path / "invoice.pdf"
    source.write_bytes(render_pdf(_doc()))
    subprocess.run(
        [
            _poppler("pdftoppm"),
            "-png",
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    image = (tmp_path / "page.png").read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) > 1000


def test_a_long_invoice_continues_on_a_second_page(tmp_path: Path) -> None:
    lines = tuple(
        DocumentLine(f"Number +33 1 84 88 {i:02d} 00", D(1), D("2.00"), D("2.00"), "number")
        for i in range(60)
    )
    doc = _doc(lines=lines, subtotal=D(120), tax=D(24), total=D(144))
    pages = _pdf_pages(render_pdf(doc), tmp_path)
    assert len(pages) == 2
    assert "Number +33 1 84 88 00 00" in pages[0]
    assert "Number +33 1 84 88 59 00" in pages[1]
    assert "Description" in pages[1]  # the table's heading is repeated
    assert "144.00 €" in pages[1]
    assert "Page 2/2" in pages[1]


def test_pdf_never_fails_on_a_name_its_font_cannot_draw(tmp_path: Path) -> None:
    customer = Party("Łukasz 株式会社 Ωmega\u200b", "ул. Тверская, 1")
    with_system_font = _pdf_pages(render_pdf(_doc(customer=customer)), tmp_path)[0]
    assert "1 488.00" in with_system_font
    # The core fonts (no TrueType found) draw Windows-1252 only.
    core = _pdf_pages(render_pdf(_doc(customer=customer), fonts=()), tmp_path)[0]
    assert "Lukasz ???? ?mega" in core
    assert "1 488.00 €" in core


def test_unprintable_characters_are_replaced() -> None:
    def latin1(char: str) -> bool:
        return ord(char) < 256

    printable = invoice_pdf._printable
    assert printable("12.00 € – Zoë\tŁ", latin1) == "12.00 EUR ? Zoë L"
    assert printable("ő\u200b株", latin1) == "o?"


def test_pdf_is_reproducible() -> None:
    assert render_pdf(_doc()) == render_pdf(_doc())
