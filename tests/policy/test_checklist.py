"""The checklist of an outbound call: every check, in the engine's order, each with its
outcome; the verdict is the first refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dialtone.policy.checklist import (
    CallIntent,
    SmsIntent,
    call_checks,
    forward_checks,
    sms_checks,
    verdict,
)
from dialtone.policy.destinations import DestinationSettings
from dialtone.policy.messaging import Consent

BASE = CallIntent(
    dialed="+33612345678",
    e164="+33612345678",
    is_extension=False,
    country="FR",
    destinations=DestinationSettings(),
    active_calls=0,
    channels=1,
    caller_id="+33123456789",
    held_numbers=("+33123456789",),
)


def _outcomes(intent: CallIntent) -> list[tuple[str, str | None]]:
    return [(r.name, r.decision.code) for r in call_checks(intent)]


def test_an_ordinary_call_passes_every_check() -> None:
    assert _outcomes(BASE) == [
        ("concurrency", None),
        ("dialling", None),
        ("destination", None),
        ("do_not_call", None),
        ("caller_id", None),
    ]
    assert verdict(call_checks(BASE)).allowed


def test_an_extension_only_meets_the_one_call_per_user_rule() -> None:
    intent = replace(BASE, dialed="201", e164=None, is_extension=True, caller_id=None)
    assert _outcomes(intent) == [("concurrency", None)]


@pytest.mark.parametrize(
    ("changes", "code", "rule"),
    [
        ({"active_calls": 1}, "concurrency.user_limit", "V2"),
        ({"dialed": "311", "e164": None, "country": "US"}, "destination.x11_unsupported", "V6"),
        ({"dialed": "+19005550123", "e164": "+19005550123"}, "destination.premium_rate", "V5"),
        ({"caller_id": "+14155550100"}, "caller_id.not_held", "V10"),
    ],
)
def test_the_verdict_is_the_first_refusal_and_every_check_is_still_listed(
    changes: dict[str, object], code: str, rule: str
) -> None:
    intent = replace(BASE, **changes)  # type: ignore[arg-type]
    results = call_checks(intent)
    first = verdict(results)
    assert (first.code, first.rule) == (code, rule)
    assert [r.decision.code for r in results].count(code) == 1
    # No short cut: the checks after the refusal are still evaluated and shown.
    assert results[-1].name == "caller_id"


def test_several_refusals_the_first_one_decides() -> None:
    intent = replace(BASE, active_calls=3, caller_id=None)
    codes = [r.decision.code for r in call_checks(intent)]
    assert codes == ["concurrency.user_limit", None, None, None, "caller_id.not_held"]
    assert verdict(call_checks(intent)).code == "concurrency.user_limit"


def test_forward_checks_are_the_destination_rule() -> None:
    [result] = forward_checks("+33891234567", DestinationSettings())
    assert (result.name, result.rules, result.decision.code) == (
        "destination",
        ("V5",),
        "destination.premium_rate",
    )
    assert verdict(forward_checks("+33612345678", DestinationSettings())).allowed


def test_v12_lists_and_hours_follow_the_account_kind() -> None:
    listed = replace(BASE, dnc_listed_by="bloctel")
    assert verdict(call_checks(listed)).allowed  # a register binds telemarketing only
    marketer = replace(listed, telemarketing=True)
    assert verdict(call_checks(marketer)).code == "dnc.listed"
    # Calling hours are checked for telemarketing accounts, when the time is known.
    sunday = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    night = replace(BASE, telemarketing=True, now=sunday)
    assert [r.name for r in call_checks(night)][-2:] == ["calling_window", "caller_id"]
    assert verdict(call_checks(night)).code == "calling_window.closed"
    assert "calling_window" not in [r.name for r in call_checks(replace(BASE, now=sunday))]
    own = replace(BASE, dnc_listed_by="account")
    assert verdict(call_checks(own)).code == "dnc.listed"


def test_an_emergency_number_meets_v7_alone() -> None:
    intent = replace(BASE, dialed="112", e164="+112", active_calls=5, caller_id=None)
    results = call_checks(intent)
    assert [(r.name, r.decision.code) for r in results] == [
        ("emergency", "emergency.location_missing")
    ]


SMS = SmsIntent(
    sender="+33123456789",
    to="+33612345678",
    text="Your appointment is confirmed for Tuesday 10:00.",
    account_country="FR",
    business_plan=True,
    held_numbers=("+33123456789",),
    sender_names=("ACME",),
    consent=Consent(datetime(2026, 1, 1, tzinfo=UTC)),
    marketing=False,
    opted_out_at=None,
    recipient_local=datetime(2026, 12, 1, 12, 0),
    recipient_of_age=True,
    recipients_last_minute=1,
    used=10,
    limit=100,
    free_plan=True,
    now=datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
)


def test_an_ordinary_sms_passes_every_check() -> None:
    results = sms_checks(SMS)
    assert [r.name for r in results] == [
        "sender",
        "destination",
        "consent",
        "content",
        "age_restricted",
        "bulk",
        "quota",
    ]
    assert verdict(results).allowed


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"sender": "BANK"}, "sms.sender_not_owned"),
        ({"to": "+447400123456"}, "sms.international"),
        ({"consent": None}, "sms.consent_missing"),
        ({"text": "CBD oil -20%"}, "sms.content_restricted"),
        (
            {"text": "Wine tasting", "recipient_local": datetime(2026, 12, 1, 22, 0)},
            "sms.outside_daytime",
        ),
        ({"recipients_last_minute": 101}, "sms.bulk"),
        ({"used": 100}, "quota.exhausted"),
    ],
)
def test_each_sms_rule_refuses(changes: dict[str, object], code: str) -> None:
    assert verdict(sms_checks(replace(SMS, **changes))).code == code  # type: ignore[arg-type]
