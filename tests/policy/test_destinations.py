"""Where a call may go (TERMS V5, V6): table-driven, at the edges of each list and plan."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.policy.destinations import (
    DEFAULT,
    DestinationSettings,
    destination,
    dialling,
    is_premium_rate,
)


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


# -- the fast premium-rate test agrees with phonenumbers ---------------------------------

_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _library_says_premium(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.PREMIUM_RATE


def _examples() -> list[str]:
    """Every example number of every region and type the library ships: premium-rate
    ones, and the others that must not be taken for them."""
    found = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (
            phonenumbers.PhoneNumberType.PREMIUM_RATE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.SHARED_COST,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            found.append(e164)
            # The same with the national prefix left in (+33 0891…): parse strips it.
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
            if metadata is not None and metadata.national_prefix:
                code = str(example.country_code)
                found.append(f"+{code}{metadata.national_prefix}{e164[1 + len(code) :]}")
    return found


def test_is_premium_rate_agrees_with_the_library_on_every_example_number() -> None:
    examples = _examples()
    assert len(examples) > 800
    premium = [e for e in examples if _library_says_premium(e)]
    assert len(premium) > 50  # the table exercises both answers
    disagreements = [e for e in examples if is_premium_rate(e) != _library_says_premium(e)]
    assert disagreements == []


@settings(max_examples=3000, deadline=None)
@given(
    code=st.sampled_from(_CODES),
    national_prefix=st.sampled_from(["", "", "", "0", "1", "8", "00"]),
    national=st.text(alphabet="0123456789", min_size=1, max_size=13),
)
def test_is_premium_rate_agrees_with_the_library_on_any_number(
    code: int, national_prefix: str, national: str
) -> None:
    e164 = f"+{code}{national_prefix}{national}"
    assert is_premium_rate(e164) == _library_says_premium(e164), e164


@pytest.mark.parametrize(
    ("e164", "premium"),
    [
        ("+330891234567", True),  # national prefix left in: parse strips it
        ("+360690123456", True),
        ("+8401900123456", True),
        ("+449819582273", True),  # +44 is GB, GG, IM, JE: this one is Guernsey's
        ("+449098765432", True),
        ("+19005550123", True),
        ("+18769001234", False),
    ],
)
def test_is_premium_rate_boundary_cases(e164: str, premium: bool) -> None:
    assert (is_premium_rate(e164), _library_says_premium(e164)) == (premium, premium)


@pytest.mark.parametrize("text", ["+", "", "33891234567", "+33 891 234 567", "+999123", "+3"])
def test_is_premium_rate_on_odd_forms(text: str) -> None:
    assert is_premium_rate(text) == _library_says_premium(text)


@pytest.mark.parametrize(
    ("e164", "denied", "expected"),
    [
        ("+4487", ("+44870",), None),  # a prefix longer than the number never matches
        ("+44870", ("+44870",), "+44870"),  # the whole number is the prefix
        ("+448701", ("+44", "+4487", "+44870"), "+44870"),  # the longest one is named
        ("+448711", ("+44", "+4487", "+44870"), "+4487"),
        ("+338", ("+44", "+4487"), None),
    ],
)
def test_operator_prefixes_longest_match_at_every_length(
    e164: str, denied: tuple[str, ...], expected: str | None
) -> None:
    decision = destination(e164, DestinationSettings(denied_prefixes=denied))
    assert decision.details.get("prefix") == expected
    assert decision.refused == (expected is not None)
