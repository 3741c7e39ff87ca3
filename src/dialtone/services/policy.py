"""Dry runs of the terms engine: the checks an action would go through, without acting.

The facts are gathered as the call engine gathers them (``services.call_facts``) and
run through the same ordered checks (``policy.checklist.checks``), all of them
evaluated where the engine stops at the first refusal. The caller supplies what only the
running engine knows (the user's calls in progress). Nothing is written: a dry run is
not audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy.checklist import Action, CheckResult, checks
from dialtone.services import call_facts
from dialtone.services.call_facts import OperatorPolicy
from dialtone.services.numbering import numbers
from dialtone.services.telephony import users

__all__ = ["ACTIONS", "OperatorPolicy", "check_call", "check_forward"]

ACTIONS = ("call", "click_to_call", "api_call", "transfer", "forward")


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
    action: Action = Action.DEVICE_CALL,
) -> list[CheckResult]:
    """Every check a call to ``to`` (an extension or a number) would go through, as
    ``action`` (a device's call by default; click-to-call, a transfer), placed by
    ``user_id`` (its channels and calls in progress count, V2) with ``caller_id``
    (default: the number routed to the user, else the account's first), at ``now`` (F5,
    a telemarketing account's calling hours, the plan's period for B4/B14/B15; None
    skips them)."""
    dialed = to.strip()
    if not dialed:
        raise DialtoneError("request.invalid", "to: an extension or a number.")
    if user_id is not None:
        users.get_user(session, account_id, user_id)  # user.not_found, as the API says
    asked = (numbers.dialed_to_e164(caller_id) or caller_id) if caller_id is not None else None
    account = call_facts.account_facts(session, account_id, operator)
    setup = call_facts.Setup(action, account_id, dialed, user_id, asked)
    gathered = call_facts.gather(
        session,
        setup,
        account,
        now=now,
        active_calls=active_calls(user_id) if user_id is not None else 0,
    )
    return list(checks(action, gathered.intent))


def check_forward(
    session: Session, account_id: str, *, to: str, operator: OperatorPolicy
) -> list[CheckResult]:
    """The checks a forward of one of the account's numbers to ``to`` would go through
    when a call rings it: V5 destination, N10 a trunk to carry it."""
    e164 = numbers.to_e164(to)
    account = call_facts.account_facts(session, account_id, operator)
    setup = call_facts.Setup(Action.FORWARD, account_id, e164)
    gathered = call_facts.gather(session, setup, account, now=None)
    return list(checks(Action.FORWARD, gathered.intent))
