"""Messaging rules (TERMS M1, M3–M8, M11) as decisions, for the messaging service to
come: pure checks over the text, the numbers, the consent records and the counters.

Every threshold the terms give is an argument with that value as default; where the
terms give none (the daytime hours of M5, what "hundreds at once" means in M7), the
default is named and documented here.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from phonenumbers import PhoneNumberType

from dialtone.core.sms import SmsSegments, count_segments
from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.numbering import is_premium_rate, number_type, region_code

# -- M1: segments ----------------------------------------------------------------------

# The count is core's (shared with rating): GSM-7 160/153, UCS-2 70/67, two-unit
# characters never split across parts.
Segments = SmsSegments
segments = count_segments


def sms_destination(
    to_e164: str, account_country: str, *, business_plan: bool, max_parts: int = 10, parts: int = 1
) -> Decision:
    """TERMS M1: no premium SMS or SMS+ (premium-rate numbers, short codes), no
    international SMS on business phone plans, and at most ``max_parts`` parts."""
    # A short code (SMS+ services are 5-digit codes), written bare or after a country
    # code, is no subscriber's number: at most 7 digits and of no known type.
    short = not to_e164.startswith("+") or (
        len(to_e164) <= 10 and number_type(to_e164) == PhoneNumberType.UNKNOWN
    )
    if short or is_premium_rate(to_e164):
        return refuse("sms.premium", f"{to_e164} is a premium or short-code number", to=to_e164)
    region = region_code(to_e164)
    if business_plan and region is not None and region != account_country.upper():
        return refuse(
            "sms.international",
            f"business phone plans send no international SMS ({region} from "
            f"{account_country.upper()})",
            to=to_e164,
            region=region,
        )
    if parts > max_parts:
        return refuse(
            "sms.too_long", f"{parts} parts; at most {max_parts}", parts=parts, limit=max_parts
        )
    return ALLOWED


# -- M3: consent and opt-out -------------------------------------------------------------

# The keywords a recipient stops, restarts or asks for help with: policy.sms_keywords.


@dataclass(frozen=True, slots=True)
class Consent:
    """A recipient's opt-in: when it was given and whether it covers marketing."""

    given_at: datetime
    marketing: bool = False


def sms_consent(
    to_e164: str,
    consent: Consent | None,
    *,
    marketing: bool,
    opted_out_at: datetime | None,
    now: datetime,
) -> Decision:
    """TERMS M3: an opted-out recipient gets nothing more; a marketing message needs a
    marketing opt-in given before it; any other message needs an opt-in."""
    if opted_out_at is not None and opted_out_at <= now:
        return refuse("sms.opted_out", f"{to_e164} has opted out", to=to_e164)
    if consent is None or consent.given_at > now or (marketing and not consent.marketing):
        return refuse(
            "sms.consent_missing",
            f"no {'marketing ' if marketing else ''}opt-in on record for {to_e164}",
            to=to_e164,
            marketing=marketing,
        )
    return ALLOWED


def registries(to_e164: str, listed_on: str | None) -> Decision:
    """TERMS M3: never message a number on an opposition or do-not-disturb register
    (the account's own do-not-contact list or a national one, V12's lists)."""
    if listed_on is None:
        return ALLOWED
    return refuse(
        "sms.do_not_disturb", f"{to_e164} is on the {listed_on} list", to=to_e164, list=listed_on
    )


PROOF_DELAY = timedelta(hours=24)  # M3: "produce the proof within 24 hours of a request"


def proof_overdue(
    requested_at: datetime,
    answered_at: datetime | None,
    now: datetime,
    delay: timedelta = PROOF_DELAY,
) -> Decision:
    """TERMS M3: a request for the proof of consent still unanswered ``delay`` after it
    was made suspends the account's messaging (an answer, even late, ends that)."""
    if answered_at is not None or now < requested_at + delay:
        return ALLOWED
    return refuse(
        "sms.proof_overdue",
        f"the proof of consent asked for on {requested_at:%Y-%m-%d %H:%M} UTC was not "
        f"produced within {int(delay.total_seconds() // 3600)} hours",
        requested_at=requested_at.isoformat(),
    )


