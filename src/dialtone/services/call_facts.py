"""The facts of one call setup, read from the store in one session (issue 14, item 3).

The call engine and the dry run both ask :func:`gather` for an action's facts and hand
the one frozen :class:`~dialtone.policy.checklist.CallIntent` it returns to
:func:`dialtone.policy.checklist.checks`: the same reads, the same decision path. The
engine runs :func:`gather` in one thread hop (through its look-up cache, see
``EngineContext.gather_facts``); what only the running engine knows (the user's calls in
progress, V2) and the clock come in as arguments.

Reads are made only where the action's checks reach them: an extension is rung, not
checked further, so no do-not-call list or plan usage is read for it; an emergency
number reads the caller's registered location (V7) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from dialtone.policy import call_setup
from dialtone.policy.call_setup import HeldNumbers
from dialtone.policy.checklist import Action, CallIntent
from dialtone.policy.destinations import DestinationSettings, read_dialled
from dialtone.policy.emergency import (
    DEFAULT_ELIGIBLE_COUNTRIES,
    EmergencyCaller,
    is_emergency_number,
)
from dialtone.policy.fraud import AbuseState
from dialtone.services.accounts import accounts
from dialtone.services.billing import billing_checks
from dialtone.services.compliance import dnc, fair_use
from dialtone.services.numbering import numbers
from dialtone.services.telephony import routing, trunks
from dialtone.services.telephony import users as user_service
from dialtone.services.telephony.routing import Route
from dialtone.store.models import User


@dataclass(frozen=True, slots=True)
class OperatorPolicy:
    """The operator's side of the checks: destination lists (V5), default country (V6),
    where emergency calls are served (V7)."""

    destinations: DestinationSettings
    default_country: str
    emergency_countries: tuple[str, ...] = DEFAULT_ELIGIBLE_COUNTRIES


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What every call of an account is checked against, whatever it dials: its
    permissions (V5), country (V6), telemarketing (V12), abuse standing (F5), billing
    standing (B10), whether its plan limits calls (B4, B14, B15) and the numbers it holds
    (V10, N13). The engine caches it per account like any look-up."""

    account_id: str
    destinations: DestinationSettings
    country: str
    telemarketing: bool
    abuse: AbuseState
    billing_suspended_at: datetime | None
    plan_limits: bool
    held: HeldNumbers
    channels_per_user: int
    emergency_countries: tuple[str, ...]


def account_facts(session: Session, account_id: str, operator: OperatorPolicy) -> AccountFacts:
    """The account's side of every call's facts (raises ``account.not_found``)."""
    account = accounts.get_account(session, account_id)
    return AccountFacts(
        account_id=account_id,
        destinations=accounts.destination_settings(account, operator.destinations),
        country=accounts.dialling_country(account, operator.default_country),
        telemarketing=account.telemarketing,
        abuse=fair_use.abuse_state(account),
        billing_suspended_at=account.billing_suspended_at,
        plan_limits=billing_checks.has_call_limits(session, account_id),
        held=numbers.held_numbers(session, account_id),
        channels_per_user=account.channels_per_user,
        emergency_countries=operator.emergency_countries,
    )


@dataclass(frozen=True, slots=True)
class Setup:
    """The action whose facts are asked for (hashable: the engine's cache key).

    ``dialed``: what was dialled (a device's digits, click-to-call's ``to``, a REFER's
    Refer-To user part) or, for a forward, the E.164 target. ``user_id``: who places the
    call (a transfer: the transferor, when a user; their trial minutes count, B14).
    ``asked_caller_id``: the number asked to present (the phone's P-Asserted-Identity or
    From, the API's ``caller_id``, for a transfer the call's number), normalised."""

    action: Action
    account_id: str
    dialed: str | None
    user_id: str | None = None
    asked_caller_id: str | None = None


@dataclass(frozen=True, slots=True)
class Gathered:
    """An action's facts, and what the engine acts on once they pass: the extension's
    user (``callee``, a row of the session that read it), the route of one of our
    numbers a device dialled. ``fresh``: a read that must not be reused (a user, their
    location, the plan's usage), so the value is not cached whole."""

    intent: CallIntent
    account: AccountFacts
    callee: User | None
    route: Route | None
    fresh: bool


def gather(
    session: Session,
    setup: Setup,
    account: AccountFacts,
    *,
    now: datetime | None,
    active_calls: int = 0,
    channels: int | None = None,
) -> Gathered:
    """Every fact of ``setup``'s checks, read in ``session``: ``account`` is the
    account's side (:func:`account_facts`, perhaps cached); ``now`` the time of the call
    (F5, V12 hours, the plan's period; None in a dry run that skips them);
    ``active_calls`` and ``channels`` the calling user's (V2; ``channels`` None: read)."""
    dialed = (setup.dialed or "").strip()
    held = account.held
    base = CallIntent(
        dialed=dialed,
        e164=None,
        is_extension=False,
        country=account.country,
        destinations=account.destinations,
        active_calls=active_calls,
        channels=channels if channels is not None else _channels(session, setup, account),
        caller_id=setup.asked_caller_id,
        held_numbers=held.numbers,
        emergency_countries=account.emergency_countries,
        telemarketing=account.telemarketing,
        now=now,
        abuse=account.abuse,
        inbound_only_numbers=held.inbound_only,
        billing_suspended_at=account.billing_suspended_at,
    )
    reads = _Reads(session, setup, account, now)
    if setup.action is Action.DEVICE_CALL:
        intent = _device_call(reads, base)
    elif setup.action in (Action.CLICK_TO_CALL, Action.API_CALL):
        intent = _click_to_call(reads, base)
    elif setup.action is Action.TRANSFER:
        intent = _transfer(reads, base)
    elif setup.action is Action.FORWARD:
        active = bool(trunks.outbound_trunks(session, setup.account_id))
        intent = forward_intent(account, dialed, trunks_available=active)
    else:
        intent = base
    return Gathered(intent, account, reads.callee, reads.route, reads.fresh)


