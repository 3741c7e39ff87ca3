"""Where a call may go (TERMS V5, V6): table-driven, at the edges of each list and plan."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.policy.checklist import CallIntent, call_checks, verdict
from dialtone.policy.destinations import (
    DEFAULT,
    DestinationSettings,
    destination,
    dialling,
    is_premium_rate,
    read_dialled,
    short_code_destination,
    valid_number,
)
from dialtone.policy.numbering import is_valid_number


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


# -- malformed numbers and the caller's dialling plan (issue 13) ------------------------


@pytest.mark.parametrize(
    ("dialed", "country", "read"),
    [
        ("+33612345678", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        ("+33612345678;user=phone", "FR", "+33612345678"),  # a URI parameter
        ("+330612345678", "FR", "+33612345678"),  # the national prefix left in
        ("0612345678", "FR", "+33612345678"),  # national
        ("06.12.34.56.78", "FR", "+33612345678"),
        ("0033612345678", "FR", "+33612345678"),  # 00, France's international prefix
        ("33612345678", "FR", "+33612345678"),  # the country code without 00
        ("02071838750", "GB", "+442071838750"),
        ("2125551234", "US", "+12125551234"),  # NANP national without its 1
        ("12125551234", "US", "+12125551234"),
        ("01133612345678", "US", "+33612345678"),  # 011, the NANP's international prefix
        ("0033612345678", "US", "+10033612345678"),  # 00 means nothing in the NANP
        # Not numbers of their country: read as such, never as "+" and the digits.
        ("2901", "FR", "+332901"),
        ("+338991234567", "FR", "+338991234567"),
        ("08991234567", "FR", "+338991234567"),
        # Short codes of the caller's country go as dialled.
        ("3949", "FR", "3949"),
        ("411", "US", "411"),
        ("112", "FR", "112"),
        # Not a number at all.
        ("alice", "FR", None),
        ("*21#", "FR", None),
        ("", "FR", None),
        ("+", "FR", None),
    ],
)
def test_read_dialled_by_the_callers_plan(dialed: str, country: str, read: str | None) -> None:
    assert read_dialled(dialed, country) == read


@pytest.mark.parametrize(
    ("number", "country", "code"),
    [
        ("+33612345678", "FR", None),
        ("+3361234567", "FR", "destination.invalid"),  # one digit short
        ("+336123456789", "FR", "destination.invalid"),  # one over
        ("+332901", "FR", "destination.invalid"),
        ("411", "US", None),  # a short code of the caller's country
        ("411", "FR", "destination.invalid"),  # not one of France's
        ("9000", "US", "destination.invalid"),  # an SMS short code of unknown cost
        ("3020", "FR", None),  # a toll-free short code
        ("2901", "FR", "destination.invalid"),
        (None, "FR", "destination.invalid"),
    ],
)
def test_valid_number(number: str | None, country: str, code: str | None) -> None:
    decision = valid_number(number, country, "dialled")
    assert decision.code == code
    if code is not None:
        assert decision.rule == "V5"
        assert decision.sip_status() == 404
        assert decision.details["dialed"] == "dialled"


@pytest.mark.parametrize(
    ("number", "premium", "code"),
    [
        ("+33899123456", False, "destination.premium_rate"),
        ("+338991234567", False, "destination.premium_rate"),  # padded: still that number
        ("+3389912345678", False, "destination.premium_rate"),
        ("+338991234567", True, None),  # allowed premium: valid_number refuses it instead
        ("+33612345678", False, None),
        ("+336123456789", False, None),  # padded, but no premium number in it
    ],
)
def test_premium_rate_holds_whatever_the_length(
    number: str, premium: bool, code: str | None
) -> None:
    decision = destination(number, DestinationSettings(premium_rate_allowed=premium))
    assert decision.code == code
    if code is not None and number != "+33899123456":
        assert decision.details["prefix"] == "+33899123456"


@pytest.mark.parametrize(
    ("digits", "country", "premium", "code"),
    [
        ("3949", "FR", False, "destination.premium_rate"),
        ("3949", "FR", True, None),
        ("411", "US", False, None),
        ("112", "FR", False, None),
    ],
)
def test_short_codes_by_their_cost(
    digits: str, country: str, premium: bool, code: str | None
) -> None:
    settings = DestinationSettings(premium_rate_allowed=premium)
    assert short_code_destination(digits, country, settings).code == code


def test_is_valid_number_agrees_with_the_library_on_every_example_number() -> None:
    def library(e164: str) -> bool:
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
        except phonenumbers.NumberParseException:
            return False

    examples = _examples()
    padded = [e + "1" for e in examples] + [e[:-1] for e in examples]
    disagreements = [e for e in examples + padded if is_valid_number(e) != library(e)]
    assert disagreements == []
    assert sum(map(is_valid_number, padded)) < len(padded) / 2  # both answers exercised


# Prefixes under which every number is blocked by default: premium-rate ranges (the
# 089x numbers of France, 909 in the UK, 900 in the NANP, whose other exchanges are not
# valid numbers), high-cost networks, and one the operator denies.
BLOCKED = ["+3389", "+33899", "+44909", "+1900", "+870", "+881", "+882", "+883", "+979", "+4487"]
OPERATOR = DestinationSettings(denied_prefixes=("+4487",))
_NATIONAL = {"FR": ("33", ["0", ""]), "GB": ("44", ["0", ""]), "US": ("1", ["1", ""])}
_INTERNATIONAL = {"FR": "00", "GB": "00", "US": "011"}


@st.composite
def _blocked_dialling(draw: st.DrawFn) -> tuple[str, str]:
    """A digit string starting with a blocked prefix, as a caller in one of three
    countries might dial it: with +, the international prefix, or (in the prefix's own
    country) the national prefix or none, any digits after, spaces perhaps. (Bare
    digits are a number of the caller's own country: 870 123 4567 dialled in the US is
    Arkansas, not Inmarsat; that is what reading by the plan is for.)"""
    prefix = draw(st.sampled_from(BLOCKED))
    country = draw(st.sampled_from(sorted(_NATIONAL)))
    forms = ["+" + prefix[1:], _INTERNATIONAL[country] + prefix[1:]]
    code, national_prefixes = _NATIONAL[country]
    if prefix[1:].startswith(code):
        forms += [p + prefix[1 + len(code) :] for p in national_prefixes]
    dialled = draw(st.sampled_from(forms)) + draw(st.text("0123456789", max_size=12))
    if draw(st.booleans()):
        at = draw(st.integers(1, len(dialled)))
        dialled = dialled[:at] + " " + dialled[at:]
    return dialled, country


@settings(max_examples=2000, deadline=None)
@given(_blocked_dialling())
def test_no_number_starting_with_a_blocked_prefix_is_allowed_to_a_trunk(
    dialling: tuple[str, str],
) -> None:
    dialled, country = dialling
    intent = CallIntent(
        dialed=dialled,
        e164=read_dialled(dialled, country),
        is_extension=False,
        country=country,
        destinations=OPERATOR,
        active_calls=0,
        channels=1,
        caller_id="+33123456789",
        held_numbers=("+33123456789",),
    )
    refusal = verdict(call_checks(intent))
    assert refusal.refused, (dialled, country, intent.e164)
    assert (refusal.code or "").startswith("destination."), refusal
