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

import phonenumbers

from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.numbering import is_premium_rate

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
