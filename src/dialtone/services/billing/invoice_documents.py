"""Invoice and credit-note documents (issue 6): the document, and the view that both
renderers print.

The figures come already settled (``dialtone.rating.invoice.settle``); this module only
lays them out, so a document never recomputes, and so never contradicts, its invoice.
The renderers (``invoice_html``, ``invoice_pdf``) depend on this module, never the other
way: each prints :func:`document_view`, where every amount, date and label is formatted
once, so the HTML page and the PDF file print the same strings. Whoever wants a page or a
file calls that renderer.

Conventions:

* money: :func:`format_money`, always to the cent; unit prices keep the extra decimals
  of per-minute rates (``0.0125 €``), since rounding them would misstate the price;
* dates: ISO (``YYYY-MM-DD``) in UTC; a naive datetime is taken as UTC (the store keeps
  UTC). A billing period is half-open, as in ``dialtone.rating.contract``: the document
  shows its first and last days covered, i.e. the day before ``period_end``'s date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from dialtone.rating.invoice import CREDIT_KINDS

DocumentKind = Literal["invoice", "credit_note"]


@dataclass(frozen=True, slots=True)
class Party:
    """The seller or the customer as printed: ``address`` may span several lines;
    ``registration`` is the seller's legal form, capital and company registration
    (SIREN/RCS) as the operator writes it."""

    name: str
    address: str = ""
    country: str = ""
    vat_number: str = ""
    registration: str = ""


@dataclass(frozen=True, slots=True)
class Issuer:
    """The operator as the seller of its invoices: its identity and where transfers and
    debits are paid (its IBAN and BIC, its SEPA creditor identifier)."""

    party: Party
    iban: str = ""
    bic: str = ""
    creditor_id: str = ""


@dataclass(frozen=True, slots=True)
class Payment:
    """How an invoice is paid and what paying late costs (Code de commerce L441-9,
    L441-10, D441-5; TERMS B7, B8).

    ``method`` is ``sepa_debit`` (from ``debtor_iban`` under ``mandate_id``), ``card``
    or ``transfer`` (to ``seller_iban``). ``interest_rate`` is the yearly late-payment
    rate in percent (``ecb_rate`` plus the margin), ``recovery_fee`` the fixed fee per
    invoice paid late, ``rejected_debit_fee`` the fee for a rejected debit."""

    method: str = "transfer"
    debtor_iban: str = ""
    mandate_id: str = ""
    creditor_id: str = ""
    seller_iban: str = ""
    seller_bic: str = ""
    interest_rate: Decimal | None = None
    ecb_rate: Decimal | None = None
    recovery_fee: Decimal | None = None
    rejected_debit_fee: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One printed line; ``amount`` is negative on credit lines. ``period`` is the
    (half-open) span of service the line bills, printed like the invoice's period;
    ``rule`` the clause of the terms behind it, kept for operators and never printed;
    ``taxable`` False for a line outside the scope of VAT (late interest, recovery fee)."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    kind: str
    rule: str | None = None
    period: tuple[datetime, datetime] | None = None
    taxable: bool = True


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything an invoice or credit note prints, figures already settled.

    ``number`` is None on a draft (printed "DRAFT"); ``tax_rate`` is in percent and
    ``tax_base`` the amount it applies to (default: the subtotal); ``carried_credit``
    (positive) is the credit left over for the next invoice; ``payment`` the payment
    method and late-payment terms; ``notes`` are printed in order at the end."""

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
    tax_base: Decimal | None = None
    payment: Payment | None = None


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


def plural(count: Decimal | int, singular: str, many: str | None = None) -> str:
    """``1 call``, ``2 calls``, ``3 accesses``, ``1.5 minutes``: the count and the noun
    agreeing with it (only exactly one is singular)."""
    value = Decimal(count)
    noun = singular if value == 1 else (many or singular + "s")
    return f"{_plain_number(value)} {noun}"


def percent(rate: Decimal) -> str:
    """``20 %``, ``5.5 %``, ``12.15 %`` (a space before the sign, as in French and ISO)."""
    return f"{_plain_number(rate)} %"


