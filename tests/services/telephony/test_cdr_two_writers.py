"""Issue 19: a CDR is written once even when two workers write it at once (a worker's
own record and a leader adopting the call, or a retry racing the first commit): the
unique (Call-ID, local tag) holds across connections, the loser gets the winner's row."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import accounts
from dialtone.services.telephony import calls
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord
from tests.database import migrated_database

T0 = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def _outcome(account: str, n: int, record_id: str) -> calls.CallOutcome:
    return calls.CallOutcome(
        account_id=account,
        direction="inbound",
        from_number="+14155550100",
        to_number="+33123456789",
        started_at=T0,
        answered_at=T0 + timedelta(seconds=1),
        ended_at=T0 + timedelta(seconds=30),
        status="completed",
        hangup_cause="caller-bye",
        sip_call_id=f"call-{n}",
        sip_local_tag="tag",
        record_id=record_id,
    )


def _write(
    factory: sessionmaker[Session],
    outcome: calls.CallOutcome,
    batch: bool,
    start: threading.Barrier,
    ids: list[str],
) -> None:
    start.wait()
    if batch:
        try:
            with transaction(factory) as session:
                calls.record_calls(session, [outcome])
            ids.append(outcome.record_id or "")
            return
        except Exception:
            pass
    with transaction(factory) as session:
        ids.append(calls.record_call(session, outcome).id)


@pytest.mark.parametrize("batch", [False, True], ids=["one by one", "group commit"])
def test_two_writers_of_one_call_leave_one_cdr(tmp_path: Path, batch: bool) -> None:
    _, factory = migrated_database(tmp_path / "db.sqlite")
    with transaction(factory) as session:
        account = accounts.create_account(session, "A", now=T0).account.id
    for n in range(10):
        start = threading.Barrier(2)
        ids: list[str] = []
        # Two writers, two record ids (each worker names its own), one call.
        writers = [
            threading.Thread(
                target=_write,
                args=(factory, _outcome(account, n, f"CA{n}w{w}"), batch, start, ids),
            )
            for w in (1, 2)
        ]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        assert len(ids) == 2
        assert len(set(ids)) == 1, ids  # both see the one record
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(CallRecord)) == 10
