"""TERMS N1: the operator's stock; held and quarantined numbers are never offered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict
from dialtone.services.numbering import inventory, lifecycle, numbers

from ..conftest import T0


def test_stock_offer_assign(session: Session, account: str, other_account: str) -> None:
    stocked = inventory.stock(
        session, ["+33123456700", "+33123456701", "+14155550100", "+33123456700"], now=T0
    )
    assert stocked == ["+33123456700", "+33123456701", "+14155550100"]  # repeats skipped
    assert inventory.available(session, now=T0, country="FR") == ["+33123456700", "+33123456701"]
    assert inventory.available(session, now=T0, starting="+1") == ["+14155550100"]
    first = inventory.assign(session, account, now=T0, country="FR")
    assert first.number == "+33123456700"
    assert inventory.available(session, now=T0, country="FR") == ["+33123456701"]
    # A number that is held is not offered, even if it was never taken from the stock.
    numbers.add_number(session, other_account, "+33123456701", now=T0)
    assert inventory.available(session, now=T0, country="FR") == []
    with pytest.raises(Conflict) as empty:
        inventory.assign(session, account, now=T0, country="FR")
    assert empty.value.code == "inventory.empty"


def test_a_quarantined_number_is_offered_only_after_its_six_months(
    session: Session, account: str
) -> None:
    numbers.add_number(session, account, "+33123456789", now=T0)
    lifecycle.close_account(session, account, now=T0)
    lifecycle.run(session, T0 + timedelta(days=1))  # the closed account's numbers rest
    inventory.stock(session, ["+33123456789"], now=T0 + timedelta(days=1))
    assert inventory.available(session, now=T0 + timedelta(days=2)) == []
    assert inventory.available(session, now=T0 + timedelta(days=200)) == ["+33123456789"]