def format_iban(iban: str, *, masked: bool = False) -> str:
    """An IBAN in groups of four; ``masked`` keeps its country, check digits and last four
    characters only (``FR14 **** **** **** **** ***2 606``), enough for the customer to
    know the account without printing it whole."""
    compact = iban.replace(" ", "").upper()
    if masked and len(compact) > 8:
        compact = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def utc_date(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def _iso_date(moment: datetime | None) -> str:
    return utc_date(moment).date().isoformat() if moment is not None else ""


def _period(start: datetime, end: datetime) -> str:
    first = utc_date(start).date()
    # Half-open like rating.contract: the end's date is the first day not covered.
    last = max(first, utc_date(end).date() - timedelta(days=1))
    return f"{first.isoformat()} – {last.isoformat()}"


# --- the view both renderers print -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartyView:
    name: str
    lines: tuple[str, ...]  # address lines, country, registration, VAT number


@dataclass(frozen=True, slots=True)
class RowView:
    description: str
    detail: str
    quantity: str
    unit_price: str
    vat: str
    amount: str
    credit: bool


@dataclass(frozen=True, slots=True)
class DocumentView:
    title: str
    number: str
    draft: bool
    facts: tuple[tuple[str, str], ...]  # (label, value) beside the title
    seller: PartyView
    customer: PartyView
    rows: tuple[RowView, ...]
    totals: tuple[tuple[str, str], ...]  # the last one is the total
    carried: str
    payment: tuple[str, ...]
    notes: tuple[str, ...]


def _party(party: Party) -> PartyView:
    lines = [ln.strip() for ln in party.address.splitlines() if ln.strip()]
    if party.country:
        lines.append(party.country)
    # The registration may span lines too (legal form and capital, then SIREN and RCS).
    lines.extend(ln.strip() for ln in party.registration.splitlines() if ln.strip())
    if party.vat_number:
        lines.append(f"VAT no. {party.vat_number}")
    return PartyView(party.name, tuple(lines))


def _payment(doc: InvoiceDocument, number: str) -> tuple[str, ...]:
    """The payment terms and method, then what paying late costs (L441-9, L441-10)."""
    pay = doc.payment
    if pay is None or doc.kind == "credit_note":
        return ()

    def money(amount: Decimal) -> str:
        return format_money(amount, doc.currency)

    due = _iso_date(doc.due_at)
    out = [
        (f"Payment due on {due}" if due else "Payment due on receipt")
        + ". No discount for early payment."
    ]
    if pay.method == "sepa_debit":
        debit = "By SEPA direct debit on the due date"
        if pay.debtor_iban:
            debit += f" from IBAN {format_iban(pay.debtor_iban, masked=True)}"
        if pay.mandate_id:
            debit += f", mandate reference {pay.mandate_id}"
        if pay.creditor_id:
            debit += f", creditor identifier {pay.creditor_id}"
        out.append(debit + ".")
    elif pay.method == "card":
        out.append("By card, charged on the due date.")
    if pay.seller_iban:
        bank = f"IBAN {format_iban(pay.seller_iban)}" + (
            f", BIC {pay.seller_bic}" if pay.seller_bic else ""
        )
        if pay.method in ("sepa_debit", "card"):
            out.append(f"Bank transfers: to {bank}, quoting {number}.")
        else:
            out.append(f"By bank transfer to {bank}, quoting {number}.")
    elif pay.method not in ("sepa_debit", "card"):
        out.append(f"By bank transfer, quoting {number}.")
    late = []
    if pay.interest_rate is not None:
        ecb = (
            f" (the ECB refinancing rate of {percent(pay.ecb_rate)} plus 10 points)"
            if pay.ecb_rate is not None
            else ""
        )
        late.append(
            f"interest at {percent(pay.interest_rate)} a year{ecb} from the day after the due date"
        )
    if pay.recovery_fee is not None:
        late.append(f"a fixed recovery fee of {money(pay.recovery_fee)}")
    if late:
        out.append(
            "Late payment: "
            + " and ".join(late)
            + " (French Commercial Code, art. L441-10 and D441-5)."
        )
    if pay.method == "sepa_debit" and pay.rejected_debit_fee:
        out.append(
            f"A debit rejected for a reason on the customer's side adds "
            f"{money(pay.rejected_debit_fee)} to the next attempt."
        )
    return tuple(out)


def document_view(doc: InvoiceDocument) -> DocumentView:
    title = "Credit note" if doc.kind == "credit_note" else "Invoice"
    number = doc.number if doc.number else "DRAFT"
    facts = [(f"{title} no.", number)]
    if doc.issued_at is not None:
        facts.append(("Issue date", _iso_date(doc.issued_at)))
    if doc.due_at is not None:
        facts.append(("Due date", _iso_date(doc.due_at)))
    facts.append(("Period", _period(doc.period_start, doc.period_end)))
    rate = percent(doc.tax_rate)
    rows = tuple(
        RowView(
            description=ln.description,
            # The span of service; a rule ID is for operators and logs, never printed.
            detail=_period(*ln.period) if ln.period else "",
            quantity=_plain_number(ln.quantity),
            unit_price=_unit_price(ln.unit_price, doc.currency),
            vat=rate if ln.taxable else "none",
            amount=format_money(ln.amount, doc.currency),
            credit=ln.kind in CREDIT_KINDS or ln.amount < 0,
        )
        for ln in doc.lines
    )
    base = doc.subtotal if doc.tax_base is None else doc.tax_base
    totals = [("Total excl. VAT", format_money(doc.subtotal, doc.currency))]
    totals.append(
        (f"VAT {rate} on {format_money(base, doc.currency)}", format_money(doc.tax, doc.currency))
    )
    untaxed = doc.subtotal - base
    if untaxed:
        totals.append(
            (
                f"Not subject to VAT: {format_money(untaxed, doc.currency)}",
                format_money(Decimal(0), doc.currency),
            )
        )
    totals.append(("Total incl. VAT", format_money(doc.total, doc.currency)))
    carried = format_money(doc.carried_credit, doc.currency) if doc.carried_credit > 0 else ""
    return DocumentView(
        title=title,
        number=number,
        draft=doc.number is None,
        facts=tuple(facts),
        seller=_party(doc.seller),
        customer=_party(doc.customer),
        rows=rows,
        totals=tuple(totals),
        carried=carried,
        payment=_payment(doc, number),
        notes=tuple(note for note in doc.notes if note.strip()),
    )
