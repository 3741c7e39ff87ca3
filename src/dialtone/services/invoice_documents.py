"""Invoice and credit-note documents (issue 6): the HTML page and the PDF file.

The figures come already settled (``dialtone.rating.invoice.settle``); this module only
lays them out, so a document never recomputes, and so never contradicts, its invoice.
Both renderers share one view (:func:`_view`): every amount, date and label is formatted
once, and the HTML page and the PDF file print the same strings.

Conventions:

* money: :func:`format_money`, always to the cent; unit prices keep the extra decimals
  of per-minute rates (``0.0125 €``), since rounding them would misstate the price;
* dates: ISO (``YYYY-MM-DD``) in UTC; a naive datetime is taken as UTC (the store keeps
  UTC). A billing period is half-open, as in ``dialtone.rating.contract``: the document
  shows its first and last days covered, i.e. the day before ``period_end``'s date;
* PDF text: DejaVu Sans when the system has it (fpdf2 ships no TTF), else the PDF core
  fonts in Windows-1252, which covers ``€ £ – ’`` and Western European names. Any
  character the font cannot draw is replaced (its base letter, ``EUR`` for ``€``, else
  ``?``), so an exotic customer name never breaks a run of invoices.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

import jinja2

from dialtone.rating.invoice import CREDIT_KINDS

DocumentKind = Literal["invoice", "credit_note"]


@dataclass(frozen=True, slots=True)
class Party:
    """The seller or the customer as printed: ``address`` may span several lines."""

    name: str
    address: str = ""
    country: str = ""
    vat_number: str = ""


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One printed line; ``amount`` is negative on credit lines. ``period`` is free text
    (e.g. a usage month) and ``rule`` the clause of the terms behind the line."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    kind: str
    rule: str | None = None
    period: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything an invoice or credit note prints, figures already settled.

    ``number`` is None on a draft (printed "DRAFT"); ``tax_rate`` is in percent;
    ``carried_credit`` (positive) is the credit left over for the next invoice; ``notes``
    are printed in order under the totals (dispute window, payment method, late-payment
    terms...)."""

    number: str | None
    kind: DocumentKind
    issued_at: datetime | None
    due_at: datetime | None
    period_start: datetime
    period_end: datetime
    seller: Party
    customer: Party
    currency: str
    lines: tuple[DocumentLine, ...]
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    carried_credit: Decimal = Decimal(0)
    notes: tuple[str, ...] = ()


# --- formatting -------------------------------------------------------------------------

# Per currency: (prefix, suffix, thousands separator). The euro follows the continental
# habit of the operators it serves (symbol after, space-grouped); the dollar and the
# pound follow English usage. The decimal mark is always a point, so one reading rule
# holds across a multi-currency operator's documents.
_STYLES: dict[str, tuple[str, str, str]] = {
    "EUR": ("", " €", " "),
    "USD": ("$", "", ","),
    "GBP": ("£", "", ","),
}


def format_money(amount: Decimal, currency: str) -> str:
    """``amount`` to the cent (half up) in ``currency``'s style.

    EUR: ``1 234.50 €``; USD: ``$1,234.50``; GBP: ``£1,234.50``; any other ISO code:
    ``1,234.50 CHF``. The minus sign leads (``-$5.00``, ``-5.00 €``); zero is never
    negative."""
    return _money(amount, currency, 2)


def _money(amount: Decimal, currency: str, places: int) -> str:
    code = currency.strip().upper()
    prefix, suffix, sep = _STYLES.get(code, ("", f" {code}", ","))
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", sep)
    return f"{sign}{prefix}{grouped}.{fraction}{suffix}"


def _unit_price(price: Decimal, currency: str) -> str:
    # Rates per minute have sub-cent digits: printing 0.0125 as 0.01 would be false.
    exponent = price.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return _money(price, currency, places)


