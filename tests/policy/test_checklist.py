"""The checklist of an outbound call: every check, in the engine's order, each with its
outcome; the verdict is the first refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dialtone.policy.billing import PlanUsage
from dialtone.policy.checklist import (
    Action,
    CallIntent,
    SmsIntent,
    call_checks,
    checks,
    forward_checks,
    sms_checks,
    verdict,
)
from dialtone.policy.destinations import DestinationSettings, read_dialled
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
        ("number", None),
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
    assert codes == ["concurrency.user_limit", None, None, None, None, "caller_id.not_held"]
    assert verdict(call_checks(intent)).code == "concurrency.user_limit"


def test_forward_checks_are_the_destination_rule_then_an_active_endpoint() -> None:
    results = forward_checks("+33891234567", DestinationSettings())
    assert [(r.name, r.rules, r.decision.code) for r in results] == [
        ("destination", ("V5",), "destination.premium_rate"),
        ("endpoint", ("N10",), None),
    ]
    assert verdict(forward_checks("+33612345678", DestinationSettings())).allowed
    # N10: no trunk can carry it (the dry run said "allowed" here before issue 14).
    idle = forward_checks("+33612345678", DestinationSettings(), active=False)
    assert verdict(idle).code == "route.inactive_endpoint"


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
        "standing",
        "sender",
        "destination",
        "consent",
        "registers",
        "content",
        "age_restricted",
        "bulk",
        "campaign",
        "quota",
    ]
    assert verdict(results).allowed


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"suspended_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC)}, "sms.proof_overdue"),
        ({"sender": "BANK"}, "sms.sender_not_owned"),
        ({"to": "+447400123456"}, "sms.international"),
        ({"consent": None}, "sms.consent_missing"),
        ({"text": "CBD oil -20%"}, "sms.content_restricted"),
        (
            {"text": "Wine tasting", "recipient_local": datetime(2026, 12, 1, 22, 0)},
            "sms.outside_daytime",
        ),
        ({"listed_on": "account"}, "sms.do_not_disturb"),
        ({"recipients_last_minute": 101}, "sms.bulk"),
        ({"recipients_last_minute": 11, "bulk_limit": 10}, "sms.bulk"),
        ({"text": "x" * 160 * 3, "max_parts": 3}, "sms.too_long"),
        ({"used": 100}, "quota.exhausted"),
    ],
)
def test_each_sms_rule_refuses(changes: dict[str, object], code: str) -> None:
    assert verdict(sms_checks(replace(SMS, **changes))).code == code  # type: ignore[arg-type]


# -- what a device dials, read by the account's dialling plan (V5, V6) -----------------

# (dialled, the account's country, the verdict's code: None when the call may go out).
# The same table is run by the dry run over the API (tests/api/test_api_policy.py) and
# by real calls from a device over SIP (tests/interop/test_outbound_numbers.py).
DIALLED: list[tuple[str, str, str | None]] = [
    # Premium-rate numbers padded or cut short (issue 13): blocked whatever the length.
    ("+33899123456", "FR", "destination.premium_rate"),  # the premium number itself
    ("+338991234567", "FR", "destination.premium_rate"),  # one digit over
    ("+3389912345678", "FR", "destination.premium_rate"),  # two over
    ("+3389912345", "FR", "destination.invalid"),  # one under
    ("+33899", "FR", "destination.invalid"),
    ("+44909879000", "FR", "destination.invalid"),  # a UK premium range, one short
    ("+1900555012", "FR", "destination.invalid"),  # a US 900 number, one short
    ("+8812", "FR", "destination.high_cost"),  # a listed prefix, whatever the length
    # National digits are read by the country's plan, never sent as "+digits".
    ("2901", "FR", "destination.invalid"),  # neither a number nor a short code (+332901)
    ("0899123456", "FR", "destination.premium_rate"),  # national premium
    ("08991234567", "FR", "destination.premium_rate"),  # national premium, one over
    ("00338991234567", "FR", "destination.premium_rate"),  # 00: international prefix
    ("00881612345678", "FR", "destination.high_cost"),
    ("3949", "FR", "destination.premium_rate"),  # a premium-rate short code
    ("061234567", "FR", "destination.invalid"),  # a mobile number one digit short
    ("06123456789", "FR", "destination.invalid"),  # one digit over
    ("9005550123", "US", "destination.premium_rate"),  # NANP without its national prefix
    ("19005550123", "US", "destination.premium_rate"),  # with it
    ("0612345678", "FR", None),  # national mobile: +33612345678
    ("06 12 34 56 78", "FR", None),
    ("0033612345678", "FR", None),
    ("+33612345678", "FR", None),
    ("2125551234", "US", None),
    ("01133612345678", "US", None),  # 011: the NANP's international prefix
    ("411", "US", None),  # a short code the plan supports goes out as dialled
]


@pytest.mark.parametrize(("dialed", "country", "code"), DIALLED)
def test_what_is_dialled_is_read_by_the_accounts_plan_before_any_trunk(
    dialed: str, country: str, code: str | None
) -> None:
    intent = replace(BASE, dialed=dialed, e164=read_dialled(dialed, country), country=country)
    first = verdict(call_checks(intent))
    assert first.code == code, first.message
    if code is not None:
        assert first.rule == "V5"


def test_a_number_that_is_not_valid_is_refused_after_its_destination() -> None:
    # Allowed premium-rate numbers: a padded one is still no number (issue 13).
    intent = replace(
        BASE,
        dialed="+338991234567",
        e164="+338991234567",
        destinations=DestinationSettings(premium_rate_allowed=True),
    )
    assert _outcomes(intent)[2:4] == [("destination", None), ("number", "destination.invalid")]
    refusal = verdict(call_checks(intent))
    assert refusal.sip_status() == 404
    assert refusal.details["number"] == "+338991234567"


PLAN = PlanUsage(trial=True, smart=True, prepaid=True, credits=Decimal(1))
EVERYTHING = replace(
    BASE,
    billing_suspended_at=datetime(2026, 1, 1, tzinfo=UTC),
    now=datetime(2026, 12, 7, 11, 0, tzinfo=UTC),
    telemarketing=True,
    plan=PLAN,
)
OUTSIDE = [
    "destination",
    "number",
    "fair_use",
    "do_not_call",
    "calling_window",
    "trial",
    "smart_contacts",
    "prepaid_credit",
]


@pytest.mark.parametrize(
    ("action", "changes", "names"),
    [
        (
            Action.DEVICE_CALL,
            {},
            ["billing_standing", "concurrency", "dialling", *OUTSIDE, "caller_id"],
        ),
        (Action.DEVICE_CALL, {"routed": True}, ["billing_standing", "concurrency", "dialling"]),
        (Action.DEVICE_CALL, {"is_extension": True}, ["billing_standing", "concurrency"]),
        (Action.DEVICE_CALL, {"dialed": "112"}, ["emergency"]),
        (
            Action.CLICK_TO_CALL,
            {},
            ["billing_standing", "concurrency", "caller_id", "dialling", *OUTSIDE],
        ),
        (
            Action.CLICK_TO_CALL,
            {"is_extension": True},
            ["billing_standing", "concurrency", "caller_id"],
        ),
        (
            Action.CLICK_TO_CALL,
            {"dialed": "112"},
            ["billing_standing", "concurrency", "caller_id", "emergency"],
        ),
        (
            Action.CLICK_TO_CALL,
            {"dialed": "abc", "e164": None},
            ["billing_standing", "concurrency", "caller_id", "dialling", "number"],
        ),
        # A call the account places over the API: click-to-call's checks but V2 (no
        # user places it).
        (Action.API_CALL, {}, ["billing_standing", "caller_id", "dialling", *OUTSIDE]),
        (Action.API_CALL, {"is_extension": True}, ["billing_standing", "caller_id"]),
        (Action.API_CALL, {"dialed": "112"}, ["billing_standing", "caller_id", "emergency"]),
        (
            Action.API_CALL,
            {"dialed": "abc", "e164": None},
            ["billing_standing", "caller_id", "dialling", "number"],
        ),
        # A transfer: the direct call's checks but V2 (no new call of a user begins).
        (Action.TRANSFER, {}, ["billing_standing", "dialling", *OUTSIDE, "caller_id"]),
        (Action.TRANSFER, {"is_extension": True}, []),
        (Action.FORWARD, {}, ["destination", "endpoint"]),
        (Action.INBOUND_CALL, {}, []),
    ],
)
def test_each_action_has_its_order(
    action: Action, changes: dict[str, object], names: list[str]
) -> None:
    intent = replace(EVERYTHING, **changes)  # type: ignore[arg-type]
    assert [r.name for r in checks(action, intent)] == names


@pytest.mark.parametrize(
    ("plan", "to", "code"),
    [
        (PlanUsage(trial=True, minutes_used=59, included=True), "+33612345678", None),
        (PlanUsage(trial=True, minutes_used=60), "+33612345678", "billing.trial_minutes"),
        (PlanUsage(trial=True), "+442071838750", "billing.trial_destination"),
        (PlanUsage(trial=True), "+33899123456", "billing.trial_destination"),
        (PlanUsage(smart=True, contacts_this_month=499), "+33612345678", None),
        (PlanUsage(smart=True, contacts_this_month=500), "+33612345678", "billing.smart_contacts"),
        (PlanUsage(smart=True, contacts_this_month=500, known_contact=True), "+33612345678", None),
        (PlanUsage(prepaid=True), "+33612345678", "billing.no_credit"),
        (PlanUsage(prepaid=True, included=True), "+33612345678", None),
        (PlanUsage(prepaid=True, credits=Decimal("0.01")), "+33612345678", None),
    ],
)
def test_the_plans_limits_are_checked_after_v12_and_before_caller_id(
    plan: PlanUsage, to: str, code: str | None
) -> None:
    # B14/B15/B4 (issue 14: the dry run lacked them). premium +33899… is allowed by V5
    # here so that B14 is what refuses it.
    allowed = DestinationSettings(premium_rate_allowed=True)
    intent = replace(BASE, dialed=to, e164=to, plan=plan, destinations=allowed)
    results = call_checks(intent)
    assert verdict(results).code == code
    assert results[-1].name == "caller_id"
