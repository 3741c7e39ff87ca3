"""A number's type (premium rate, mobile, fixed line…) from ``phonenumbers``' metadata,
without parsing: the call-setup checks (V5 premium rate, V7 mobile numbers) need it for
every call, and ``phonenumbers.parse`` costs some fifty microseconds.

``number_type`` gives exactly what ``phonenumbers.number_type(phonenumbers.parse(e164))``
gives (tests hold it to that on every example number the library ships, their
national-prefix forms and thousands of generated numbers). The E.164 string is split
into country code and national number and matched against the metadata of the region
``phonenumbers.region_code_for_number`` would pick, in the library's order. Where
parsing could change the national number (it starts with the country's national
prefix, as in +33 0891…, which ``parse`` strips) or the form is not plain E.164, the
library itself decides.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneMetadata,
    PhoneNumberDesc,
    PhoneNumberType,
    geocoder,
)


def _library_type(e164: str) -> int:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return PhoneNumberType.UNKNOWN
    return int(phonenumbers.number_type(number))


@lru_cache(maxsize=4096)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _matches(national: str, desc: PhoneNumberDesc | None) -> bool:
    if desc is None or not desc.national_number_pattern:
        return False
    if desc.possible_length and len(national) not in desc.possible_length:
        return False
    return _pattern(desc.national_number_pattern).fullmatch(national) is not None


def _metadata(country_code: int, region: str) -> PhoneMetadata | None:
    if region == "001":
        return PhoneMetadata.metadata_for_nongeo_region(country_code)
    return PhoneMetadata.metadata_for_region(region)


def _type_in(national: str, metadata: PhoneMetadata) -> int:
    """``phonenumbers``' type of a national number under one region's metadata."""
    if not _matches(national, metadata.general_desc):
        return PhoneNumberType.UNKNOWN
    for kind, desc in (
        (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
        (PhoneNumberType.TOLL_FREE, metadata.toll_free),
        (PhoneNumberType.SHARED_COST, metadata.shared_cost),
        (PhoneNumberType.VOIP, metadata.voip),
        (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
        (PhoneNumberType.PAGER, metadata.pager),
        (PhoneNumberType.UAN, metadata.uan),
        (PhoneNumberType.VOICEMAIL, metadata.voicemail),
    ):
        if _matches(national, desc):
            return kind
    if _matches(national, metadata.fixed_line):
        if metadata.same_mobile_and_fixed_line_pattern or _matches(national, metadata.mobile):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not metadata.same_mobile_and_fixed_line_pattern and _matches(national, metadata.mobile):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def _locate(e164: str) -> tuple[PhoneMetadata | None, str, str | None] | None:
    """The metadata ``phonenumbers`` would type ``e164`` with, its national number and
    its region (metadata None: the library would find no region); None when the library
    itself must decide (not plain E.164, or a national prefix parse would strip)."""
    digits = e164[1:]
    if not e164.startswith("+") or not digits.isdigit():
        return None
    for size in (1, 2, 3):
        regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
        if regions is not None:
            country_code, national = int(digits[:size]), digits[size:]
            break
    else:
        return None
    main = _metadata(country_code, regions[0])
    if main is None or not 2 <= len(national) <= 17:  # parse refuses those lengths
        return None
    prefix = main.national_prefix_for_parsing
    if prefix and re.match(prefix, national):
        return None
    if len(regions) == 1:
        return main, national, regions[0]
    for region in regions:
        candidate = _metadata(country_code, region)
        if candidate is None:
            continue
        if candidate.leading_digits is not None:
            if _pattern(candidate.leading_digits).match(national):
                return candidate, national, region
        elif _type_in(national, candidate) != PhoneNumberType.UNKNOWN:
            return candidate, national, region
    return None, national, None


@lru_cache(maxsize=65536)
def number_type(e164: str) -> int:
    """The ``phonenumbers.PhoneNumberType`` of ``e164``, as the library gives it (the
    last 65536 numbers' answers are kept: people call the same numbers again)."""
    located = _locate(e164)
    if located is None:
        return _library_type(e164)
    metadata, national, _ = located
    return PhoneNumberType.UNKNOWN if metadata is None else _type_in(national, metadata)


@lru_cache(maxsize=65536)
def region_code(e164: str) -> str | None:
    """The region ``phonenumbers.region_code_for_number`` gives ``e164`` ("001" for
    non-geographic networks), None when it has none."""
    located = _locate(e164)
    if located is not None:
        return located[2]
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def is_premium_rate(e164: str) -> bool:
    """Whether ``e164`` is a premium-rate number (TERMS V5)."""
    return number_type(e164) == PhoneNumberType.PREMIUM_RATE


def is_mobile(e164: str) -> bool:
    """Whether ``e164`` is a mobile number (TERMS V7; a number that may be fixed or
    mobile, as in the North American plan, is not)."""
    return number_type(e164) == PhoneNumberType.MOBILE


def area_notice(e164: str, country: str) -> str | None:
    """TERMS N1: what to say when a number is chosen that may lie outside the customer's
    local calling area: a number of another country than the account's, or a geographic
    number (named by its area, so the customer can tell). None for non-geographic
    numbers of the account's own country (mobile, toll-free, national)."""
    region = region_code(e164)
    if region is not None and region != country.upper():
        return (
            f"{e164} is a number of {region}, outside {country.upper()}: for callers in "
            f"{country.upper()} it is an international number."
        )
    if number_type(e164) not in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    area = geocoder.description_for_number(phonenumbers.parse(e164), "en")
    if not area or area == geocoder.country_name_for_number(phonenumbers.parse(e164), "en"):
        return None
    return (
        f"{e164} is a geographic number of the {area} area: if the business is elsewhere, "
        "it lies outside its local calling area."
    )
