"""Where a call may go (TERMS V5, V6): table-driven, at the edges of each list and plan."""

from __future__ import annotations

import pytest

from dialtone.policy.destinations import DEFAULT, DestinationSettings, destination, dialling


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("+33123456789", None),  # French geographic
        ("+33612345678", None),  # French mobile
        ("+18005551234", None),  # US toll-free
        ("+33899123456", "destination.premium_rate"),  # French 089x
        ("+19005551234", "destination.premium_rate"),  # US 900
        ("+449091234567", "destination.premium_rate"),  # UK 09
        ("+979123456789", "destination.premium_rate"),  # international premium rate
        ("+881612345678", "destination.high_cost"),  # satellite (GMSS)
        ("+870772123456", "destination.high_cost"),  # Inmarsat
        ("+882123456789", "destination.high_cost"),  # international networks
        ("+8812", "destination.high_cost"),  # not a valid number, still that network
        ("+880123456789", None),  # Bangladesh, one digit under +881
        ("+884123456789", None),  # one over +883 (unassigned, not listed)
    ],
)
def test_default_blocks(number: str, code: str | None) -> None:
    decision = destination(number, DEFAULT)
    assert decision.code == code
    assert decision.allowed is (code is None)
    if code is not None:
        assert decision.rule == "V5"
        assert decision.details["number"] == number


@pytest.mark.parametrize(
    ("settings", "number", "code"),
    [
        (DestinationSettings(premium_rate_allowed=True), "+33899123456", None),
        (DestinationSettings(premium_rate_allowed=True), "+881612345678", "destination.high_cost"),
        (DestinationSettings(high_cost_allowed=True), "+881612345678", None),
        (DestinationSettings(high_cost_allowed=True), "+33899123456", "destination.premium_rate"),
        # Operator deny list by prefix: refused even when everything else is allowed.
        (
            DestinationSettings(
                premium_rate_allowed=True, high_cost_allowed=True, denied_prefixes=("+4487",)
            ),
            "+448712345678",
            "destination.denied",
        ),
        (DestinationSettings(denied_prefixes=("+4487",)), "+448612345678", None),
        (DestinationSettings(denied_prefixes=("+4487",)), "+4487", "destination.denied"),
        # Operator allow list lets a default block through, never a denied prefix.
        (DestinationSettings(allowed_prefixes=("+3389",)), "+33899123456", None),
        (
            DestinationSettings(allowed_prefixes=("+33899",)),
            "+33891123456",
            "destination.premium_rate",
        ),
        (
            DestinationSettings(allowed_prefixes=("+881",), denied_prefixes=("+8816",)),
            "+881612345678",
            "destination.denied",
        ),
        (DestinationSettings(high_cost_prefixes=("+1",)), "+12125551234", "destination.high_cost"),
        (DestinationSettings(high_cost_prefixes=()), "+881612345678", None),
    ],
)
def test_account_and_operator_settings(
    settings: DestinationSettings, number: str, code: str | None
) -> None:
    assert destination(number, settings).code == code


def test_the_longest_listed_prefix_is_reported() -> None:
    settings = DestinationSettings(denied_prefixes=("+44", "+4487", "+448"))
    assert destination("+448712345678", settings).details["prefix"] == "+4487"


@pytest.mark.parametrize(
    ("dialed", "region", "code"),
    [
        ("911", "US", None),  # emergency: V7 decides, not V6
        ("411", "US", None),
        ("711", "US", None),
        ("211", "US", "destination.x11_unsupported"),
        ("311", "US", "destination.x11_unsupported"),
        ("511", "CA", "destination.x11_unsupported"),
        ("811", "us", "destination.x11_unsupported"),
        ("111", "US", None),  # not an N11 code
        ("3111", "US", None),
        ("0", "US", "destination.operator_assisted"),
        ("00", "US", "destination.operator_assisted"),
        ("02125551234", "US", "destination.operator_assisted"),  # 0 + 10 digits
        ("0212555123", "US", None),  # one digit short
        ("021255512345", "US", None),  # one digit over
        ("01442071838750", "US", "destination.operator_assisted"),  # 01 + international
        ("011442071838750", "US", None),  # 011: direct international dialling
        ("12125551234", "US", None),
        ("+12125551234", "US", None),
        ("311", "FR", None),  # outside the NANP nothing here applies
        ("0123456789", "FR", None),  # French national dialling starts with 0
        ("0", "GB", None),
    ],
)
def test_dialling(dialed: str, region: str, code: str | None) -> None:
    decision = dialling(dialed, region)
    assert decision.code == code
    if code is not None:
        assert decision.rule == "V6"
