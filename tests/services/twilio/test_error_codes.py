"""Every reason code has a Twilio number: its own in the table, else the documented
default (20000 + its HTTP status; 20003 for 401)."""

from __future__ import annotations

import pytest

from dialtone.policy.codes import REGISTRY
from dialtone.services.twilio.error_codes import (
    PARAMETER_CODES,
    TWILIO_CODES,
    default_code,
    for_parameter,
    more_info,
    twilio_code,
)


def test_the_table_names_registered_codes_only() -> None:
    assert set(TWILIO_CODES) <= set(REGISTRY)


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_every_code_maps_or_falls_back(code: str) -> None:
    number = default_code(code)
    status = REGISTRY[code].http_status
    if code in TWILIO_CODES:
        assert number == TWILIO_CODES[code]
    elif status == 401:
        assert number == 20003
    else:
        assert number == 20000 + status
    assert 10000 <= number < 100000


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("sms.opted_out", 21610),
        ("sms.sender_not_owned", 21606),
        ("sms.international", 21408),
        ("caller_id.not_held", 21210),
        ("destination.premium_rate", 21216),
        ("destination.high_cost", 21215),
        ("call.destination_invalid", 21217),
        ("auth.invalid_credentials", 20003),
        ("auth.missing", 20003),
        ("message.not_found", 20404),
        ("number.held", 21422),
        ("request.invalid", 20400),
        ("permission.denied", 20403),
    ],
)
def test_the_numbers_clients_branch_on(code: str, number: int) -> None:
    assert default_code(code) == number


def test_unregistered_codes_fall_back_by_status() -> None:
    assert twilio_code("internal", 500) == 20500
    assert twilio_code("http.405", 405) == 20405


def test_parameters() -> None:
    assert for_parameter("Messages", "To") == 21211
    assert for_parameter("Calls", "To") == 21217
    assert for_parameter("Messages", "Body") is None
    assert all(10000 <= n < 100000 for n in PARAMETER_CODES.values())
    assert more_info(21211) == "https://www.twilio.com/docs/errors/21211"
