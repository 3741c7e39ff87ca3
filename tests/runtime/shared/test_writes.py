"""The look-up cache's invalidation hook: a commit that changed what the cache holds
tells ``on_change`` once, after the commit; a rollback, a read, or a commit of traffic
tables alone (a call's record, an audit entry) tells nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.shared.writes import watch_writes
from dialtone.services.accounts import accounts
from dialtone.services.telephony import trunks
from dialtone.store.models import Account, AuditEvent
from tests.database import migrated_database

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    _, factory = migrated_database(tmp_path / "writes.db")
    return factory


def _account(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return accounts.create_account(session, "Acme", now=NOW).account.id


def test_a_committed_change_tells_once_after_the_commit(sessions: sessionmaker[Session]) -> None:
    account_id = _account(sessions)
    told: list[bool] = []
    remove = watch_writes(sessions, lambda: told.append(True))
    with sessions() as session:
        trunks.create_trunk(session, account_id=account_id, name="t", host="192.0.2.1", now=NOW)
        session.flush()
        assert told == []  # flushed, not committed
        session.commit()
    assert told == [True]
    remove()
    with sessions.begin() as session:
        trunks.create_trunk(session, account_id=account_id, name="u", host="192.0.2.2", now=NOW)
    assert told == [True]  # removed: no longer told


@pytest.mark.parametrize(
    "what",
    ["rolled back", "read only", "traffic only", "orm update", "orm delete of traffic"],
)
def test_what_tells_and_what_does_not(sessions: sessionmaker[Session], what: str) -> None:
    account_id = _account(sessions)
    told: list[bool] = []
    watch_writes(sessions, lambda: told.append(True))
    with sessions() as session:
        if what == "rolled back":
            trunks.create_trunk(session, account_id=account_id, name="t", host="192.0.2.1", now=NOW)
            session.flush()
            session.rollback()
            session.commit()
        elif what == "read only":
            session.get(Account, account_id)
            session.commit()
        elif what == "traffic only":
            session.execute(delete(AuditEvent))
            session.commit()
        elif what == "orm update":
            session.execute(update(Account).where(Account.id == account_id).values(name="B"))
            session.commit()
        elif what == "orm delete of traffic":
            session.execute(delete(AuditEvent).where(AuditEvent.account_id == account_id))
            session.commit()
    assert told == ([True] if what == "orm update" else [])
