"""Billing checks at call time from the store (TERMS B4, B14, B15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from dialtone.services.accounts import accounts
from dialtone.services.billing import billing_checks, contract_changes, subscriptions
from dialtone.services.telephony import calls
from dialtone.services.telephony.calls import CallOutcome

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _account(session: Session, plan: str) -> str:
    acct = accounts.create_account(session, plan, now=T0).account.id
    subscriptions.subscribe(session, acct, plan_code=plan, currency="EUR", country="FR", now=T0)
    return acct


def _calls(session: Session, acct: str, user: str | None, seconds: int, to: list[str]) -> None:
    calls.record_calls(
        session,
        [
            CallOutcome(
                account_id=acct, direction="outbound", from_number="+33199000001",
                to_number=number, started_at=T0 + timedelta(minutes=i),
                answered_at=T0 + timedelta(minutes=i),
                ended_at=T0 + timedelta(minutes=i, seconds=seconds), status="completed",
                hangup_cause="caller-bye", sip_call_id=f"{acct}-{i}-{number}",
                sip_local_tag="t", user_id=user,
            )
            for i, number in enumerate(to)
        ],
    )  # fmt: skip


def _check(session: Session, acct: str, to: str, user: str | None = "u1") -> str | None:
    decision = billing_checks.outbound_call(
        session, acct, user, to, country="FR", now=T0 + timedelta(days=1)
    )
    return decision.code


@pytest.mark.parametrize(("seconds", "code"), [(3540, None), (3600, "billing.trial_minutes")])
def test_b14_a_trial_user_has_60_minutes(session: Session, seconds: int, code: str | None) -> None:
    acct = _account(session, "trial")
    _calls(session, acct, "u1", seconds, ["+33123456789"])
    assert _check(session, acct, "+33123456780") == code
    assert _check(session, acct, "+33123456780", user="u2") is None  # per user


def test_b14_a_trial_calls_nothing_international_or_premium(session: Session) -> None:
    acct = _account(session, "trial")
    assert _check(session, acct, "+442071838750") == "billing.trial_destination"
    assert _check(session, acct, "+33899123456") == "billing.trial_destination"


@pytest.mark.parametrize(
    ("contacts", "to", "code"),
    [(499, "+33600000999", None), (500, "+33600000999", "billing.smart_contacts"),
     (500, "+33600000001", None)],  # a contact already reached this month
)  # fmt: skip
def test_b15_smart_reaches_500_contacts_a_month(
    session: Session, contacts: int, to: str, code: str | None
) -> None:
    acct = _account(session, "smart")
    _calls(session, acct, None, 10, [f"+33600{i:06d}" for i in range(1, contacts + 1)])
    assert _check(session, acct, to) == code


def test_b4_prepaid_needs_credit_outside_the_plan(session: Session) -> None:
    acct = _account(session, "prepaid")
    assert _check(session, acct, "+33123456789") == "billing.no_credit"
    contract_changes.buy_credits(session, acct, Decimal("1.00"), now=T0)
    assert _check(session, acct, "+33123456789") is None
    assert _check(session, _account(session, "essential"), "+442071838750") is None  # postpaid


@pytest.mark.parametrize(
    ("plan", "limited"),
    [("trial", True), ("smart", True), ("prepaid", True), ("essential", False),
     ("unlimited", False)],
)  # fmt: skip
def test_only_plans_with_limits_are_checked_at_call_time(
    session: Session, plan: str, limited: bool
) -> None:
    assert billing_checks.has_call_limits(session, _account(session, plan)) is limited
    bare = accounts.create_account(session, "Bare", now=T0).account.id
    assert billing_checks.has_call_limits(session, bare) is False
