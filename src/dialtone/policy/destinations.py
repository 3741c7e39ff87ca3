"""Where a call may go (TERMS V5 and V6).

V5: premium-rate numbers, high-cost international destinations and whatever the operator
lists are blocked unless the account is allowed them, and a number that is not a valid
number of its country never reaches a trunk. V6: operator-assisted (0+) dialling and x11
services other than 911, 411 and 711 are not supported where those exist (the North
American numbering plan). The number's type comes from ``phonenumbers``.

What a device dials is read by the caller's country's dialling plan (``read_dialled``):
``+33…``, the international prefix (``00`` in France, ``011`` in the NANP), the national
prefix (``06…`` in France, ``1 212…`` in the NANP), a national number without it, or a
short code of the country (``3949``, ``411``), which goes to the trunks as dialled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from phonenumbers import shortnumberinfo

from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.numbering import is_premium_rate, is_valid_number

# International networks billed at satellite or premium rates (ITU-T E.164 assignments):
# Inmarsat +870, global mobile satellite systems +881, international networks +882/+883,
# international premium-rate service +979.
HIGH_COST_PREFIXES: tuple[str, ...] = ("+870", "+881", "+882", "+883", "+979")

# Countries of the North American numbering plan, where 0+ and x11 dialling mean what V6 says.
NANP_REGIONS = frozenset(phonenumbers.region_codes_for_country_code(1))
SUPPORTED_X11 = frozenset({"411", "711", "911"})  # 911 is V7's (emergency), not refused here
_X11 = re.compile(r"[2-9]11")
_OPERATOR = re.compile(r"0|00|0[2-9]\d{9}|01[02-9]\d{5,14}")  # 011 is direct international
# What phones put between digits, and the Request-URI user part's parameters (;phone-context…).
_VISUAL = re.compile(r"[\s\-.()/]")
_DIGITS = re.compile(r"[0-9]+")
# "+1" and the like: the shortest string a premium-rate number could start with.
_SHORTEST_PREFIX = 3


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


@lru_cache(maxsize=65536)
def read_dialled(dialed: str, country: str) -> str | None:
    """What ``dialed`` (a SIP user part: digits, perhaps ``+``, separators, parameters)
    reads as by the dialling plan of ``country`` (the caller's, ISO code): its E.164
    form (``+`` and digits, valid or not: the checks decide), the digits as dialled for
    a short code of that country, or None when it is not a number at all. A number is
    never made by putting ``+`` before national digits (``2901`` in France is
    ``+332901``, not ``+2901``)."""
    text = _VISUAL.sub("", dialed.split(";", 1)[0])
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not _DIGITS.fullmatch(digits):
        return None
    region = country.upper()
    try:
        parsed = phonenumbers.parse(text, None if plus else region)
    except phonenumbers.NumberParseException:
        parsed = None
    e164 = (
        None
        if parsed is None
        else phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    )
    if plus:
        return e164 or text
    if e164 is not None and is_valid_number(e164):
        return e164
    if _short_code(digits, region) is not None:
        return digits
    return e164


_KNOWN_COSTS = frozenset(
    {
        shortnumberinfo.ShortNumberCost.TOLL_FREE,
        shortnumberinfo.ShortNumberCost.STANDARD_RATE,
        shortnumberinfo.ShortNumberCost.PREMIUM_RATE,
    }
)


@lru_cache(maxsize=4096)
def _short_code(digits: str, region: str) -> int | None:
    """The expected cost (``ShortNumberCost``) of ``digits`` as a short code of
    ``region`` dialled as it is, None when it is not one that may reach a trunk: a short
    code whose cost ``phonenumbers`` does not know (the NANP's 4 to 6 digit SMS codes,
    which cover ``900…`` and ``870…``) is not placed, save the x11 services V6 names."""
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.national_significant_number(parsed) != digits:
        return None  # a prefix was read off (011 19000 is +1 9000): not dialled as is
    if not shortnumberinfo.is_valid_short_number_for_region(parsed, region):
        return None
    cost = int(shortnumberinfo.expected_cost_for_region(parsed, region))
    if cost in _KNOWN_COSTS:
        return cost
    if region in NANP_REGIONS and digits in SUPPORTED_X11:
        return int(shortnumberinfo.ShortNumberCost.STANDARD_RATE)
    return None


def valid_number(number: str | None, country: str, dialed: str | None = None) -> Decision:
    """TERMS V5: ``number`` (what ``read_dialled`` read ``dialed`` as) is a valid number
    of its country, or a short code of ``country``; anything else would reach a trunk as
    a number nobody can vouch for (premium ranges padded or cut short, a national number
    sent as international), so it is refused with ``destination.invalid``."""
    shown = dialed if dialed is not None else number
    if number is None:
        return refuse("destination.invalid", f"{shown!r} is not a phone number", dialed=shown)
    if number.startswith("+"):
        if is_valid_number(number):
            return ALLOWED
    elif _short_code(number, country.upper()) is not None:
        return ALLOWED
    return refuse(
        "destination.invalid",
        f"{shown} is not a valid number (read as {number} in {country.upper()})",
        dialed=shown,
        number=number,
        country=country.upper(),
    )


def short_code_destination(
    digits: str, country: str, settings: DestinationSettings = DEFAULT
) -> Decision:
    """TERMS V5 for a short code of ``country`` (sent to the trunks as dialled): refused
    when ``phonenumbers`` rates it premium and the account may not call those."""
    cost = _short_code(digits, country.upper())
    if cost == shortnumberinfo.ShortNumberCost.PREMIUM_RATE and not settings.premium_rate_allowed:
        return refuse(
            "destination.premium_rate",
            f"{digits} is a premium-rate short code of {country.upper()}; this account may "
            "not call those",
            number=digits,
        )
    return ALLOWED


def _premium_prefix(e164: str) -> str | None:
    """The premium-rate number ``e164`` is or starts with: a number that is not valid
    (a premium number with digits added) is blocked by the premium number it begins
    with, whatever its length."""
    if is_premium_rate(e164):
        return e164
    if is_valid_number(e164):
        return None
    for size in range(len(e164) - 1, _SHORTEST_PREFIX, -1):
        if is_premium_rate(e164[:size]):
            return e164[:size]
    return None


def destination(e164: str, settings: DestinationSettings = DEFAULT) -> Decision:
    """TERMS V5: may a call go to ``e164`` (``+`` and digits)? The operator's prefixes
    and the premium-rate ranges hold whatever the number's length (a number that is not
    valid is refused by ``valid_number`` too, with its own code)."""
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
    premium = None if settings.premium_rate_allowed else _premium_prefix(e164)
    if premium is not None:
        starts = "" if premium == e164 else f" (it starts with {premium})"
        return refuse(
            "destination.premium_rate",
            f"{e164} is a premium-rate number{starts}; this account may not call those",
            number=e164,
            **({} if premium == e164 else {"prefix": premium}),
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
