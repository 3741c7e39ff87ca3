"""E.164 validation and the Request-URI user part → number lookup."""

from __future__ import annotations

import pytest

from dialtone.core.errors import DialtoneError
from dialtone.services.numbering.numbers import dialed_to_e164, to_e164


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("+33123456789", "+33123456789"),
        ("+33 1 23 45 67 89", "+33123456789"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_valid_numbers(text: str, e164: str) -> None:
    assert to_e164(text) == e164


@pytest.mark.parametrize("text", ["0123456789", "+33", "+999123", "call me", "", "+1 555 0100"])
def test_invalid_numbers(text: str) -> None:
    with pytest.raises(DialtoneError) as info:
        to_e164(text)
    assert info.value.code == "number.invalid"
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("user", "e164"),
    [
        ("+33123456789", "+33123456789"),
        ("33123456789", "+33123456789"),
        ("0033123456789", "+33123456789"),
        ("+33-1-23-45-67-89", "+33123456789"),
        ("+33123456789;phone-context=example.com", "+33123456789"),
        ("alice", None),
        ("", None),
        (None, None),
        ("+0123", None),
        ("1234567890123456", None),
    ],
)
def test_dialed_user_parts(user: str | None, e164: str | None) -> None:
    assert dialed_to_e164(user) == e164