def messaging_standing(suspended_at: datetime | None) -> Decision:
    """TERMS M3: an account whose proof of consent is overdue sends no SMS."""
    if suspended_at is None:
        return ALLOWED
    return refuse(
        "sms.proof_overdue",
        f"messaging suspended since {suspended_at:%Y-%m-%d %H:%M} UTC: a proof of consent "
        "asked for was not produced within 24 hours; answer the request to resume",
    )


# -- M4 and M5: content ------------------------------------------------------------------

# Operator-editable keyword lists per category (M4 forbidden on business plans, M5 age
# restricted). Words match whole words, case-insensitively.
RESTRICTED_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "cannabis": ("cannabis", "cbd", "thc", "marijuana", "weed"),
    "vaping": ("vape", "vaping", "e-cigarette", "ecig"),
    "kratom": ("kratom",),
    "prescription_drugs": ("oxycodone", "xanax", "viagra", "tramadol", "no prescription"),
    "phishing": ("verify your account", "account suspended", "click here to claim"),
}
AGE_RESTRICTED_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "alcohol": ("beer", "wine", "vodka", "whisky", "liquor", "alcohol"),
    "gambling": ("casino", "betting", "jackpot", "poker", "free spins"),
    "tobacco": ("cigarette", "cigar", "tobacco"),
    "firearms": ("firearm", "rifle", "handgun", "ammo", "ammunition"),
    "adult": ("xxx", "adult content", "escort"),
}


_WORD = re.compile(r"\w+(?:['-]\w+)*")


def message_words(text: str) -> list[str]:
    """The words of a message as keyword lists match them (lower case, whole words;
    the checks of one SMS share them)."""
    return _WORD.findall(text.lower())


class Keywords:
    """Keyword lists per category, indexed once: a keyword is a word or a phrase, matched
    as whole words, case-insensitively ("cbd" does not match "cbd-free"). Operators build
    their own from their lists."""

    def __init__(self, categories: Mapping[str, Sequence[str]]) -> None:
        self.phrases: dict[tuple[str, ...], str] = {}
        for name, words in categories.items():
            for word in words:
                key = tuple(_WORD.findall(word.lower()))
                if key:
                    self.phrases.setdefault(key, name)
        self.lengths = sorted({len(k) for k in self.phrases}, reverse=True)
        self.first_words = frozenset(k[0] for k in self.phrases)

    def category(self, text: str, words: Sequence[str] | None = None) -> str | None:
        """The category of the first listed word or phrase in ``text`` (``words``: its
        :func:`message_words`, when the caller has them already), or None."""
        tokens = message_words(text) if words is None else words
        if self.first_words.isdisjoint(tokens):
            return None
        for start, token in enumerate(tokens):
            if token not in self.first_words:
                continue
            for size in self.lengths:
                found = self.phrases.get(tuple(tokens[start : start + size]))
                if found is not None:
                    return found
        return None


def sms_content(
    text: str,
    *,
    business_plan: bool,
    restricted: Keywords | None = None,
    words: Sequence[str] | None = None,
) -> Decision:
    """TERMS M4: content in a restricted category is refused on business plans."""
    if not business_plan:
        return ALLOWED
    category = (restricted or RESTRICTED).category(text, words)
    if category is None:
        return ALLOWED
    return refuse(
        "sms.content_restricted",
        f"messages about {category.replace('_', ' ')} are not allowed on business plans",
        category=category,
    )


RESTRICTED = Keywords(RESTRICTED_CATEGORIES)
AGE_RESTRICTED = Keywords(AGE_RESTRICTED_CATEGORIES)
DAYTIME = (time(8), time(20))  # M5 says "daytime" without hours: 08:00-20:00 local


def age_restricted(
    text: str,
    recipient_local: datetime,
    *,
    recipient_of_age: bool,
    emergency: bool = False,
    categories: Keywords | None = None,
    daytime: tuple[time, time] = DAYTIME,
    words: Sequence[str] | None = None,
) -> Decision:
    """TERMS M5: a message on an age-restricted topic goes only to a recipient of age,
    and only in the recipient's daytime (``recipient_local``), emergencies aside."""
    category = (categories or AGE_RESTRICTED).category(text, words)
    if category is None:
        return ALLOWED
    if not recipient_of_age:
        return refuse(
            "sms.age_restricted", f"{category}: the recipient is not of age", category=category
        )
    start, end = daytime
    if not emergency and not start <= recipient_local.time() < end:
        return refuse(
            "sms.outside_daytime",
            f"{category} messages go out {start:%H:%M}-{end:%H:%M} recipient's time; it is "
            f"{recipient_local:%H:%M} there",
            category=category,
        )
    return ALLOWED


