"""Invoice arithmetic: lines to the cent, tax by the customer's country, credits.

Each line is rounded to the cent on its own (half up), so the document adds up as
printed; tax is computed once on the taxable subtotal (B7: prices exclude tax, the rate
is the customer's country's). Charges are never negative; only credit lines (credit
notes for agreed disputes, B9; SLA credits, S1/S4; withdrawn credit purchases, B13) are.
Credits only reduce what is due (S1: "only reduce future payments"): when they exceed
the invoice's charges the invoice totals zero and the rest is carried to the next one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Literal

CENT = Decimal("0.01")

LineKind = Literal[
    "subscription",
    "prorata",
    "option",
    "number",
    "usage",
    "penalty",
    "fee",
    "interest",
    "termination_fee",
    "deletion_fee",
    "credit_purchase",
    "credit_note",
    "sla_credit",
    "credit_carried",
]
CREDIT_KINDS: frozenset[str] = frozenset({"credit_note", "sla_credit", "credit_carried"})

# Standard VAT rates by country, in percent, as data (operators edit them in settings).
# B2B reverse charge and US sales tax are not modelled: see the README.
_TAX_TABLE = """
AT 20  BE 21  BG 20  CY 19  CZ 21  DE 19  DK 25  EE 24  ES 21  FI 25.5 FR 20  GR 24
HR 25  HU 27  IE 23  IT 22  LT 21  LU 17  LV 21  MT 18  NL 21  PL 23  PT 23  RO 21
SE 25  SI 22  SK 23  GB 20  CH 8.1 NO 25  US 0   CA 0
"""
_CELLS = _TAX_TABLE.split()
TAX_RATES: Mapping[str, Decimal] = MappingProxyType(
    {_CELLS[i]: Decimal(_CELLS[i + 1]) for i in range(0, len(_CELLS), 2)}
)


def cents(amount: Decimal) -> Decimal:
    """``amount`` rounded to the cent, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line: ``quantity`` × ``unit_price`` = ``amount`` (to the cent)."""

    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    rule: str | None = None
    taxable: bool = True
    period_start: datetime | None = None
    period_end: datetime | None = None

    def __post_init__(self) -> None:
        if self.amount != cents(self.amount):
            raise ValueError(f"line {self.description!r}: amount not to the cent")
        if self.kind in CREDIT_KINDS:
            if self.amount > 0:
                raise ValueError(f"credit line {self.description!r} is positive")
        elif self.amount < 0:
            raise ValueError(f"charge line {self.description!r} is negative")

    @property
    def is_credit(self) -> bool:
        return self.kind in CREDIT_KINDS


def line(
    kind: LineKind,
    description: str,
    quantity: Decimal | int,
    unit_price: Decimal,
    *,
    rule: str | None = None,
    taxable: bool = True,
    period: tuple[datetime, datetime] | None = None,
) -> InvoiceLine:
    """A line whose amount is ``quantity × unit_price`` rounded to the cent."""
    qty = Decimal(quantity)
    start, end = period if period else (None, None)
    return InvoiceLine(
        kind, description, qty, unit_price, cents(qty * unit_price), rule, taxable, start, end
    )


def amount_line(
    kind: LineKind, description: str, amount: Decimal, *, rule: str | None = None,
    taxable: bool = True, period: tuple[datetime, datetime] | None = None,
) -> InvoiceLine:  # fmt: skip
    """A line of one unit at ``amount`` (rounded to the cent)."""
    return line(kind, description, 1, cents(amount), rule=rule, taxable=taxable, period=period)


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    """An invoice's lines as issued, its totals, and the credit carried forward."""

    lines: tuple[InvoiceLine, ...]
    currency: str
    tax_rate: Decimal
    subtotal: Decimal
    taxable: Decimal
    tax: Decimal
    total: Decimal
    carried_credit: Decimal


def settle(lines: Sequence[InvoiceLine], currency: str, tax_rate: Decimal) -> InvoiceTotals:
    """Totals of an invoice (B7, B9, S1): credit lines are applied to the taxable
    charges first, then to untaxed ones, and never beyond them; the part of a credit
    that does not fit is returned as ``carried_credit`` (a positive amount) for the next
    invoice. Tax is ``tax_rate`` percent of the taxable base, to the cent."""
    if tax_rate < 0:
        raise ValueError("a tax rate cannot be negative")
    charges = [ln for ln in lines if not ln.is_credit]
    taxable_charges = sum((ln.amount for ln in charges if ln.taxable), Decimal(0))
    untaxed_charges = sum((ln.amount for ln in charges if not ln.taxable), Decimal(0))
    room = taxable_charges + untaxed_charges
    applied: list[InvoiceLine] = []
    carried = Decimal(0)
    credit_taxable = Decimal(0)
    for ln in lines:
        if not ln.is_credit:
            continue
        use = min(-ln.amount, room)
        carried += -ln.amount - use
        room -= use
        # A credit first lowers the taxable base (it refunds taxed service).
        credit_taxable += min(use, taxable_charges - credit_taxable)
        if use:
            applied.append(replace(ln, quantity=Decimal(1), unit_price=-use, amount=-use))
    kept = [ln for ln in lines if not ln.is_credit] + applied
    taxable = taxable_charges - credit_taxable
    tax = cents(taxable * tax_rate / 100)
    subtotal = sum((ln.amount for ln in kept), Decimal(0))
    return InvoiceTotals(
        tuple(kept), currency, tax_rate, subtotal, taxable, tax, subtotal + tax, carried
    )


def tax_rate_for(country: str | None, rates: Mapping[str, Decimal] = TAX_RATES) -> Decimal:
    """The tax rate of the customer's country (B7); an unknown country is an error, not
    a silent zero."""
    if country is None or country.upper() not in rates:
        raise ValueError(f"no tax rate is configured for country {country!r}")
    return rates[country.upper()]
