"""Billing standing at call time: B10 suspension, B4 prepaid credit, B14 trial, B15."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dialtone.policy.billing import prepaid_credit, smart_contact, standing, trial_call


def test_a_suspended_account_is_refused_with_b10() -> None:
    assert standing(None).allowed
    refusal = standing(datetime(2026, 1, 10, tzinfo=UTC))
    assert (refusal.code, refusal.rule, refusal.sip_status()) == ("billing.suspended", "B10", 403)


@pytest.mark.parametrize(
    ("prepaid", "included", "credits", "allowed"),
    [
        (True, False, Decimal("0.0001"), True),
        (True, False, Decimal("0"), False),
        (True, False, Decimal("-0.01"), False),
        (True, True, Decimal("0"), True),  # within the plan
        (False, False, Decimal("0"), True),  # postpaid: overage instead
    ],
)
def test_prepaid_calls_need_credit(
    prepaid: bool, included: bool, credits: Decimal, allowed: bool
) -> None:
    decision = prepaid_credit(prepaid=prepaid, included=included, credits=credits)
    assert decision.allowed is allowed
    if not allowed:
        assert (decision.code, decision.rule) == ("billing.no_credit", "B4")


@pytest.mark.parametrize(
    ("international", "premium", "used", "code"),
    [
        (False, False, 59, None),
        (False, False, 60, "billing.trial_minutes"),
        (False, False, 61, "billing.trial_minutes"),
        (True, False, 0, "billing.trial_destination"),
        (False, True, 0, "billing.trial_destination"),
    ],
)
def test_trial_limits(international: bool, premium: bool, used: int, code: str | None) -> None:
    decision = trial_call(
        trial=True, international=international, premium=premium, minutes_used=used
    )
    assert decision.code == code
    assert trial_call(trial=False, international=True, premium=True, minutes_used=999).allowed


@pytest.mark.parametrize(
    ("contacts", "known", "allowed"),
    [(499, False, True), (500, False, False), (501, False, False), (500, True, True)],
)
def test_smart_contact_cap(contacts: int, known: bool, allowed: bool) -> None:
    decision = smart_contact(smart=True, known_contact=known, contacts_this_month=contacts)
    assert decision.allowed is allowed
    assert smart_contact(smart=False, known_contact=False, contacts_this_month=10**6).allowed
