"""The double-entry ledger: balanced, append-only, idempotent by key."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.rating.ledger import (
    CASH,
    REVENUE_USAGE,
    Ledger,
    LedgerError,
    Posting,
    Transaction,
    receivable,
    transfer,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_an_unbalanced_transaction_is_refused() -> None:
    with pytest.raises(LedgerError, match="off by"):
        Transaction("k", T0, "x", (Posting("a", Decimal("1"), "EUR"),))
    with pytest.raises(LedgerError, match="off by"):  # balanced overall, not per currency
        Transaction(
            "k", T0, "x", (Posting("a", Decimal("1"), "EUR"), Posting("b", Decimal("-1"), "GBP"))
        )
    with pytest.raises(LedgerError, match="decimals"):
        transfer("k", T0, "x", "a", "b", Decimal("0.00001"), "EUR")


def test_the_same_key_posts_once() -> None:
    ledger = Ledger()
    tx = transfer("inv-1", T0, "usage", receivable("AC1"), REVENUE_USAGE, Decimal("3"), "EUR")
    assert ledger.post(tx) is True
    assert ledger.post(tx) is False
    assert ledger.balance(receivable("AC1"), "EUR") == Decimal("3")
    other = transfer("inv-1", T0, "usage", receivable("AC1"), REVENUE_USAGE, Decimal("4"), "EUR")
    with pytest.raises(LedgerError, match="other postings"):
        ledger.post(other)


ACCOUNTS = [receivable("A"), receivable("B"), CASH, REVENUE_USAGE, "customer:A:credits"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 20),
            st.sampled_from(ACCOUNTS),
            st.sampled_from(ACCOUNTS),
            st.decimals("0", "1000", places=4),
            st.sampled_from(["EUR", "GBP"]),
        ),
        max_size=40,
    )
)
def test_the_ledger_always_balances(
    moves: list[tuple[int, str, str, Decimal, str]],
) -> None:
    ledger = Ledger()
    for key, debit, credit, amount, currency in moves:
        tx = transfer(f"k{key}", T0, "m", debit, credit, amount, currency)
        # A key reused with other postings is refused and writes nothing.
        with contextlib.suppress(LedgerError):
            ledger.post(tx)
    assert all(total == 0 for total in ledger.trial_balance().values())
