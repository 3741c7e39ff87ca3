"""Usage ingestion counts what it stored, once per id, on either engine (issue 6, 19)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.services.billing import usage
from dialtone.store.models import UsageEvent

from ..conftest import T0


def _events(*ids: str) -> list[usage.Event]:
    return [
        usage.Event(
            transaction_id=i, code="call", at=T0 + timedelta(seconds=n),
            destination="+33612345678", duration=Decimal(30),
        )
        for n, i in enumerate(ids)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("batches", "counts", "rows"),
    [
        ([["a", "b", "c"]], [3], 3),
        ([["a", "b"], ["b", "c"]], [2, 1], 3),  # a retried id is not stored again
        ([["a", "a", "b"]], [2], 2),  # repeated within the batch
        ([["a"], ["a"], ["a"]], [1, 0, 0], 1),
        ([[f"t{n}" for n in range(1000)], ["t999", "x"]], [1000, 1], 1001),
    ],
)
def test_ingest_counts_the_rows_it_stored(
    session: Session, account: str, batches: list[list[str]], counts: list[int], rows: int
) -> None:
    got = [usage.ingest(session, account, _events(*ids), now=T0) for ids in batches]
    assert got == counts
    assert session.scalar(select(func.count()).select_from(UsageEvent)) == rows


def test_the_same_id_of_two_accounts_is_two_events(
    session: Session, account: str, other_account: str
) -> None:
    assert usage.ingest(session, account, _events("a"), now=T0) == 1
    assert usage.ingest(session, other_account, _events("a"), now=T0) == 1
    assert usage.ingest(session, account, [], now=T0) == 0
