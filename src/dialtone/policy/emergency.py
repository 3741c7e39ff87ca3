"""Emergency calls (TERMS V7).

An emergency call (112, 15, 17, 18, 115, 911…) goes through only where the operator
serves emergency calls for the caller's country, once the user's location is registered
and the user has acknowledged that a call over the Internet can reach the wrong
emergency centre; never from a mobile number (the terms leave emergency calls from
mobile numbers to the mobile networks) and never with an AI feature taking part.

Which numbers are emergency numbers comes from the numbers the terms name and from
``phonenumbers``' emergency numbers of the caller's country.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers

from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.numbering import is_mobile

# The numbers TERMS V7 names and the French emergency numbers (SAMU 15, police 17,
# fire 18, 112, 114 for the deaf and hard of hearing, 115 social emergency, 119 child
# protection), and 911 of the North American plan.
TERMS_EMERGENCY_NUMBERS = frozenset({"112", "911", "15", "17", "18", "114", "115", "119"})
# Countries whose emergency numbers also count everywhere (an extension may never be one
# of them, whatever the account's country): the terms' own countries and the UK's 999.
COMMON_REGIONS = ("FR", "US", "GB")
# Where the operator routes emergency calls by default (the terms' markets).
DEFAULT_ELIGIBLE_COUNTRIES = ("FR", "US", "CA")

MISROUTING_WARNING = (
    "An emergency call made over the Internet can reach the wrong emergency centre, or "
    "none, when the registered location is not where you are, when the Internet "
    "connection or power fails, or when the service is suspended. Keep your location up "
    "to date and keep another way of calling for help."
)


def is_emergency_number(dialed: str, country: str | None = None) -> bool:
    """Whether ``dialed`` is an emergency number: one the terms name, one of the common
    regions', or (with ``country``) one of that country's (V7)."""
    digits = dialed.strip()
    if not digits.isdigit() or len(digits) > 6:
        return False
    if digits in TERMS_EMERGENCY_NUMBERS:
        return True
    regions = COMMON_REGIONS if country is None else (*COMMON_REGIONS, country.upper())
    return any(phonenumbers.is_emergency_number(digits, region) for region in regions)


@dataclass(frozen=True, slots=True)
class EmergencyCaller:
    """What V7 needs to know of whoever places an emergency call.

    ``location_country`` is the country of the user's registered location (None when no
    location is registered); ``warning_acknowledged`` says whether the user accepted the
    misrouting warning; ``caller_number`` is the number the call would present (None if
    the account holds none); ``by_ai`` is true when an AI agent would place or take part
    in the call.
    """

    location_country: str | None
    warning_acknowledged: bool
    caller_number: str | None
    by_ai: bool = False


def emergency_call(
    dialed: str,
    caller: EmergencyCaller,
    *,
    eligible_countries: Collection[str] = DEFAULT_ELIGIBLE_COUNTRIES,
) -> Decision:
    """TERMS V7: may ``caller`` place an emergency call to ``dialed``?"""
    if caller.by_ai:
        return refuse(
            "emergency.ai_excluded",
            "AI features never take part in an emergency call; call from a phone",
            dialed=dialed,
        )
    if caller.location_country is None:
        return refuse(
            "emergency.location_missing",
            "register the user's location before emergency calls can be placed",
            dialed=dialed,
        )
    if caller.location_country.upper() not in {c.upper() for c in eligible_countries}:
        return refuse(
            "emergency.country_ineligible",
            f"emergency calls are not served in {caller.location_country}",
            dialed=dialed,
            country=caller.location_country,
        )
    if not caller.warning_acknowledged:
        return refuse(
            "emergency.warning_not_acknowledged",
            "the user has not acknowledged that an emergency call can be misrouted",
            dialed=dialed,
        )
    if caller.caller_number is not None and is_mobile(caller.caller_number):
        return refuse(
            "emergency.mobile_number",
            f"emergency calls cannot be placed from the mobile number {caller.caller_number}",
            dialed=dialed,
            caller_number=caller.caller_number,
        )
    return ALLOWED
