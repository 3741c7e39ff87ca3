"""The engine gathers an action's facts in one thread hop, through its look-up cache
(issue 14, item 3): a repeated outside call reuses them, a call that reads a user (an
extension) goes to the database each time, and the key holds what the facts depend on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dialtone.policy.checklist import Action, verdict
from dialtone.runtime.engine import CallEngine
from dialtone.runtime.setup_decision import setup_outcome
from dialtone.services.accounts import accounts
from dialtone.services.billing import subscriptions
from dialtone.services.call_facts import Setup
from dialtone.services.compliance import dnc
from dialtone.services.numbering import numbers
from dialtone.services.policy import check_call
from dialtone.services.telephony import users
from dialtone.store.db import transaction
from tests.runtime.conftest import T0

T = TypeVar("T")


def _hops(engine: CallEngine) -> list[int]:
    """Counts the engine's trips to the database thread (one item per hop)."""
    hops: list[int] = []
    read = engine.ctx.read

    async def counting(fn: Callable[[Session], T]) -> T:
        hops.append(1)
        return await read(fn)

    engine.ctx.read = counting  # type: ignore[method-assign]
    return hops


def test_one_hop_per_action_and_the_cache_where_nothing_is_read_fresh(
    sessions: sessionmaker[Session], engine: CallEngine
) -> None:
    with transaction(sessions) as session:
        account = accounts.create_account(session, "Acme", now=T0).account.id
        numbers.add_number(session, account, "+33123456789", now=T0)
        alice = users.create_user(
            session, account, name="Alice", now=T0, extension="201", realm="dialtone"
        ).id
    hops = _hops(engine)

    async def scenario() -> None:
        outside = Setup(Action.DEVICE_CALL, account, "+33612345678", alice)
        first = await engine.ctx.gather_facts(outside, channels=1)
        assert len(hops) == 1  # account, caller ID, do-not-call list: one session
        assert await engine.ctx.gather_facts(outside, channels=1) == first
        assert len(hops) == 1  # the same setup again: from the cache
        # The key holds the caller ID asked for: another number, another gathering
        # (the account's side comes from the cache, inside the same one hop).
        asked = Setup(Action.DEVICE_CALL, account, "+33612345678", alice, "+33999")
        assert (await engine.ctx.gather_facts(asked, channels=1))[0].caller_id == "+33999"
        assert len(hops) == 2
        # An extension reads the user (their status, their devices): fresh every time.
        colleague = Setup(Action.DEVICE_CALL, account, "201", alice)
        intent, callee, _, _ = await engine.ctx.gather_facts(colleague, channels=1)
        await engine.ctx.gather_facts(colleague, channels=1)
        assert len(hops) == 4
        assert intent.is_extension
        assert callee is not None
        assert callee.id == alice

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "dialed",
    ["201", "+33612345678", "0612345678", "0899123456", "+442071838750", "112", "2901", "abc"],
)
@pytest.mark.parametrize("plan", [None, "prepaid", "trial"])
def test_the_dry_run_and_the_engine_gather_and_decide_alike(
    sessions: sessionmaker[Session],
    engine: CallEngine,
    dialed: str,
    plan: str | None,
) -> None:
    # The same store, the same call: POST /v1/policy/check's verdict is what the engine
    # does with the facts it gathers itself.
    with transaction(sessions) as session:
        account = accounts.create_account(session, "Acme", now=T0).account.id
        numbers.add_number(session, account, "+33123456789", now=T0)
        alice = users.create_user(
            session, account, name="Alice", now=T0, extension="201", realm="dialtone"
        ).id
        dnc.import_csv(session, account, "+33612345678\n", now=T0)
        if plan is not None:
            subscriptions.subscribe(
                session, account, plan_code=plan, currency="EUR", country="FR", now=T0
            )

    async def engine_side() -> tuple[str | None, int | None]:
        setup = Setup(Action.DEVICE_CALL, account, dialed, alice)
        intent = (await engine.ctx.gather_facts(setup, channels=1)).intent
        done = setup_outcome(Action.DEVICE_CALL, replace(intent, now=T0))
        if done.refusal is None:
            return None, None
        return done.refusal.decision.code, done.sip_status()

    code, status = asyncio.run(engine_side())
    with transaction(sessions) as session:
        results = check_call(
            session, account, to=dialed, operator=engine.operator, user_id=alice, now=T0
        )
    first = verdict(results)
    assert first.code == code
    if code is not None:
        assert first.sip_status() == status
