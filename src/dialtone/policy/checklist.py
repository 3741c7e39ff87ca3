"""Every check an intended action goes through, in order, each with its outcome: the
one decision path of the call engine and of the dry run.

:func:`checks` yields the checks of an :class:`Action` from one frozen value of facts
(:class:`CallIntent`, gathered once by ``services.call_facts``). The engine consumes it
lazily and stops at the first refusal (:func:`verdict`); the dry run
(``POST /v1/policy/check``, ``dialtone policy check``) and the benchmark evaluate them
all, so an operator sees every rule that applies and which one refuses. The order is
written here only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dialtone.policy.billing import PlanUsage, call_limits
from dialtone.policy.billing import standing as billing_standing
from dialtone.policy.call_setup import caller_id, forward_target, user_concurrency
from dialtone.policy.decision import ALLOWED, Decision, refuse
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
    BULK_RECIPIENTS,
    Consent,
    a2p_campaign,
    age_restricted,
    bulk,
    message_words,
    messaging_standing,
    quota,
    registries,
    segments,
    sender_id,
    sms_consent,
    sms_content,
    sms_destination,
)
from dialtone.policy.telemarketing import calling_window, do_not_call


class Action(StrEnum):
    """What the checks are asked about.

    - ``inbound_call``: a call to one of the platform's numbers (from a trunk or the
      public); no terms check applies at setup today, the shape is kept for those to come.
    - ``device_call``: a registered device dials (an extension, one of our numbers, an
      outside or an emergency number).
    - ``click_to_call``: ``POST /v1/calls`` rings the user, then calls the target.
    - ``forward``: a number's forward route rings an outside number.
    - ``transfer``: a REFER's target, checked like a direct call of the account; an
      application's ``Bridge`` (TwiML's ``<Dial>``) is checked the same way.
    - ``api_call``: a call the account places with no device of its own (the
      Twilio-compatible ``POST …/Calls.json``), run by an application once answered.

    SMS keeps :func:`sms_checks` (its facts are a message's, not a call's).
    """

    INBOUND_CALL = "inbound_call"
    DEVICE_CALL = "device_call"
    CLICK_TO_CALL = "click_to_call"
    FORWARD = "forward"
    TRANSFER = "transfer"
    API_CALL = "api_call"


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
    # A device's call to one of the platform's numbers that has a route: it is rung like
    # an inbound call, so after V6 no outside-number check applies.
    routed: bool = False
    # B14, B15, B4: the plan's limits and usage (None: the plan limits no call).
    plan: PlanUsage | None = None
    # N10, for a forward: whether a trunk can carry the call out.
    trunks_available: bool = True


def checks(action: Action, intent: CallIntent) -> Iterator[CheckResult]:
    """The checks of ``action`` on ``intent``'s facts, in the order the engine applies
    them, each decided as it is yielded (pure: a consumer that stops at the first refusal
    evaluates nothing after it). The orders, by action:

    - device call: an emergency number meets V7 alone (a user on a call may still call
      for help); otherwise B10 an account suspended for unpaid invoices, V2 one call per
      user; an extension stops there, V6 dialling, one of our routed numbers stops
      there; then the outside-number checks (:func:`outside_checks`: V5, F5, V12,
      B14/B15/B4) and V10/N13 caller ID.
    - click-to-call: B10, V2, V10/N13 (the caller ID is shown on the user's device
      first); an extension stops there; an emergency number meets V7; otherwise V6, a
      number at all, the outside-number checks.
    - forward: V5 destination, N10 an active endpoint (a trunk that can carry it).
    - transfer to a number: as a direct call of the account (B10, V6, the outside-number
      checks, V10 caller ID); V2 does not apply (no new call of a user begins). A
      transfer to an extension meets no check.
    - api call: B10, V10/N13 (the caller ID is the call's only party before the
      callee); an extension stops there; an emergency number meets V7 (no device, no
      location: refused); otherwise V6, a number at all, the outside-number checks. V2
      does not apply: no user places it.
    - inbound call: none.
    """
    if action is Action.DEVICE_CALL:
        return _device_call(intent)
    if action is Action.CLICK_TO_CALL:
        return _click_to_call(intent)
    if action is Action.FORWARD:
        return _forward(intent)
    if action is Action.TRANSFER:
        return _transfer(intent)
    if action is Action.API_CALL:
        return _api_call(intent)
    return iter(())


def call_checks(intent: CallIntent) -> list[CheckResult]:
    """Every check of a device's call (:func:`checks` of ``device_call``), all evaluated."""
    return list(checks(Action.DEVICE_CALL, intent))


def _emergency(intent: CallIntent) -> CheckResult:
    decision = emergency_call(
        intent.dialed, intent.emergency_caller, eligible_countries=intent.emergency_countries
    )
    return CheckResult("emergency", ("V7",), decision)


def _standing(intent: CallIntent) -> Iterator[CheckResult]:
    if intent.billing_suspended_at is not None:  # listed only when it can refuse, as F5
        suspended = billing_standing(intent.billing_suspended_at)
        yield CheckResult("billing_standing", ("B10",), suspended)


def _concurrency(intent: CallIntent) -> CheckResult:
    decision = user_concurrency(intent.active_calls, intent.channels)
    return CheckResult("concurrency", ("V2",), decision)


def _caller_id(intent: CallIntent) -> CheckResult:
    decision = caller_id(intent.caller_id, intent.held_numbers, intent.inbound_only_numbers)
    return CheckResult("caller_id", ("V10", "N13"), decision)


def _dialling(intent: CallIntent) -> CheckResult:
    return CheckResult("dialling", ("V6",), dialling(intent.dialed, intent.country))