def _plain_number(value: Decimal) -> str:
    """``12``, ``1.5``, ``1200``: no trailing zeros, no exponent."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def _utc_date(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def _iso_date(moment: datetime | None) -> str:
    return _utc_date(moment).date().isoformat() if moment is not None else ""


def _period(start: datetime, end: datetime) -> str:
    first = _utc_date(start).date()
    # Half-open like rating.contract: the end's date is the first day not covered.
    last = max(first, _utc_date(end).date() - timedelta(days=1))
    return f"{first.isoformat()} – {last.isoformat()}"


# --- the view both renderers print -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PartyView:
    name: str
    lines: tuple[str, ...]  # address lines, country, VAT number


@dataclass(frozen=True, slots=True)
class _RowView:
    description: str
    detail: str
    quantity: str
    unit_price: str
    amount: str
    credit: bool


@dataclass(frozen=True, slots=True)
class _View:
    title: str
    number: str
    draft: bool
    facts: tuple[tuple[str, str], ...]  # (label, value) beside the title
    seller: _PartyView
    customer: _PartyView
    rows: tuple[_RowView, ...]
    totals: tuple[tuple[str, str], ...]  # the last one is the total
    carried: str
    notes: tuple[str, ...]


def _party(party: Party) -> _PartyView:
    lines = [ln.strip() for ln in party.address.splitlines() if ln.strip()]
    if party.country:
        lines.append(party.country)
    if party.vat_number:
        lines.append(f"VAT no. {party.vat_number}")
    return _PartyView(party.name, tuple(lines))


def _view(doc: InvoiceDocument) -> _View:
    title = "Credit note" if doc.kind == "credit_note" else "Invoice"
    number = doc.number if doc.number else "DRAFT"
    facts = [("Number", number)]
    if doc.issued_at is not None:
        facts.append(("Issued", _iso_date(doc.issued_at)))
    if doc.due_at is not None:
        facts.append(("Due", _iso_date(doc.due_at)))
    facts.append(("Period", _period(doc.period_start, doc.period_end)))
    rows = tuple(
        _RowView(
            description=ln.description,
            detail=" · ".join(part for part in (ln.period, ln.rule or "") if part),
            quantity=_plain_number(ln.quantity),
            unit_price=_unit_price(ln.unit_price, doc.currency),
            amount=format_money(ln.amount, doc.currency),
            credit=ln.kind in CREDIT_KINDS or ln.amount < 0,
        )
        for ln in doc.lines
    )
    totals = (
        ("Subtotal", format_money(doc.subtotal, doc.currency)),
        (f"Tax ({_plain_number(doc.tax_rate)}%)", format_money(doc.tax, doc.currency)),
        ("Total", format_money(doc.total, doc.currency)),
    )
    carried = format_money(doc.carried_credit, doc.currency) if doc.carried_credit > 0 else ""
    return _View(
        title=title,
        number=number,
        draft=doc.number is None,
        facts=tuple(facts),
        seller=_party(doc.seller),
        customer=_party(doc.customer),
        rows=rows,
        totals=totals,
        carried=carried,
        notes=tuple(note for note in doc.notes if note.strip()),
    )


# --- HTML -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("dialtone.services", "templates"),
        # Customer names and descriptions are user input: everything is escaped.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(doc: InvoiceDocument) -> str:
    """The document as a standalone HTML page (styles embedded, A4 print layout)."""
    return _templates().get_template("invoice.html").render(view=_view(doc))


# --- PDF --------------------------------------------------------------------------------

# Where distributions install DejaVu Sans (Debian/Ubuntu, Fedora, Arch, BSDs, macOS).
FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
    Path("/Library/Fonts/DejaVuSans.ttf"),
)

_CORE_FAMILY = "helvetica"
_CORE_ENCODING = "windows-1252"
_TTF_FAMILY = "dejavu"
_PAGE_WIDTH = 180.0  # A4 less 15 mm margins
_COLUMNS = (96.0, 20.0, 32.0, 32.0)  # description, quantity, unit price, amount
_LINE = 4.3


# Letters Unicode does not decompose into a base letter and a mark, common in names.
_NO_DECOMPOSITION = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i"}


def _find_font(candidates: Sequence[Path]) -> Path | None:
    return next((path for path in candidates if path.is_file()), None)


def _printable(text: str, can_draw: Callable[[str], bool]) -> str:
    """``text`` with every character the font cannot draw replaced: by its base letter
    (``ő`` → ``o``), ``EUR`` for the euro sign, else ``?``."""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char == "\n" or (char.isprintable() and can_draw(char)):
            out.append(char)
        elif char.isspace():
            out.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf"):
            continue  # controls and invisible marks print nothing anyway
        elif char == "€":
            out.append("EUR")
        elif char in _NO_DECOMPOSITION and can_draw(_NO_DECOMPOSITION[char]):
            out.append(_NO_DECOMPOSITION[char])
        else:
            base = "".join(
                c
                for c in unicodedata.normalize("NFKD", char)
                if not unicodedata.combining(c) and c.isprintable() and can_draw(c)
            )
            out.append(base or "?")
    return "".join(out)


def render_pdf(doc: InvoiceDocument, *, fonts: Sequence[Path] | None = None) -> bytes:
    """The document as an A4 PDF (see :func:`dialtone.services.invoice_pdf.render`)."""
    # fpdf takes half a second to import: only rendering a PDF pays for it, not every
    # command-line run that imports the billing services.
    from dialtone.services import invoice_pdf  # noqa: PLC0415

    return invoice_pdf.render(doc, fonts=fonts)
