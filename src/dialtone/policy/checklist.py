"""Every check an intended action goes through, each with its outcome.

The call engine runs the same checks one by one as its look-ups come in and stops at
the first refusal; the dry run (``POST /v1/policy/check``) and the benchmark run them
all here, from plain inputs, so an operator sees every rule that applies and which one
refuses.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from dialtone.policy.billing import standing as billing_standing
from dialtone.policy.call_setup import caller_id, user_concurrency
from dialtone.policy.decision import ALLOWED, Decision
from dialtone.policy.destinations import (
    DestinationSettings,
    destination,
    dialling,
    short_code_destination,
    valid_number,
)
from dialtone.policy.emergency import (
    DEFAULT_ELIGIBLE_COUNTRIES,
    EmergencyCaller,
    emergency_call,
    is_emergency_number,
)
from dialtone.policy.fraud import AbuseState, standing
from dialtone.policy.messaging import (
    Consent,
    age_restricted,
    bulk,
    message_words,
    quota,
    segments,
    sender_id,
    sms_consent,
    sms_content,
    sms_destination,
)
from dialtone.policy.telemarketing import calling_window, do_not_call

_NO_ABUSE = AbuseState()
_NO_LOCATION = EmergencyCaller(
    location_country=None, warning_acknowledged=False, caller_number=None
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check (``name``), the TERMS rules it applies and what it decided."""

    name: str
    rules: tuple[str, ...]
    decision: Decision


@dataclass(frozen=True, slots=True)
class CallIntent:
    """An outbound call as the checks see it: what was dialled (and whether it is one of
    the account's extensions), what it reads as by the account's dialling plan
    (``destinations.read_dialled``: E.164, a short code, None), the account's country and
    destination permissions, the user's calls in progress and channels, the caller ID and
    the numbers the account holds; for an emergency number, what V7 knows of the caller
    and where the operator serves emergency calls."""

    dialed: str
    e164: str | None
    is_extension: bool
    country: str
    destinations: DestinationSettings
    active_calls: int
    channels: int
    caller_id: str | None
    held_numbers: Collection[str]
    emergency_caller: EmergencyCaller = _NO_LOCATION
    emergency_countries: Collection[str] = DEFAULT_ELIGIBLE_COUNTRIES
    # V12: the do-not-call list the number is on, whether the account telemarkets, and
    # the time of the call (calling hours).
    dnc_listed_by: str | None = None
    telemarketing: bool = False
    now: datetime | None = None
    # F5: where the account stands after a suspension for abuse.
    abuse: AbuseState = _NO_ABUSE
    # N13: held numbers that may not be presented on outbound calls.
    inbound_only_numbers: Collection[str] = ()
    # B10: when the account was suspended for unpaid invoices.
    billing_suspended_at: datetime | None = None


def call_checks(intent: CallIntent) -> list[CheckResult]:
    """The checks of an outbound call, in the engine's order: an emergency number meets
    V7 alone (a user on a call may still call for help); otherwise B10 an account
    suspended for unpaid invoices, V2 one call per user,
    and for an outside number V6 dialling, V5 destination and a valid number
    (``number_checks``), F5 a suspended or terminated
    unlimited plan, V12 do-not-call lists and (telemarketing) calling hours, and
    V10/N13 caller ID."""
    if not intent.is_extension and is_emergency_number(intent.dialed, intent.country):
        decision = emergency_call(
            intent.dialed, intent.emergency_caller, eligible_countries=intent.emergency_countries
        )
        return [CheckResult("emergency", ("V7",), decision)]
    results = []
    if intent.billing_suspended_at is not None:  # listed only when it can refuse, as F5
        suspended = billing_standing(intent.billing_suspended_at)
        results.append(CheckResult("billing_standing", ("B10",), suspended))
    results.append(
        CheckResult("concurrency", ("V2",), user_concurrency(intent.active_calls, intent.channels))
    )
    if intent.is_extension:
        return results
    results.append(CheckResult("dialling", ("V6",), dialling(intent.dialed, intent.country)))
    results.extend(
        number_checks(intent.e164, intent.country, intent.destinations, dialed=intent.dialed)
    )
    if intent.e164 is not None:
        if intent.now is not None:
            results.append(CheckResult("fair_use", ("F5",), standing(intent.abuse, intent.now)))
        listed = do_not_call(
            intent.dnc_listed_by, telemarketing=intent.telemarketing, number=intent.e164
        )
        results.append(CheckResult("do_not_call", ("V12",), listed))
        if intent.telemarketing and intent.now is not None:
            hours = calling_window(intent.e164, intent.now)
            results.append(CheckResult("calling_window", ("V12",), hours))
    results.append(
        CheckResult(
            "caller_id",
            ("V10", "N13"),
            caller_id(intent.caller_id, intent.held_numbers, intent.inbound_only_numbers),
        )
    )
    return results