def _device_call(intent: CallIntent) -> Iterator[CheckResult]:
    if intent.dialed and is_emergency_number(intent.dialed, intent.country):
        yield _emergency(intent)
        return
    yield from _standing(intent)
    yield _concurrency(intent)
    if intent.is_extension:
        return
    if intent.dialed:
        yield _dialling(intent)
    if intent.routed:
        return
    yield from outside_checks(intent)
    yield _caller_id(intent)


def _click_to_call(intent: CallIntent) -> Iterator[CheckResult]:
    yield from _standing(intent)
    yield _concurrency(intent)
    yield from _placed_by_the_account(intent)


def _api_call(intent: CallIntent) -> Iterator[CheckResult]:
    yield from _standing(intent)
    yield from _placed_by_the_account(intent)


def _placed_by_the_account(intent: CallIntent) -> Iterator[CheckResult]:
    """Click-to-call's and an API call's checks after the placer's own."""
    yield _caller_id(intent)
    if intent.is_extension:
        return
    if is_emergency_number(intent.dialed, intent.country):
        yield _emergency(intent)
        return
    yield _dialling(intent)
    if intent.e164 is None:
        invalid = refuse(
            "call.destination_invalid",
            f"{intent.dialed!r} is neither an extension nor a number.",
        )
        yield CheckResult("number", (), invalid)
        return
    yield from outside_checks(intent)


def _forward(intent: CallIntent) -> Iterator[CheckResult]:
    target = intent.e164 or intent.dialed
    yield from forward_checks(target, intent.destinations, active=intent.trunks_available)


def _transfer(intent: CallIntent) -> Iterator[CheckResult]:
    if intent.is_extension:
        return
    yield from _standing(intent)
    yield _dialling(intent)
    yield from outside_checks(intent)
    yield _caller_id(intent)


def outside_checks(intent: CallIntent) -> Iterator[CheckResult]:
    """The checks of a call out to an outside number, whoever places it: V5 destination
    and a valid number (:func:`number_checks`), then, for a number, F5 a suspended or
    terminated unlimited plan, V12 do-not-call lists and (telemarketing accounts) the
    callee's calling hours, and the plan's limits B14 trial, B15 SMART contacts, B4
    prepaid credit."""
    yield from number_checks(intent.e164, intent.country, intent.destinations, dialed=intent.dialed)
    number = intent.e164
    if number is None:
        return
    if intent.now is not None:
        yield CheckResult("fair_use", ("F5",), standing(intent.abuse, intent.now))
    listed = do_not_call(intent.dnc_listed_by, telemarketing=intent.telemarketing, number=number)
    yield CheckResult("do_not_call", ("V12",), listed)
    if intent.telemarketing and intent.now is not None:
        yield CheckResult("calling_window", ("V12",), calling_window(number, intent.now))
    if intent.plan is not None:
        for name, rule, decision in call_limits(intent.plan, number, country=intent.country):
            yield CheckResult(name, (rule,), decision)


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


def forward_checks(
    e164: str, settings: DestinationSettings, *, active: bool = True
) -> list[CheckResult]:
    """The checks of a forward to ``e164``: V5 destination (again at call time: the
    permissions may have changed since the route was set), then N10 an active endpoint
    (``active``: a trunk can carry the call out)."""
    return [
        CheckResult("destination", ("V5",), destination(e164, settings)),
        CheckResult("endpoint", ("N10",), forward_target(active, e164)),
    ]


def first_refusal(results: Iterable[CheckResult]) -> CheckResult | None:
    """The first refusing check of ``results``, consumed no further than it, or None."""
    for result in results:
        if result.decision.refused:
            return result
    return None


def verdict(results: Iterable[CheckResult]) -> Decision:
    """The first refusal among ``results`` (consumed no further), or ALLOWED."""
    found = first_refusal(results)
    return ALLOWED if found is None else found.decision


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
    # The register the recipient is on (M3), and the sender's 10DLC campaign (M7).
    listed_on: str | None = None
    campaign_id: str | None = None
    max_parts: int = 10
    bulk_limit: int = BULK_RECIPIENTS
    # M3: when the account's messaging was suspended for a proof of consent overdue.
    suspended_at: datetime | None = None


def sms_checks(intent: SmsIntent) -> list[CheckResult]:
    """Every check an SMS goes through, in order: M3 the account's standing (a proof of
    consent overdue), M6 sender, M1 destination and length,
    M3 opt-out and consent, M3 registers, M4 content, M5 age-restricted topics, M7 bulk
    and 10DLC campaign, M11 quota."""
    parts = segments(intent.text).parts
    words = message_words(intent.text)
    return [
        CheckResult("standing", ("M3",), messaging_standing(intent.suspended_at)),
        CheckResult(
            "sender", ("M6",), sender_id(intent.sender, intent.held_numbers, intent.sender_names)
        ),
        CheckResult(
            "destination",
            ("M1",),
            sms_destination(
                intent.to,
                intent.account_country,
                business_plan=intent.business_plan,
                max_parts=intent.max_parts,
                parts=parts,
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
        CheckResult("registers", ("M3",), registries(intent.to, intent.listed_on)),
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
            bulk(
                intent.recipients_last_minute,
                business_plan=intent.business_plan,
                limit=intent.bulk_limit,
            ),
        ),
        CheckResult(
            "campaign", ("M7",), a2p_campaign(intent.sender, intent.to, intent.campaign_id)
        ),
        CheckResult(
            "quota", ("M11",), quota(intent.used, intent.limit, free_plan=intent.free_plan)
        ),
    ]
