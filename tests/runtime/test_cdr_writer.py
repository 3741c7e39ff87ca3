"""Group commit: concurrent CDRs share transactions; a bad one fails alone."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dialtone.core.errors import NotFound
from dialtone.runtime.cdr_writer import CdrWriter
from dialtone.services.accounts import accounts
from dialtone.services.telephony.calls import CallOutcome
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord
from tests.database import migrated_database

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def outcome(account_id: str, n: int) -> CallOutcome:
    return CallOutcome(
        account_id=account_id,
        direction="inbound",
        from_number="+14155550100",
        to_number="+33123456789",
        started_at=T0,
        answered_at=T0,
        ended_at=T0 + timedelta(seconds=n + 1),
        status="completed",
        hangup_cause="caller-bye",
        sip_call_id=f"c{n}",
        sip_local_tag="t",
    )


def test_concurrent_cdrs_are_batched_and_a_bad_one_fails_alone(tmp_path: Path) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id

    async def scenario() -> list[object]:
        writer = CdrWriter(sessions, ThreadPoolExecutor(1))
        first = [writer.write_cdr(outcome(account_id, n)) for n in range(25)]
        await asyncio.gather(*first)
        assert writer.written == 25
        assert writer.batches < 25  # records that ended together shared a commit
        jobs = [writer.write_cdr(outcome(account_id, n)) for n in range(25, 50)]
        jobs.insert(10, writer.write_cdr(outcome("ACnobody", 99)))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        await writer.close()
        assert writer.written == 50
        return results

    results = asyncio.run(scenario())
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1
    assert isinstance(failures[0], NotFound)
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(CallRecord)) == 50


def test_write_waits_for_the_commit(tmp_path: Path) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id

    async def scenario() -> None:
        writer = CdrWriter(sessions, ThreadPoolExecutor(1))
        await writer.write_cdr(outcome(account_id, 1))
        # Visible to another session the moment write() returns.
        with transaction(sessions) as session:
            assert session.scalar(select(CallRecord.sip_call_id)) == "c1"

    asyncio.run(scenario())


@pytest.mark.parametrize("n", [1, 2])
def test_idempotent_rewrite(tmp_path: Path, n: int) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id

    async def scenario() -> None:
        writer = CdrWriter(sessions, ThreadPoolExecutor(1))
        await asyncio.gather(*(writer.write_cdr(outcome(account_id, 7)) for _ in range(n + 1)))

    asyncio.run(scenario())
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(CallRecord)) == 1


def test_a_call_written_again_is_not_duplicated(tmp_path: Path) -> None:
    # The batch path skips the per-record look-up; a duplicate must still end up once.
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id

    async def scenario() -> None:
        writer = CdrWriter(sessions, ThreadPoolExecutor(1))
        await writer.write_cdr(outcome(account_id, 1))
        same_batch = [writer.write_cdr(outcome(account_id, n)) for n in (1, 2, 2, 3)]
        await asyncio.gather(*same_batch)
        await writer.close()

    asyncio.run(scenario())
    with transaction(sessions) as session:
        ids = session.scalars(select(CallRecord.sip_call_id).order_by(CallRecord.sip_call_id))
        assert list(ids) == ["c1", "c2", "c3"]


@pytest.mark.parametrize(("window", "batches"), [(0.0, 3), (0.3, 2)])
def test_under_load_records_wait_for_the_window_to_share_a_commit(
    tmp_path: Path, window: float, batches: int
) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id

    async def scenario() -> tuple[int, float]:
        writer = CdrWriter(sessions, ThreadPoolExecutor(1), window=window, busy_gap=5.0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await writer.write_cdr(outcome(account_id, 1))  # idle: committed at once
        idle_latency = loop.time() - started
        # Just after a commit the writer counts as busy: the next record waits for the
        # window, and one that comes 50 ms later joins its transaction.
        second = asyncio.ensure_future(writer.write_cdr(outcome(account_id, 2)))
        await asyncio.sleep(0.05)
        await asyncio.gather(second, writer.write_cdr(outcome(account_id, 3)))
        assert writer.written == 3
        return writer.batches, idle_latency

    counted, idle_latency = asyncio.run(scenario())
    assert counted == batches
    assert idle_latency < 0.25  # the idle record did not wait for the window


def test_pending_counts_the_records_waiting_for_their_commit(tmp_path: Path) -> None:
    # What overload control reads as database work waiting (issue 14).
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id

    async def scenario() -> None:
        writer = CdrWriter(sessions, ThreadPoolExecutor(1))
        assert writer.pending == 0
        jobs = [asyncio.ensure_future(writer.write_cdr(outcome(account_id, n))) for n in range(5)]
        await asyncio.sleep(0)  # queued (some may already be in the batch being written)
        assert writer.pending == 5
        await asyncio.gather(*jobs)
        assert writer.pending == 0

    asyncio.run(scenario())
