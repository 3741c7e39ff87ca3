"""An application's Bridge/Transfer target resolved by the engine (issue 14, item 2): a
number goes through the policy decision path with the transfer action, refused with the
code a direct call gets (once on the audit log); an unknown user or group reaches no
one."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.b2bua import TransferRefused
from dialtone.runtime.engine import CallEngine
from dialtone.services.accounts import accounts
from dialtone.services.numbering import numbers
from dialtone.store.db import transaction
from dialtone.store.models import Account
from tests.runtime.conftest import T0, Audit


def _account(sessions: sessionmaker[Session], *, suspended: bool) -> str:
    with transaction(sessions) as session:
        account = accounts.create_account(session, "Acme", now=T0).account
        numbers.add_number(session, account.id, "+33123456789", now=T0)
        if suspended:
            session.get(Account, account.id).billing_suspended_at = T0  # type: ignore[union-attr]
        return account.id


def _call(account_id: str) -> Any:
    """The engine's view of an application's call from outside to our number."""
    return SimpleNamespace(
        account_id=account_id,
        record_id="CA1",
        from_number="+33611111111",
        to_number="+33123456789",
        a=None,
        b=None,
        call=SimpleNamespace(spec=SimpleNamespace(user_id=None)),
    )


def test_a_number_of_a_suspended_account_is_refused_with_the_direct_calls_code(
    sessions: sessionmaker[Session], engine: CallEngine, audit: Audit
) -> None:
    call = _call(_account(sessions, suspended=True))
    with pytest.raises(TransferRefused) as refused:
        asyncio.run(engine.entries.application_steps(call, "+33612345678"))
    assert refused.value.reason == "billing.suspended"
    assert refused.value.status >= 400
    assert [e.code for e in audit.entries] == ["billing.suspended"]


@pytest.mark.parametrize("target", ["user:US-nobody", "group:RG-nobody"])
def test_an_unknown_user_or_group_reaches_no_one(
    sessions: sessionmaker[Session], engine: CallEngine, audit: Audit, target: str
) -> None:
    call = _call(_account(sessions, suspended=False))
    assert asyncio.run(engine.entries.application_steps(call, target)) == []
    assert audit.entries == []
