"""Dry runs of the terms engine: the checks an action would go through, without acting.

The store supplies what the checks need (the account's permissions and country, its
numbers, the user's channels); the caller supplies what only the running engine knows
(the user's calls in progress). Nothing is written: a dry run is not audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy import call_setup, checklist
from dialtone.policy.checklist import CallIntent, CheckResult
from dialtone.policy.destinations import DestinationSettings, read_dialled
from dialtone.policy.emergency import DEFAULT_ELIGIBLE_COUNTRIES, EmergencyCaller
from dialtone.services.accounts import accounts
from dialtone.services.compliance import dnc, fair_use
from dialtone.services.numbering import numbers
from dialtone.services.telephony import routing, users

ACTIONS = ("call", "forward")


@dataclass(frozen=True, slots=True)
class OperatorPolicy:
    """The operator's side of the checks: destination lists (V5), default country (V6)."""

    destinations: DestinationSettings
    default_country: str
    emergency_countries: tuple[str, ...] = DEFAULT_ELIGIBLE_COUNTRIES


def check_call(
    session: Session,
    account_id: str,
    *,
    to: str,
    operator: OperatorPolicy,
    user_id: str | None = None,
    caller_id: str | None = None,
    active_calls: Callable[[str], int] = lambda _: 0,
    now: datetime | None = None,
) -> list[CheckResult]:
    """Every check an outbound call to ``to`` (an extension or a number) would go
    through, placed by ``user_id`` (its channels and calls in progress count, V2) with
    ``caller_id`` (default: the number routed to the user, else the account's first), at
    ``now`` (a telemarketing account's calling hours; None skips them)."""
    account = accounts.get_account(session, account_id)
    user = users.get_user(session, account_id, user_id) if user_id is not None else None
    holding = numbers.held_numbers(session, account_id)
    held = list(holding.numbers)
    if caller_id is None:
        own = routing.numbers_routed_to(session, user.id) if user is not None else []
        caller_id = call_setup.default_caller_id(own, holding.outbound)
    else:
        caller_id = numbers.dialed_to_e164(caller_id) or caller_id
    dialed = to.strip()
    if not dialed:
        raise DialtoneError("request.invalid", "to: an extension or a number.")
    is_extension = users.find_by_extension(session, account_id, dialed) is not None
    country = accounts.dialling_country(account, operator.default_country)
    # Read by the account's dialling plan, as the call engine reads it (V5, V6).
    e164 = None if is_extension else read_dialled(dialed, country)
    channels = account.channels_per_user if user is None else users.channels_for(session, user)
    intent = CallIntent(
        dialed=dialed,
        e164=e164,
        is_extension=is_extension,
        country=country,
        destinations=accounts.destination_settings(account, operator.destinations),
        active_calls=active_calls(user.id) if user is not None else 0,
        channels=channels,
        caller_id=caller_id,
        held_numbers=held,
        emergency_caller=(
            users.emergency_caller(user, caller_id)
            if user is not None
            else EmergencyCaller(None, warning_acknowledged=False, caller_number=caller_id)
        ),
        emergency_countries=operator.emergency_countries,
        dnc_listed_by=dnc.listed_by(session, account_id, e164) if e164 is not None else None,
        telemarketing=account.telemarketing,
        now=now,
        abuse=fair_use.abuse_state(account),
        inbound_only_numbers=holding.inbound_only,
        billing_suspended_at=account.billing_suspended_at,
    )
    return checklist.call_checks(intent)


def check_forward(
    session: Session, account_id: str, *, to: str, operator: OperatorPolicy
) -> list[CheckResult]:
    """The checks a forward of one of the account's numbers to ``to`` would go through."""
    account = accounts.get_account(session, account_id)
    e164 = numbers.to_e164(to)
    allowed = accounts.destination_settings(account, operator.destinations)
    return checklist.forward_checks(e164, allowed)
