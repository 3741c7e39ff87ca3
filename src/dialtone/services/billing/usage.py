"""Usage reported over the API (Lago-style), stored before the answer, once per id.

Each event carries the client's ``transaction_id``, unique per account: a batch is
inserted with ``ON CONFLICT DO NOTHING`` on that pair, so a retried or duplicated event
is ignored (never rated twice) and the count of rows actually written is what the client
is told was accepted. Rating picks the events up later (:mod:`dialtone.services.billing.rating`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from dialtone.store.dialect import insert_ignoring_conflicts
from dialtone.store.models import UsageEvent

MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Event:
    """One usage event: a call, a forward or an SMS that happened elsewhere."""

    transaction_id: str
    code: str
    at: datetime
    destination: str
    caller: str | None = None
    duration: Decimal = Decimal(0)
    segments: int = 0


def ingest(session: Session, account_id: str, events: list[Event], *, now: datetime) -> int:
    """Store ``events`` (in the caller's transaction); the number newly stored. An id
    already stored, or repeated within the batch, is ignored."""
    if not events:
        return 0
    rows = [
        {
            "account_id": account_id,
            "transaction_id": e.transaction_id,
            "code": e.code,
            "at": e.at,
            "destination": e.destination,
            "caller": e.caller,
            "duration": e.duration,
            "segments": e.segments,
            "received_at": now,
            "rated": False,
        }
        for e in events
    ]
    statement = insert_ignoring_conflicts(session, UsageEvent, ["account_id", "transaction_id"])
    # Two workers ingesting the same id: the unique pair decides, the second's row is
    # skipped (PostgreSQL waits for the first's commit to know).
    # One executemany: its rowcount is the number of rows inserted (the ignored duplicates
    # count 0), which is what the client is told was accepted. SQLite's cursor keeps it;
    # psycopg's forgets it when SQLAlchemy closes the cursor of an INSERT, unless asked
    # to keep it (preserve_rowcount).
    connection = session.connection().execution_options(preserve_rowcount=True)
    result = connection.execute(statement, rows)
    return int(result.rowcount)
