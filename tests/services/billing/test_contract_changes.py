"""Contract changes through the store: B13 withdrawal, B9 disputes, B12 termination,
N9 number deletion fee, B11 price changes — each at its boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import accounts
from dialtone.services.billing import contract_changes, invoicing, rating, subscriptions
from dialtone.services.numbering import numbers
from dialtone.store.models import SubscriptionChange

T0 = datetime(2026, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def _account(session: Session, plan: str = "essential") -> str:
    acct = accounts.create_account(session, "Acme", now=T0).account.id
    subscriptions.subscribe(session, acct, plan_code=plan, currency="EUR", country="FR", now=T0)
    return acct


@pytest.mark.parametrize(
    ("after", "allowed"), [(timedelta(hours=24) - US, True), (timedelta(hours=24), True),
                           (timedelta(hours=24) + US, False)],
)  # fmt: skip
def test_b13_withdrawal_within_24_hours(session: Session, after: timedelta, allowed: bool) -> None:
    acct = _account(session, "prepaid")
    bought = contract_changes.buy_credits(session, acct, Decimal("20.00"), now=T0)
    assert rating.credit_balance(session, acct, "EUR") == Decimal("20")
    if allowed:
        contract_changes.withdraw_credits(session, acct, bought.id, now=T0 + after, reason="x")
        assert rating.credit_balance(session, acct, "EUR") == Decimal("0")
    else:
        with pytest.raises(DialtoneError) as caught:
            contract_changes.withdraw_credits(session, acct, bought.id, now=T0 + after, reason="x")
        assert (caught.value.code, caught.value.rule) == ("billing.withdrawal_window_closed", "B13")


def test_b13_a_number_assigned_counts_as_use(session: Session) -> None:
    acct = _account(session, "prepaid")
    bought = contract_changes.buy_credits(session, acct, Decimal("20.00"), now=T0)
    numbers.add_number(session, acct, "+33199000077", now=T0 + timedelta(hours=1))
    with pytest.raises(DialtoneError) as caught:
        contract_changes.withdraw_credits(
            session, acct, bought.id, now=T0 + timedelta(hours=2), reason="x"
        )
    assert caught.value.code == "billing.withdrawal_number_assigned"


def test_b13_admin_assigned_purchases_are_not_refundable(session: Session) -> None:
    acct = _account(session, "prepaid")
    bought = contract_changes.buy_credits(
        session, acct, Decimal("5.00"), now=T0, channel="admin_assigned"
    )
    with pytest.raises(DialtoneError) as caught:
        contract_changes.withdraw_credits(session, acct, bought.id, now=T0, reason="x")
    assert caught.value.code == "billing.withdrawal_not_refundable"


@pytest.mark.parametrize(
    ("after", "code"),
    [(timedelta(days=30), None), (timedelta(days=30, seconds=1), "billing.dispute_late")],
)
def test_b9_dispute_within_30_days_becomes_a_credit_note(
    session: Session, after: timedelta, code: str | None
) -> None:
    acct = _account(session)
    first = invoicing.issue(session, acct, now=T0)  # 19.00 + VAT = 22.80
    if code is not None:
        with pytest.raises(DialtoneError) as caught:
            contract_changes.open_dispute(session, acct, first.id, reason="x", now=T0 + after)
        assert (caught.value.code, caught.value.rule) == (code, "B9")
        return
    dispute = contract_changes.open_dispute(
        session, acct, first.id, reason="double charge", now=T0 + after
    )
    assert first.status == "issued"  # it stays payable meanwhile
    contract_changes.decide_dispute(session, dispute.id, agreed_amount=Decimal("5"), now=T0)
    second = invoicing.issue(session, acct, now=T0 + timedelta(days=30))
    credit = [ln for ln in second.lines if ln.kind == "credit_note"]
    assert [(ln.amount, ln.rule) for ln in credit] == [(Decimal("-5.00"), "B9")]
    # 19.00 − 5.00 = 14.00; VAT 2.80; 16.80
    assert second.total == Decimal("16.80")
    third = invoicing.issue(session, acct, now=T0 + timedelta(days=60))
    assert not [ln for ln in third.lines if ln.kind == "credit_note"]


def test_b12_monthly_termination_and_the_final_invoice(session: Session) -> None:
    acct = _account(session)
    invoicing.issue(session, acct, now=T0)
    # 30 days before the anniversary of day 30: in time for it.
    ends = contract_changes.request_termination(session, acct, now=T0)
    assert ends == T0 + timedelta(days=30)
    late = accounts.create_account(session, "Late", now=T0).account.id
    subscriptions.subscribe(session, late, plan_code="essential", currency="EUR", country="FR",
                            now=T0)  # fmt: skip
    assert contract_changes.request_termination(
        session, late, now=T0 + timedelta(days=1)
    ) == T0 + timedelta(days=60)
    issued = invoicing.issue_due(session, now=T0 + timedelta(days=40))
    assert [i.account_id for i in issued if i.account_id == acct] == []  # nothing left to bill


def test_b12_early_termination_costs_the_last_invoice_times_the_months_left(
    session: Session,
) -> None:
    acct = _account(session, "unlimited")  # annual, committed
    first = invoicing.issue(session, acct, now=T0)  # 300.00 + VAT = 360.00
    at = datetime(2026, 10, 1, tzinfo=UTC)  # 92 days left: 4 started 30-day months
    fee = contract_changes.terminate_early(session, acct, now=at, reason="moving")
    assert fee == Decimal("120.00")  # 360.00 / 12 × 4
    assert first.total == Decimal("360.00")
    final = invoicing.issue_due(session, now=at)
    assert [ln.amount for ln in final[-1].lines] == [Decimal("120.00")]


@pytest.mark.parametrize(
    ("plan", "fee"), [("unlimited", Decimal("1.50")), ("essential", Decimal("0")),
                      ("trial", Decimal("0"))],
)  # fmt: skip
def test_n9_number_deletion_fee(session: Session, plan: str, fee: Decimal) -> None:
    acct = _account(session, plan)
    row = numbers.add_number(session, acct, "+33199000088", now=T0)
    # unlimited: 3.00 a year per number → 0.25 a month × 6 = 1.50; free without
    # commitment and on a trial.
    assert contract_changes.charge_number_deletion(session, acct, row, now=T0) == fee
    fees = session.query(SubscriptionChange).filter_by(kind="fee").all()
    assert [f.amount for f in fees] == ([fee] if fee else [])


@pytest.mark.parametrize(
    ("kind", "new", "notice", "code"),
    [
        ("increase", "25.00", timedelta(days=30), None),
        ("increase", "25.00", timedelta(days=30) - timedelta(seconds=1),
         "billing.price_increase_notice_too_short"),
        ("revision", "20.14", timedelta(days=30), None),  # 6 % of 19.00 is 1.14
        ("revision", "20.15", timedelta(days=30), "billing.price_revision_over_cap"),
        ("decrease", "18.00", timedelta(0), None),
    ],
)  # fmt: skip
def test_b11_price_changes_and_the_invoice_uses_the_new_price(
    session: Session, kind: str, new: str, notice: timedelta, code: str | None
) -> None:
    acct = _account(session)
    effective = T0 + notice
    if code is not None:
        with pytest.raises(DialtoneError) as caught:
            contract_changes.announce_price_change(
                session, "essential", "EUR", Decimal(new), kind=kind,  # type: ignore[arg-type]
                effective_at=effective, now=T0,
            )  # fmt: skip
        assert (caught.value.code, caught.value.rule) == (code, "B11")
        return
    contract_changes.announce_price_change(
        session, "essential", "EUR", Decimal(new), kind=kind,  # type: ignore[arg-type]
        effective_at=effective, now=T0,
    )  # fmt: skip
    assert contract_changes.price_at(session, "essential", "EUR", effective) == Decimal(new)
    invoicing.issue(session, acct, now=T0)
    later = invoicing.issue(session, acct, now=T0 + timedelta(days=30))
    expected = Decimal(new) if effective <= T0 + timedelta(days=30) else Decimal("19.00")
    assert later.lines[0].unit_price == expected
    in_window = contract_changes.in_exit_window(session, "essential", "EUR", T0 + notice / 2)
    assert in_window is (kind != "decrease")
