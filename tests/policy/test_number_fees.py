"""TERMS N9: the fee for deleting a number, in each case."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.policy.number_fees import DeletionFee, deletion_fee

PRICE = Decimal("9.99")


@pytest.mark.parametrize(
    ("committed", "trial", "port_pending", "amount", "reason"),
    [
        (True, False, False, Decimal("59.94"), "committed"),  # 6 months of 9.99
        (False, False, False, Decimal(0), "no_commitment"),
        (True, True, False, Decimal(0), "trial"),  # free during a trial, committed or not
        (False, True, False, Decimal(0), "trial"),
        (True, False, True, Decimal(0), "port_pending"),  # before its port completes
        (False, False, True, Decimal(0), "port_pending"),
        (True, True, True, Decimal(0), "trial"),
    ],
)
def test_n9_deletion_fee(
    committed: bool, trial: bool, port_pending: bool, amount: Decimal, reason: str
) -> None:
    fee = deletion_fee(PRICE, committed=committed, trial=trial, port_pending=port_pending)
    assert fee == DeletionFee(amount, reason)  # type: ignore[arg-type]
    assert fee.rule == "N9"
    assert isinstance(fee.amount, Decimal)


def test_n9_months_are_a_setting_and_prices_stay_exact() -> None:
    assert deletion_fee(Decimal("1.10"), committed=True).amount == Decimal("6.60")
    assert deletion_fee(Decimal("0.333"), committed=True).amount == Decimal("1.998")
    assert deletion_fee(PRICE, committed=True, months=3).amount == Decimal("29.97")
    assert deletion_fee(Decimal(0), committed=True) == DeletionFee(Decimal(0), "committed")


def test_n9_negative_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        deletion_fee(Decimal("-0.01"), committed=True)


@given(
    price=st.decimals(min_value=0, max_value=10_000, places=2),
    committed=st.booleans(),
    trial=st.booleans(),
    port_pending=st.booleans(),
)
def test_n9_only_a_committed_deletion_outside_trial_and_port_pays(
    price: Decimal, committed: bool, trial: bool, port_pending: bool
) -> None:
    fee = deletion_fee(price, committed=committed, trial=trial, port_pending=port_pending)
    pays = committed and not trial and not port_pending
    assert fee.amount == (price * 6 if pays else 0)
    assert (fee.reason == "committed") is pays
