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
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneMetadata,
    PhoneNumberDesc,
    PhoneNumberType,
)


@lru_cache(maxsize=4096)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _metadata(country_code: int, region: str) -> PhoneMetadata | None:
    if region == "001":
        return PhoneMetadata.metadata_for_nongeo_region(country_code)
    return PhoneMetadata.metadata_for_region(region)


@dataclass(frozen=True, slots=True)
class _Desc:
    """One number description of a region, ready to match: its possible lengths (empty:
    any) and its compiled national pattern."""

    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, national: str) -> bool:
        if self.lengths and len(national) not in self.lengths:
            return False
        return self.pattern.fullmatch(national) is not None


@dataclass(frozen=True, slots=True)
class _Region:
    """A region's metadata compiled once for typing: the general description, the
    special types in ``phonenumbers``' order, fixed line, mobile."""

    general: _Desc | None
    special: tuple[tuple[int, _Desc], ...]
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return _Desc(frozenset(desc.possible_length or ()), _pattern(desc.national_number_pattern))


# Metadata objects live as long as the library (one per region), so their id is a key.
_COMPILED: dict[int, _Region] = {}


def _compiled(metadata: PhoneMetadata) -> _Region:
    region = _COMPILED.get(id(metadata))
    if region is None:
        special = (
            (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
            (PhoneNumberType.TOLL_FREE, metadata.toll_free),
            (PhoneNumberType.SHARED_COST, metadata.shared_cost),
            (PhoneNumberType.VOIP, metadata.voip),
            (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
            (PhoneNumberType.PAGER, metadata.pager),
            (PhoneNumberType.UAN, metadata.uan),
            (PhoneNumberType.VOICEMAIL, metadata.voicemail),
        )
        region = _Region(
            general=_desc(metadata.general_desc),
            special=tuple(
                (kind, compiled) for kind, desc in special if (compiled := _desc(desc)) is not None
            ),
            fixed_line=_desc(metadata.fixed_line),
            mobile=_desc(metadata.mobile),
            same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
        )
        _COMPILED[id(metadata)] = region
    return region


def _type_in(national: str, metadata: PhoneMetadata) -> int:
    """``phonenumbers``' type of a national number under one region's metadata."""
    region = _compiled(metadata)
    if region.general is None or not region.general.matches(national):
        return PhoneNumberType.UNKNOWN
    for kind, desc in region.special:
        if desc.matches(national):
            return kind
    mobile = region.mobile is not None and region.mobile.matches(national)
    if region.fixed_line is not None and region.fixed_line.matches(national):
        if region.same_mobile_and_fixed_line or mobile:
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not region.same_mobile_and_fixed_line and mobile:
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
def _classify(e164: str) -> tuple[int, str | None]:
    """(type, region) of ``e164`` from one look-up of its metadata (the last 65536
    numbers' answers are kept: people call the same numbers again)."""
    located = _locate(e164)
    if located is None:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return PhoneNumberType.UNKNOWN, None
        return int(phonenumbers.number_type(number)), phonenumbers.region_code_for_number(number)
    metadata, national, region = located
    kind = PhoneNumberType.UNKNOWN if metadata is None else _type_in(national, metadata)
    return kind, region


def number_type(e164: str) -> int:
    """The ``phonenumbers.PhoneNumberType`` of ``e164``, as the library gives it."""
    return _classify(e164)[0]


def region_code(e164: str) -> str | None:
    """The region ``phonenumbers.region_code_for_number`` gives ``e164`` ("001" for
    non-geographic networks), None when it has none."""
    return _classify(e164)[1]


def cache_clear() -> None:
    """Forget the cached answers (benchmarks time first look-ups)."""
    _classify.cache_clear()


def is_premium_rate(e164: str) -> bool:
    """Whether ``e164`` is a premium-rate number (TERMS V5)."""
    return number_type(e164) == PhoneNumberType.PREMIUM_RATE


def is_valid_number(e164: str) -> bool:
    """Whether ``e164`` is a valid number of its country, as
    ``phonenumbers.is_valid_number(phonenumbers.parse(e164))`` says (the library's
    validity is a region found and a type other than unknown, which is what
    ``number_type`` reads from the same metadata). TERMS V5: no other number reaches a
    trunk."""
    return number_type(e164) != PhoneNumberType.UNKNOWN


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
    # The geocoder's data takes most of a second to load: only an area notice needs it,
    # not every process that imports the numbering rules (each CLI run, the server).
    from phonenumbers import geocoder  # noqa: PLC0415

    area = geocoder.description_for_number(phonenumbers.parse(e164), "en")
    if not area or area == geocoder.country_name_for_number(phonenumbers.parse(e164), "en"):
        return None
    return (
        f"{e164} is a geographic number of the {area} area: if the business is elsewhere, "
        "it lies outside its local calling area."
    )


def use_notices(e164: str, country: str) -> list[tuple[str, str]]:
    """What to tell a customer choosing ``e164``, as (rule, text): the N1 area notice,
    and for a mobile number the N12 terms (person-to-person use from mobile access only;
    application SMS to it are not guaranteed to arrive)."""
    notices = []
    area = area_notice(e164, country)
    if area is not None:
        notices.append(("N1", area))
    if is_mobile(e164):
        notices.append(
            (
                "N12",
                f"{e164} is a mobile number: it is for person-to-person use from mobile "
                "access only, and delivery of application SMS to it is not guaranteed.",
            )
        )
    return notices
