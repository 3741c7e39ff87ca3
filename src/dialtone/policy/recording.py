"""Recording consent by jurisdiction (TERMS V8).

Recording and transcription need notice and, where the law says so, the consent of one
or all parties; a party may object at any time. Which jurisdictions want every party's
consent is data here (``ALL_PARTY``): US states with all-party consent statutes, and
countries whose law makes recording a private conversation without every party's
consent an offence. A party is placed by its number (the country, and for a US number
the state of its area code, from ``phonenumbers``' geocoding).

With a notice played to every party first (the account's "notice" policy), a party who
goes on with the call consents; without one (the "one_party" policy), a recording is
lawful only where every party's jurisdiction needs one party's consent (the recording
customer's), and the call falls back to the notice elsewhere. A party who objects ends
the recording (``objection``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import phonenumbers

from dialtone.policy.decision import ALLOWED, Decision, refuse

# US states requiring every party's consent to record a phone call (state codes).
ALL_PARTY_US_STATES = frozenset(
    {"CA", "CT", "DE", "FL", "IL", "MD", "MA", "MI", "MT", "NV", "NH", "OR", "PA", "WA"}
)
# Countries where recording a private conversation without every party's consent is an
# offence (FR Code pénal art. 226-1, DE StGB §201, among others).
ALL_PARTY_COUNTRIES = frozenset({"FR", "DE", "AT", "CH", "BE", "IT", "ES", "PT", "NL", "PL"})

_US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "Washington D.C.": "DC", "West Virginia": "WV",
    "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip
_STATE_CODES = frozenset(_US_STATES.values())


def jurisdiction(e164: str) -> str | None:
    """Where a party's number places it: ``US-CA`` for a Californian number, ``FR`` for
    a French one; None when the number places nowhere."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region != "US":
        return region
    # The geocoder's data takes a third of a second to load: only a US number's place needs
    # it. It names a state ("Florida") or a city and its state ("San Francisco, CA").
    from phonenumbers import geocoder  # noqa: PLC0415

    last = geocoder.description_for_number(number, "en").rsplit(", ", 1)[-1]
    state = last if last in _STATE_CODES else _US_STATES.get(last)
    return f"US-{state}" if state else "US"


def needs_all_parties(place: str | None) -> bool:
    """Whether the law of ``place`` wants every party's consent (unknown: it does)."""
    if place is None:
        return True
    if place.startswith("US-"):
        return place[3:] in ALL_PARTY_US_STATES
    return place in ALL_PARTY_COUNTRIES


@dataclass(frozen=True, slots=True)
class Party:
    """A party to a recorded call: its number, and whether it objected."""

    number: str
    objected: bool = False


def recording(
    parties: Sequence[Party],
    *,
    notice_played: bool,
    all_party_places: Collection[str] | None = None,
) -> Decision:
    """TERMS V8: may this call be recorded (and transcribed)? Never once a party
    objects; with a notice played to everyone, yes; without one, only if no party is in
    a jurisdiction that wants every party's consent."""
    for party in parties:
        if party.objected:
            return refuse(
                "recording.objected",
                f"{party.number} objected to the recording",
                number=party.number,
            )
    if notice_played:
        return ALLOWED
    for party in parties:
        place = jurisdiction(party.number)
        strict = (
            needs_all_parties(place)
            if all_party_places is None
            else place is None or place in all_party_places
        )
        if strict:
            return refuse(
                "recording.consent_required",
                f"{party.number} is in {place or 'an unknown place'}, where every party "
                "must consent: play the notice first",
                number=party.number,
                place=place,
            )
    return ALLOWED


def objection(parties: Sequence[str]) -> Decision:
    """TERMS V8, "a party may object at any time": what goes on record when one of
    ``parties`` (the call's numbers) objects mid-call. The objection withdraws the
    consent the notice gave (or the one party's consent the law asked for): the recording
    stops at once and the part already recorded is deleted; the call goes on."""
    return refuse(
        "recording.objected",
        "A party objected to the recording: it stopped, and the part recorded was deleted",
        parties=list(parties),
    )
