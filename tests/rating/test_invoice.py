"""Invoice arithmetic (B7, B9, S1): lines to the cent, tax on the base, credits capped."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.rating.invoice import (
    CREDIT_KINDS,
    InvoiceLine,
    amount_line,
    line,
    settle,
    tax_rate_for,
)


def test_lines_round_half_up_and_tax_is_on_the_subtotal() -> None:
    lines = [
        line("subscription", "Essential × 3", 3, Decimal("19.00")),
        line("usage", "France 101 min", 101, Decimal("0.03")),  # 3.03
        amount_line("usage", "Mobile", Decimal("0.125")),  # 0.13, half up
    ]
    totals = settle(lines, "EUR", Decimal("20"))
    assert totals.subtotal == Decimal("60.16")
    assert totals.tax == Decimal("12.03")  # 12.032
    assert totals.total == Decimal("72.19")


def test_untaxed_fees_stay_out_of_the_base() -> None:
    lines = [
        amount_line("subscription", "Plan", Decimal("100")),
        amount_line("fee", "Recovery fee", Decimal("40"), rule="B8", taxable=False),
    ]
    totals = settle(lines, "EUR", Decimal("20"))
    assert (totals.taxable, totals.tax, totals.total) == (
        Decimal("100"), Decimal("20.00"), Decimal("160.00"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("credit", "applied", "carried", "total"),
    [("10", "-10", "0", "108.00"), ("100", "-100", "0", "0.00"), ("130", "-100", "30", "0.00")],
)
def test_credits_reduce_the_invoice_and_never_below_zero(
    credit: str, applied: str, carried: str, total: str
) -> None:
    lines = [
        amount_line("subscription", "Plan", Decimal("100")),
        amount_line("sla_credit", "S1 credit", -Decimal(credit), rule="S1"),
    ]
    totals = settle(lines, "EUR", Decimal("20"))
    assert totals.lines[-1].amount == Decimal(applied)
    assert totals.carried_credit == Decimal(carried)
    assert totals.total == Decimal(total)


def test_a_charge_cannot_be_negative_nor_a_credit_positive() -> None:
    with pytest.raises(ValueError, match="negative"):
        amount_line("usage", "x", Decimal("-1"))
    with pytest.raises(ValueError, match="positive"):
        amount_line("credit_note", "x", Decimal("1"))


def test_unknown_country_has_no_silent_tax() -> None:
    assert tax_rate_for("fr") == Decimal("20")
    with pytest.raises(ValueError, match="no tax rate"):
        tax_rate_for("ZZ")


KINDS = ["subscription", "usage", "fee", "credit_note", "sla_credit"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(KINDS), st.decimals("0", "500", places=2), st.booleans()),
        max_size=12,
    ),
    st.sampled_from([Decimal("0"), Decimal("20"), Decimal("8.1")]),
)
def test_a_bill_never_has_a_negative_line_unless_a_credit(
    raw: list[tuple[str, Decimal, bool]], rate: Decimal
) -> None:
    lines: list[InvoiceLine] = []
    for kind, amount, taxable in raw:
        signed = -amount if kind in CREDIT_KINDS else amount
        lines.append(amount_line(kind, kind, signed, taxable=taxable))  # type: ignore[arg-type]
    totals = settle(lines, "EUR", rate)
    for ln in totals.lines:
        assert ln.amount >= 0 or ln.is_credit
    assert totals.total >= 0
    assert totals.taxable >= 0
    credits = sum((a for k, a, _ in raw if k in CREDIT_KINDS), Decimal(0))
    applied = -sum((ln.amount for ln in totals.lines if ln.is_credit), Decimal(0))
    assert applied + totals.carried_credit == credits
