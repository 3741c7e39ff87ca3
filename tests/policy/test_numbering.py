"""The fast number type agrees with ``phonenumbers`` everywhere: on every example number
of every region and type the library ships, their national-prefix forms, generated
numbers, and odd forms."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.policy.numbering import (
    area_notice,
    is_mobile,
    number_type,
    region_code,
    use_notices,
)

_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_KINDS = [
    getattr(phonenumbers.PhoneNumberType, name)
    for name in dir(phonenumbers.PhoneNumberType)
    if name.isupper() and name != "UNKNOWN"
]


def _library(e164: str) -> int:
    try:
        return int(phonenumbers.number_type(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return phonenumbers.PhoneNumberType.UNKNOWN


def _examples() -> list[str]:
    found = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for kind in _KINDS:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            found.append(e164)
            if metadata is not None and metadata.national_prefix:
                code = str(example.country_code)
                found.append(f"+{code}{metadata.national_prefix}{e164[1 + len(code) :]}")
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return found


def test_every_example_number_of_every_type() -> None:
    examples = _examples()
    assert len(examples) > 2000
    kinds = {_library(e) for e in examples}
    assert len(kinds) >= 8  # the table covers the types, not just one or two
    assert [e for e in examples if number_type(e) != _library(e)] == []


@settings(max_examples=3000, deadline=None)
@given(
    code=st.sampled_from(_CODES),
    national_prefix=st.sampled_from(["", "", "", "0", "1", "8", "00"]),
    national=st.text(alphabet="0123456789", min_size=1, max_size=13),
)
def test_any_number(code: int, national_prefix: str, national: str) -> None:
    e164 = f"+{code}{national_prefix}{national}"
    assert number_type(e164) == _library(e164), e164


@pytest.mark.parametrize(
    ("e164", "mobile"),
    [
        ("+33612345678", True),
        ("+33123456789", False),
        ("+447400123456", True),
        ("+442071838750", False),
        ("+14155550100", False),  # fixed or mobile: the North American plan cannot tell
        ("+330612345678", True),  # the national prefix left in
    ],
)
def test_is_mobile(e164: str, mobile: bool) -> None:
    assert is_mobile(e164) is mobile


@pytest.mark.parametrize("text", ["+", "", "+1", "33612345678", "+33 6 12", "+999123", "+3"])
def test_odd_forms(text: str) -> None:
    assert number_type(text) == _library(text)


def _library_region(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def test_region_of_every_example_number() -> None:
    examples = _examples()
    assert [e for e in examples if region_code(e) != _library_region(e)] == []


@settings(max_examples=1500, deadline=None)
@given(code=st.sampled_from(_CODES), national=st.text(alphabet="0123456789", max_size=13))
def test_region_of_any_number(code: int, national: str) -> None:
    e164 = f"+{code}{national}"
    assert region_code(e164) == _library_region(e164), e164


@pytest.mark.parametrize(
    ("number", "country", "says"),
    [
        ("+33491234567", "FR", "Marseille area"),  # geographic, its area named
        ("+14155550100", "FR", "number of US, outside FR"),
        ("+14155550100", "us", "San Francisco, CA area"),  # the account's own country
        ("+33612345678", "FR", None),  # mobile: no local area
        ("+33800123456", "FR", None),  # toll-free
        ("+33612345678", "BE", "number of FR, outside BE"),
    ],
)
def test_n1_area_notice(number: str, country: str, says: str | None) -> None:
    notice = area_notice(number, country)
    if says is None:
        assert notice is None
    else:
        assert notice is not None
        assert says in notice


@pytest.mark.parametrize(
    ("number", "rules"),
    [
        ("+33612345678", ["N12"]),  # mobile: N12, no area
        ("+33491234567", ["N1"]),  # geographic
        ("+447400123456", ["N1", "N12"]),  # a foreign mobile
        ("+33800123456", []),
    ],
)
def test_n12_mobile_numbers_come_with_their_terms(number: str, rules: list[str]) -> None:
    assert [rule for rule, _ in use_notices(number, "FR")] == rules