# -- M6: sender ID -------------------------------------------------------------------------


def sender_id(
    sender: str, held_numbers: Collection[str], registered_names: Collection[str]
) -> Decision:
    """TERMS M6: a message is sent from a number the account holds or an alphanumeric
    sender ID registered to it, never anyone else's."""
    if sender in held_numbers or sender in registered_names:
        return ALLOWED
    return refuse(
        "sms.sender_not_owned",
        f"{sender!r} is not a number or sender ID of this account",
        sender=sender,
    )


# -- M7: bulk ----------------------------------------------------------------------------

BULK_RECIPIENTS = 100  # "hundreds of messages at once": more than 100 within a minute


def bulk(
    recipients_last_minute: int, *, business_plan: bool, limit: int = BULK_RECIPIENTS
) -> Decision:
    """TERMS M7: no bulk blasting on business phone plans (more than ``limit``
    recipients within a minute)."""
    if not business_plan or recipients_last_minute <= limit:
        return ALLOWED
    return refuse(
        "sms.bulk",
        f"{recipients_last_minute} recipients within a minute (limit {limit} on business plans)",
        recipients=recipients_last_minute,
        limit=limit,
    )


def a2p_campaign(sender: str, to_e164: str, campaign_id: str | None) -> Decision:
    """TERMS M7: US application-to-person traffic from a long code (an ordinary
    geographic or mobile US number) needs a registered 10DLC campaign; toll-free
    numbers, short codes and alphanumeric senders are registered otherwise."""
    if campaign_id or region_code(to_e164) != "US" or not sender.startswith("+1"):
        return ALLOWED
    if region_code(sender) != "US" or number_type(sender) == PhoneNumberType.TOLL_FREE:
        return ALLOWED
    return refuse(
        "sms.campaign_unregistered",
        f"{sender} sends to US numbers only once a 10DLC campaign is registered for it",
        sender=sender,
    )


# -- M8: mobile-number limits --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MobileUsage:
    """A mobile number's last 30 days."""

    sms_sent: int
    sms_received: int
    minutes_received: int
    distinct_recipients: int


@dataclass(frozen=True, slots=True)
class MobileLimits:
    """TERMS M8's four limits over 30 days."""

    sent_minus_received: int = 100
    sent: int = 3000
    minutes_received: int = 3000
    distinct_recipients: int = 500


def mobile_limits(usage: MobileUsage, limits: MobileLimits = MobileLimits()) -> list[Decision]:
    """TERMS M8: each limit the mobile number went over (flags for the operator)."""
    measures = (
        ("sent_minus_received", usage.sms_sent - usage.sms_received, limits.sent_minus_received),
        ("sent", usage.sms_sent, limits.sent),
        ("minutes_received", usage.minutes_received, limits.minutes_received),
        ("distinct_recipients", usage.distinct_recipients, limits.distinct_recipients),
    )
    return [
        refuse(
            "mobile.limit_exceeded",
            f"{name.replace('_', ' ')} over 30 days is {value} (limit {limit})",
            measure=name,
            value=value,
            limit=limit,
        )
        for name, value, limit in measures
        if value > limit
    ]


# -- M11: quotas ---------------------------------------------------------------------------

Notice = Literal["80%", "100%"]


def quota_notice(used: int, limit: int, already_sent: Collection[Notice] = ()) -> Notice | None:
    """TERMS M11: the notice due now (80 % then 100 % of ``limit``), once each."""
    if limit <= 0:
        return None
    if used * 100 >= limit * 100 and "100%" not in already_sent:
        return "100%"
    if used * 100 >= limit * 80 and "80%" not in already_sent and used < limit:
        return "80%"
    return None


def quota(used: int, limit: int, *, free_plan: bool) -> Decision:
    """TERMS M11: a free plan is suspended at its limit until upgraded."""
    if not free_plan or used < limit:
        return ALLOWED
    return refuse(
        "quota.exhausted", f"{used} of {limit} used on a free plan", used=used, limit=limit
    )
