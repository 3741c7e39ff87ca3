"""Two writers at once (two workers on one PostgreSQL database, issue 19): what must be
stored once is stored once, and the second writer gets the answer it would get coming
second, not an error. On SQLite the same tests pass through its single writer.

The first writer writes and holds its transaction open until the second has started
(the second's insert then waits on the first's uncommitted row, on PostgreSQL), then
commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.rating.ledger import Posting, Transaction
from dialtone.services.accounts import accounts
from dialtone.services.billing import ledger, usage
from dialtone.services.telephony import calls
from dialtone.services.telephony.calls import CallOutcome
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord, LedgerEntry, UsageEvent
from tests.database import migrated_database

from .conftest import T0

HOLD_S = 0.6  # how long the first keeps its transaction open after the second started


def _race(factory: sessionmaker[Session], work: Callable[[Session], Any]) -> list[Any]:
    """``work`` in two transactions that overlap as described above; both results."""
    results: list[Any] = [None, None]
    errors: list[BaseException] = []
    first_wrote = threading.Event()

    def first() -> None:
        try:
            with transaction(factory) as session:
                results[0] = work(session)
                session.flush()
                first_wrote.set()
                time.sleep(HOLD_S)
        except BaseException as exc:
            errors.append(exc)
        finally:
            first_wrote.set()

    def second() -> None:
        first_wrote.wait()
        try:
            with transaction(factory) as session:
                results[1] = work(session)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def _database(tmp_path: Path) -> tuple[sessionmaker[Session], str]:
    _, factory = migrated_database(tmp_path / "race.db")
    with transaction(factory) as session:
        account = accounts.create_account(session, "Acme", now=T0).account.id
    return factory, account


def _count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_two_workers_recording_one_call_store_one_cdr(tmp_path: Path) -> None:
    factory, account = _database(tmp_path)
    outcome = CallOutcome(
        account_id=account, direction="inbound", from_number="+14155550100",
        to_number="+33123456789", started_at=T0, answered_at=T0,
        ended_at=T0 + timedelta(seconds=30), status="completed", hangup_cause="bye",
        sip_call_id="race-1", sip_local_tag="t1",
    )  # fmt: skip
    ids = _race(factory, lambda s: calls.record_call(s, outcome).id)
    assert ids[0] == ids[1]
    assert _count(factory, CallRecord) == 1


def test_two_workers_posting_one_ledger_key_post_it_once(tmp_path: Path) -> None:
    factory, _ = _database(tmp_path)
    tx = Transaction(
        "race:1",
        T0,
        "credit",
        (Posting("cash", Decimal("10"), "EUR"), Posting("credit:AC1", Decimal("-10"), "EUR")),
    )
    posted = _race(factory, lambda s: ledger.post(s, tx))
    assert posted == [True, False]
    assert _count(factory, LedgerEntry) == 2


def test_two_workers_ingesting_the_same_events_store_each_once(tmp_path: Path) -> None:
    factory, account = _database(tmp_path)
    events = [
        usage.Event(
            transaction_id=f"tx{n}", code="call", at=T0, destination="+33612345678",
            duration=Decimal(30),
        )
        for n in range(50)
    ]  # fmt: skip
    counts = _race(factory, lambda s: usage.ingest(s, account, events, now=T0))
    assert counts == [50, 0]
    assert _count(factory, UsageEvent) == 50