def forward_intent(account: AccountFacts, target: str, *, trunks_available: bool) -> CallIntent:
    """The facts of a forward to ``target``: the account's (V5) and whether a trunk can
    carry the call (N10; the engine knows it from the trunks it can reach, the dry run
    from the store's)."""
    return CallIntent(
        dialed=target,
        e164=target or None,
        is_extension=False,
        country=account.country,
        destinations=account.destinations,
        active_calls=0,
        channels=account.channels_per_user,
        caller_id=None,
        held_numbers=account.held.numbers,
        trunks_available=trunks_available,
    )


class _Reads:
    """The reads of one gathering, noting which make the result fresh."""

    def __init__(
        self, session: Session, setup: Setup, account: AccountFacts, now: datetime | None
    ) -> None:
        self.session = session
        self.setup = setup
        self.account = account
        self.now = now
        self.callee: User | None = None
        self.route: Route | None = None
        self.fresh = False

    def extension(self, dialed: str) -> bool:
        self.fresh = True  # a user's status and devices are read fresh, as before
        self.callee = user_service.find_by_extension(self.session, self.setup.account_id, dialed)
        return self.callee is not None

    def default_caller_id(self, held: tuple[str, ...]) -> str | None:
        """V10: the number routed to the user, else the account's first of ``held``."""
        user_id = self.setup.user_id
        own = routing.numbers_routed_to(self.session, user_id) if user_id is not None else []
        return call_setup.default_caller_id(own, held)

    def emergency_caller(self, caller_number: str | None) -> EmergencyCaller:
        """V7: what is registered of the user, read fresh (a location just registered
        counts)."""
        self.fresh = True
        user_id = self.setup.user_id
        if user_id is None:
            return EmergencyCaller(None, warning_acknowledged=False, caller_number=caller_number)
        user = user_service.get_user_by_id(self.session, user_id)
        return user_service.emergency_caller(user, caller_number)

    def outside(self, intent: CallIntent) -> CallIntent:
        """V12's list and the plan's usage for a call out to ``intent.e164``."""
        number = intent.e164
        if number is None:
            return intent
        listed = dnc.listed_by(self.session, self.setup.account_id, number)
        usage = None
        if self.account.plan_limits and self.now is not None:
            self.fresh = True
            usage = billing_checks.plan_usage(
                self.session, self.setup.account_id, self.setup.user_id, number, now=self.now
            )
        return replace(intent, dnc_listed_by=listed, plan=usage)


def _device_call(reads: _Reads, base: CallIntent) -> CallIntent:
    dialed, country = base.dialed, base.country
    if dialed and is_emergency_number(dialed, country):
        # The number presented: the one asked for when the account has it, else the
        # user's own, else the account's first (a caller-ID mistake must not stop it).
        held = tuple(
            n.number for n in numbers.list_numbers(reads.session, reads.account.account_id)
        )
        asked = base.caller_id
        shown = asked if asked in held else reads.default_caller_id(held)
        return replace(
            base, e164=dialed, caller_id=shown, emergency_caller=reads.emergency_caller(shown)
        )
    if dialed and not dialed.startswith("+") and reads.extension(dialed):
        return replace(base, is_extension=True)
    # A device's digits are read by its account's dialling plan (06…, 00…, a short
    # code), never made a number by putting + before them (V5).
    number = read_dialled(dialed, country) if dialed else None
    if number is not None and number.startswith("+"):
        reads.route = routing.route_for(reads.session, number)
    if reads.route is not None:
        return replace(base, e164=number, routed=True)
    shown = base.caller_id or reads.default_caller_id(reads.account.held.outbound)
    return reads.outside(replace(base, e164=number, caller_id=shown))


def _click_to_call(reads: _Reads, base: CallIntent) -> CallIntent:
    shown = base.caller_id or reads.default_caller_id(reads.account.held.outbound)
    intent = replace(base, caller_id=shown)
    if reads.extension(base.dialed):
        return replace(intent, is_extension=True)
    if is_emergency_number(base.dialed, base.country):
        # V7 as for a device's call; the trunks get the number as dialled.
        return replace(intent, e164=base.dialed, emergency_caller=reads.emergency_caller(shown))
    # Read by the account's dialling plan, as a device's call (V5).
    return reads.outside(replace(intent, e164=read_dialled(base.dialed, base.country)))


def _transfer(reads: _Reads, base: CallIntent) -> CallIntent:
    if reads.extension(base.dialed):
        return replace(base, is_extension=True)
    # The transferee is shown the call's number when it may be presented, else the
    # account's first that may (V10, N13).
    outbound = reads.account.held.outbound
    asked = base.caller_id
    shown = asked if asked in outbound else (outbound[0] if outbound else None)
    number = read_dialled(base.dialed, base.country)
    return reads.outside(replace(base, e164=number, caller_id=shown))


def _channels(session: Session, setup: Setup, account: AccountFacts) -> int:
    """V2: the user's channels (their override, else the account's)."""
    if setup.user_id is None:
        return account.channels_per_user
    user = session.get(User, setup.user_id)
    return user_service.channels_for(session, user) if user is not None else 1
