"""TERMS V7: which numbers are emergency numbers, and when an emergency call may go."""

from __future__ import annotations

import pytest

from dialtone.policy.emergency import (
    EmergencyCaller,
    emergency_call,
    is_emergency_number,
)


@pytest.mark.parametrize(
    ("dialed", "country", "expected"),
    [
        ("112", None, True),
        ("15", None, True),  # SAMU
        ("17", None, True),  # police
        ("18", None, True),  # fire
        ("115", None, True),
        ("911", None, True),
        ("999", None, True),  # the UK's, a common region
        ("000", None, False),  # Australia's: only for an Australian account
        ("000", "AU", True),
        ("110", "DE", True),
        ("110", None, False),
        ("1120", None, False),  # just over: not a short code
        ("11", None, False),  # just under
        ("+33112", None, False),
        ("", None, False),
        ("9 1 1", None, False),
    ],
)
def test_emergency_numbers(dialed: str, country: str | None, expected: bool) -> None:
    assert is_emergency_number(dialed, country) is expected


REGISTERED = EmergencyCaller(
    location_country="FR", warning_acknowledged=True, caller_number="+33123456789"
)


@pytest.mark.parametrize(
    ("caller", "eligible", "code"),
    [
        (REGISTERED, ("FR", "US", "CA"), None),
        (EmergencyCaller("FR", warning_acknowledged=True, caller_number=None), ("FR",), None),
        (EmergencyCaller(None, True, "+33123456789"), ("FR",), "emergency.location_missing"),
        (EmergencyCaller("DE", True, "+33123456789"), ("FR", "US"), "emergency.country_ineligible"),
        (EmergencyCaller("de", True, "+33123456789"), ("DE",), None),  # case does not matter
        (
            EmergencyCaller("FR", False, "+33123456789"),
            ("FR",),
            "emergency.warning_not_acknowledged",
        ),
        (EmergencyCaller("FR", True, "+33612345678"), ("FR",), "emergency.mobile_number"),
        (EmergencyCaller("US", True, "+14155550100"), ("US",), None),  # NANP: fixed or mobile
        (
            EmergencyCaller("FR", True, "+33123456789", by_ai=True),
            ("FR",),
            "emergency.ai_excluded",
        ),
        # The AI exclusion comes first: no location makes it no less an AI's call.
        (EmergencyCaller(None, False, None, by_ai=True), ("FR",), "emergency.ai_excluded"),
    ],
)
def test_emergency_call(
    caller: EmergencyCaller, eligible: tuple[str, ...], code: str | None
) -> None:
    decision = emergency_call("112", caller, eligible_countries=eligible)
    assert decision.code == code
    if code is not None:
        assert (decision.rule, decision.sip_status(), decision.details["dialed"]) == (
            "V7",
            403,
            "112",
        )
