"""Invoice documents as PDF (fpdf2): the same view as the HTML page, on A4.

PDF text: DejaVu Sans when the system has it (fpdf2 ships no TTF), else the PDF core
fonts in Windows-1252, which covers ``€ £ – ’`` and Western European names. Any
character the font cannot draw is replaced (its base letter, ``EUR`` for ``€``, else
``?``), so an exotic customer name never breaks a run of invoices.

fpdf takes half a second to import: callers import this module only to render a PDF,
not every command-line run that imports the billing services.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace, TTFFont

from dialtone.services.billing.invoice_documents import (
    DocumentView,
    InvoiceDocument,
    PartyView,
    document_view,
    utc_date,
)

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
# description, quantity, unit price, VAT rate, amount
_COLUMNS = (96.0, 12.0, 28.0, 14.0, 30.0)
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


class _Pdf(FPDF):
    """A4 pages with the document's number and the page count in the footer."""

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer
        self.body_font = _CORE_FAMILY
        self.can_draw: Callable[[str], bool] = lambda _: True

    def printable(self, value: str) -> str:
        """``value`` made printable in the document's font."""
        return _printable(value, self.can_draw)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.body_font, size=8)
        self.set_text_color(110)
        self.cell(w=0, h=4, text=self.printable(self.footer_text), align="L", new_x=XPos.LMARGIN)
        self.cell(w=0, h=4, text=f"Page {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0)


def _load_font(pdf: _Pdf, candidates: Sequence[Path]) -> None:
    regular = _find_font(candidates)
    if regular is None:
        # Windows-1252 rather than the default Latin-1: it has €, dashes and quotes.
        pdf.core_fonts_encoding = _CORE_ENCODING

        def core(char: str) -> bool:
            try:
                char.encode(_CORE_ENCODING)
            except UnicodeEncodeError:
                return False
            return True

        pdf.body_font, pdf.can_draw = _CORE_FAMILY, core
        return
    bold = regular.with_name(regular.stem + "-Bold" + regular.suffix)
    pdf.add_font(_TTF_FAMILY, "", regular)
    # Without the bold face, headings stay regular rather than failing.
    pdf.add_font(_TTF_FAMILY, "B", bold if bold.is_file() else regular)
    pdf.set_font(_TTF_FAMILY)
    font = pdf.current_font
    cmap = set(font.cmap) if isinstance(font, TTFFont) else set()
    pdf.body_font, pdf.can_draw = _TTF_FAMILY, lambda char: ord(char) in cmap


def _party_block(pdf: _Pdf, heading: str, party: PartyView, x: float, width: float) -> float:
    """Print a party from the current y at ``x``; return the y below it."""
    if heading:
        pdf.set_x(x)
        pdf.set_font(pdf.body_font, size=8)
        pdf.set_text_color(110)
        pdf.cell(width, 4, pdf.printable(heading), new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_text_color(0)
    pdf.set_x(x)
    pdf.set_font(pdf.body_font, "B", 11)
    pdf.multi_cell(
        width, 5.5, pdf.printable(party.name), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT
    )
    pdf.set_font(pdf.body_font, size=9)
    for line in party.lines:
        pdf.set_x(x)
        pdf.multi_cell(width, 4.5, pdf.printable(line), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y()


def _heading(pdf: _Pdf, view: DocumentView) -> None:
    left, top = pdf.l_margin, pdf.get_y()
    seller_end = _party_block(pdf, "", view.seller, left, 95)
    right = left + _PAGE_WIDTH - 75
    pdf.set_xy(right, top)
    pdf.set_font(pdf.body_font, "B", 18)
    pdf.cell(75, 9, pdf.printable(view.title), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    if view.draft:
        pdf.set_text_color(180, 30, 30)
        pdf.set_font(pdf.body_font, "B", 11)
        pdf.cell(75, 6, "DRAFT", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_text_color(0)
    pdf.set_font(pdf.body_font, size=9)
    for label, value in view.facts:
        pdf.set_x(right)
        pdf.cell(25, 5, pdf.printable(label), align="L")
        pdf.cell(50, 5, pdf.printable(value), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(max(seller_end, pdf.get_y()) + 8)
    customer_end = _party_block(pdf, "Bill to", view.customer, left, 110)
    pdf.set_y(customer_end + 8)


def _lines_table(pdf: _Pdf, view: DocumentView) -> None:
    pdf.set_font(pdf.body_font, size=9)
    heads = ("Description", "Qty", "Unit price excl. VAT", "VAT", "Amount excl. VAT")
    aligns = ("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")
    with pdf.table(
        width=_PAGE_WIDTH,
        col_widths=_COLUMNS,
        align="LEFT",
        v_align="TOP",
        borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        line_height=_LINE,
        padding=(1.0, 1.5),
        # The heading row is printed again on every page the table reaches.
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for head, align in zip(heads, aligns, strict=True):
            heading.cell(head, align=align)
        for row in view.rows:
            cells = table.row()
            description = row.description + (f"\n{row.detail}" if row.detail else "")
            values = (description, row.quantity, row.unit_price, row.vat, row.amount)
            for value, align in zip(values, aligns, strict=True):
                cells.cell(pdf.printable(value), align=align)


def _totals(pdf: _Pdf, view: DocumentView) -> None:
    rows = len(view.totals) + (1 if view.carried else 0)
    # Keep the totals together: a total alone on the next page reads as a new invoice.
    if pdf.will_page_break(rows * 6 + 4):
        pdf.add_page()
    pdf.ln(3)
    label_x = pdf.l_margin + _PAGE_WIDTH - 110
    for index, (label, value) in enumerate(view.totals):
        last = index == len(view.totals) - 1
        pdf.set_font(pdf.body_font, "B" if last else "", 11 if last else 9)
        pdf.set_x(label_x)
        pdf.cell(78, 6, pdf.printable(label), align="R")
        pdf.cell(32, 6, pdf.printable(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if view.carried:
        pdf.set_font(pdf.body_font, size=9)
        pdf.set_x(label_x)
        pdf.cell(78, 6, "Credit carried to the next invoice", align="R")
        pdf.cell(32, 6, pdf.printable(view.carried), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _payment(pdf: _Pdf, view: DocumentView) -> None:
    if not view.payment:
        return
    # The payment terms stay together, under their heading.
    if pdf.will_page_break(len(view.payment) * 8.5 + 10):
        pdf.add_page()
    pdf.ln(6)
    pdf.set_font(pdf.body_font, "B", 9.5)
    pdf.cell(0, 5, "Payment", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.body_font, size=8.5)
    for line in view.payment:
        pdf.multi_cell(0, 4.2, pdf.printable(line), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(0.8)


def _notes(pdf: _Pdf, view: DocumentView) -> None:
    if not view.notes:
        return
    pdf.ln(4)
    pdf.set_font(pdf.body_font, size=8.5)
    for note in view.notes:
        pdf.multi_cell(0, 4.2, pdf.printable(note), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)


def render(doc: InvoiceDocument, *, fonts: Sequence[Path] | None = None) -> bytes:
    """The document as an A4 PDF: parties, a table of the lines (its heading repeated on
    every page), the totals, the payment terms, then the notes.

    ``fonts`` are the TrueType files tried in order (default :data:`FONT_CANDIDATES`; an
    empty list forces the core fonts)."""
    view = document_view(doc)
    pdf = _Pdf(footer=f"{view.title} {view.number} · {view.seller.name}")
    _load_font(pdf, FONT_CANDIDATES if fonts is None else fonts)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title(pdf.printable(f"{view.title} {view.number}"))
    pdf.set_author(pdf.printable(view.seller.name))
    pdf.set_creator("dialtone")
    if doc.issued_at is not None:
        # A reissued document is byte-identical: the creation date is the issue date.
        pdf.set_creation_date(utc_date(doc.issued_at))
    pdf.add_page()
    _heading(pdf, view)
    _lines_table(pdf, view)
    _totals(pdf, view)
    _payment(pdf, view)
    _notes(pdf, view)
    return bytes(pdf.output())