def number_checks(
    number: str | None,
    country: str,
    settings: DestinationSettings,
    *,
    dialed: str | None = None,
) -> list[CheckResult]:
    """TERMS V5 for an outside number, as ``destinations.read_dialled`` read ``dialed``
    by ``country``'s dialling plan: its destination (premium-rate, high-cost and the
    operator's prefixes, whatever the number's length; a short code by its cost), then
    whether it is a valid number at all. The call engine takes their verdict before a
    call goes to a trunk (a device's call, click-to-call, a transfer); the dry run shows
    both."""
    if number is None:
        allowed = ALLOWED
    elif number.startswith("+"):
        allowed = destination(number, settings)
    else:
        allowed = short_code_destination(number, country, settings)
    return [
        CheckResult("destination", ("V5",), allowed),
        CheckResult("number", ("V5",), valid_number(number, country, dialed)),
    ]


def forward_checks(e164: str, settings: DestinationSettings) -> list[CheckResult]:
    """The checks of a forward to ``e164``: V5 destination (N10, an active endpoint, is
    the store's to say and checked when the route is set)."""
    return [CheckResult("destination", ("V5",), destination(e164, settings))]


def verdict(results: Sequence[CheckResult]) -> Decision:
    """The first refusal among ``results``, or ALLOWED."""
    for result in results:
        if result.decision.refused:
            return result.decision
    return ALLOWED


@dataclass(frozen=True, slots=True)
class SmsIntent:
    """An outgoing SMS as the messaging checks see it (TERMS M1, M3–M7, M11)."""

    sender: str
    to: str
    text: str
    account_country: str
    business_plan: bool
    held_numbers: Collection[str]
    sender_names: Collection[str]
    consent: Consent | None
    marketing: bool
    opted_out_at: datetime | None
    recipient_local: datetime
    recipient_of_age: bool
    recipients_last_minute: int
    used: int
    limit: int
    free_plan: bool
    now: datetime


def sms_checks(intent: SmsIntent) -> list[CheckResult]:
    """Every check an SMS goes through: M6 sender, M1 destination and length, M3
    consent and opt-out, M4 content, M5 age-restricted topics, M7 bulk, M11 quota."""
    parts = segments(intent.text).parts
    words = message_words(intent.text)
    return [
        CheckResult(
            "sender", ("M6",), sender_id(intent.sender, intent.held_numbers, intent.sender_names)
        ),
        CheckResult(
            "destination",
            ("M1",),
            sms_destination(
                intent.to, intent.account_country, business_plan=intent.business_plan, parts=parts
            ),
        ),
        CheckResult(
            "consent",
            ("M3",),
            sms_consent(
                intent.to,
                intent.consent,
                marketing=intent.marketing,
                opted_out_at=intent.opted_out_at,
                now=intent.now,
            ),
        ),
        CheckResult(
            "content",
            ("M4",),
            sms_content(intent.text, business_plan=intent.business_plan, words=words),
        ),
        CheckResult(
            "age_restricted",
            ("M5",),
            age_restricted(
                intent.text,
                intent.recipient_local,
                recipient_of_age=intent.recipient_of_age,
                words=words,
            ),
        ),
        CheckResult(
            "bulk",
            ("M7",),
            bulk(intent.recipients_last_minute, business_plan=intent.business_plan),
        ),
        CheckResult(
            "quota", ("M11",), quota(intent.used, intent.limit, free_plan=intent.free_plan)
        ),
    ]
