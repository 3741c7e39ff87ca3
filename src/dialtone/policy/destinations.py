"""Where a call may go (TERMS V5 and V6).

V5: premium-rate numbers, high-cost international destinations and whatever the operator
lists are blocked unless the account is allowed them. V6: operator-assisted (0+) dialling
and x11 services other than 911, 411 and 711 are not supported where those exist (the
North American numbering plan). The number's type comes from ``phonenumbers``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc

from dialtone.policy.decision import ALLOWED, Decision, refuse

# International networks billed at satellite or premium rates (ITU-T E.164 assignments):
# Inmarsat +870, global mobile satellite systems +881, international networks +882/+883,
# international premium-rate service +979.
HIGH_COST_PREFIXES: tuple[str, ...] = ("+870", "+881", "+882", "+883", "+979")

# Countries of the North American numbering plan, where 0+ and x11 dialling mean what V6 says.
NANP_REGIONS = frozenset(phonenumbers.region_codes_for_country_code(1))
SUPPORTED_X11 = frozenset({"411", "711", "911"})  # 911 is V7's (emergency), not refused here
_X11 = re.compile(r"[2-9]11")
_OPERATOR = re.compile(r"0|00|0[2-9]\d{9}|01[02-9]\d{5,14}")  # 011 is direct international


@dataclass(frozen=True, slots=True)
class _PrefixIndex:
    """A prefix list as a set, with the lengths it holds (longest first): a look-up is
    one set probe per length, however long the list."""

    prefixes: frozenset[str]
    lengths: tuple[int, ...]

    @classmethod
    def of(cls, prefixes: Sequence[str]) -> _PrefixIndex:
        unique = frozenset(prefixes)
        return cls(unique, tuple(sorted({len(p) for p in unique}, reverse=True)))

    def longest(self, e164: str) -> str | None:
        for size in self.lengths:
            if e164[:size] in self.prefixes and size <= len(e164):
                return e164[:size]
        return None


@dataclass(frozen=True, slots=True)
class DestinationSettings:
    """What an account may call (V5). Operator lists are E.164 prefixes such as ``+4487``:
    a denied prefix is refused even where the account is allowed premium or high-cost
    numbers; an allowed prefix is let through the default blocks (never a denied one)."""

    premium_rate_allowed: bool = False
    high_cost_allowed: bool = False
    high_cost_prefixes: Sequence[str] = HIGH_COST_PREFIXES
    denied_prefixes: Sequence[str] = ()
    allowed_prefixes: Sequence[str] = ()
    # The lists indexed once: a check then costs the same for 5 prefixes or 5000.
    _high_cost: _PrefixIndex = field(init=False, repr=False, compare=False)
    _denied: _PrefixIndex = field(init=False, repr=False, compare=False)
    _allowed: _PrefixIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_high_cost", _PrefixIndex.of(self.high_cost_prefixes))
        object.__setattr__(self, "_denied", _PrefixIndex.of(self.denied_prefixes))
        object.__setattr__(self, "_allowed", _PrefixIndex.of(self.allowed_prefixes))


DEFAULT = DestinationSettings()


def _slow_premium_rate(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.PREMIUM_RATE


def _matches(national: str, desc: PhoneNumberDesc | None) -> bool:
    if desc is None or not desc.national_number_pattern:
        return False
    if desc.possible_length and len(national) not in desc.possible_length:
        return False
    return _pattern(desc.national_number_pattern).fullmatch(national) is not None


@lru_cache(maxsize=4096)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _metadata(country_code: int, region: str) -> PhoneMetadata | None:
    if region == "001":
        return PhoneMetadata.metadata_for_nongeo_region(country_code)
    return PhoneMetadata.metadata_for_region(region)


def _known(national: str, metadata: PhoneMetadata) -> bool:
    """Whether phonenumbers would give the number a type in this region."""
    if not _matches(national, metadata.general_desc):
        return False
    return any(_matches(national, desc) for desc in _type_descs(metadata))


def _type_descs(metadata: PhoneMetadata) -> tuple[PhoneNumberDesc | None, ...]:
    return (
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
        metadata.mobile,
    )


def is_premium_rate(e164: str) -> bool:
    """Whether ``e164`` is a premium-rate number, exactly as ``phonenumbers.number_type``
    says (TERMS V5), in a few microseconds instead of some fifty.

    The number is split into country code and national number and matched against the
    library's metadata for the region ``phonenumbers.region_code_for_number`` would pick.
    Where parsing could change the national number (it starts with the country's national
    prefix, such as +33 0891…, which ``parse`` strips), or the form is unexpected, the
    library's own parse decides.
    """
    digits = e164[1:]
    if not e164.startswith("+") or not digits.isdigit():
        return _slow_premium_rate(e164)
    for size in (1, 2, 3):
        regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
        if regions is not None:
            country_code, national = int(digits[:size]), digits[size:]
            break
    else:
        return False
    main = _metadata(country_code, regions[0])
    if main is None:
        return False
    prefix = main.national_prefix_for_parsing
    if prefix and re.match(prefix, national):
        return _slow_premium_rate(e164)
    metadata: PhoneMetadata | None = main if len(regions) == 1 else None
    for region in regions if metadata is None else ():
        candidate = _metadata(country_code, region)
        if candidate is None:
            continue
        if candidate.leading_digits is not None:
            if _pattern(candidate.leading_digits).match(national):
                metadata = candidate
                break
        elif _known(national, candidate):
            metadata = candidate
            break
    if metadata is None:
        return False
    return _matches(national, metadata.general_desc) and _matches(national, metadata.premium_rate)


def destination(e164: str, settings: DestinationSettings = DEFAULT) -> Decision:
    """TERMS V5: may a call go to ``e164`` (a valid E.164 number)?"""
    denied = settings._denied.longest(e164)
    if denied is not None:
        return refuse(
            "destination.denied",
            f"{e164} is in a destination the operator blocks ({denied})",
            number=e164,
            prefix=denied,
        )
    if settings._allowed.longest(e164) is not None:
        return ALLOWED
    if not settings.premium_rate_allowed and is_premium_rate(e164):
        return refuse(
            "destination.premium_rate",
            f"{e164} is a premium-rate number; this account may not call those",
            number=e164,
        )
    high_cost = settings._high_cost.longest(e164)
    if high_cost is not None and not settings.high_cost_allowed:
        return refuse(
            "destination.high_cost",
            f"{e164} is a high-cost destination ({high_cost}); this account may not call those",
            number=e164,
            prefix=high_cost,
        )
    return ALLOWED


def dialling(dialed: str, region: str) -> Decision:
    """TERMS V6: refuse operator-assisted (0+) calls and unsupported x11 services, for
    callers in a North American numbering plan ``region`` (ISO country code). Elsewhere a
    leading 0 is ordinary national dialling and nothing is refused here."""
    if region.upper() not in NANP_REGIONS:
        return ALLOWED
    digits = dialed.strip().replace("-", "").replace(" ", "")
    if _X11.fullmatch(digits) and digits not in SUPPORTED_X11:
        return refuse(
            "destination.x11_unsupported",
            f"{digits} is not supported (only 911, 411 and 711 are)",
            dialed=digits,
        )
    if _OPERATOR.fullmatch(digits):
        return refuse(
            "destination.operator_assisted",
            "operator-assisted (0+) calls are not supported",
            dialed=digits,
        )
    return ALLOWED
