"""The API error log: what went wrong for whom, from which address (TERMS D4).

Kept for the customer and the operator to answer "why did my request fail?", with the
client's IP address; so it forgets: an entry older than 14 days goes, and an account
keeps only its 100 most recent errors (both settings, never more than the terms say).
Pruning happens on every write and in the scheduler's run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dialtone.policy import privacy
from dialtone.store.models import ErrorLogEntry


@dataclass(frozen=True, slots=True)
class ApiError:
    """One failed request as the log keeps it."""

    at: datetime
    account_id: str | None
    client_ip: str | None
    method: str
    path: str
    status: int
    code: str
    message: str


def record(
    session: Session,
    error: ApiError,
    *,
    keep: int = privacy.ERROR_LOG_ENTRIES,
    days: int = privacy.ERROR_LOG_DAYS,
) -> None:
    """Log ``error``, then drop what D4 no longer allows: entries older than ``days``,
    and the account's entries beyond its ``keep`` most recent."""
    session.add(
        ErrorLogEntry(
            at=error.at,
            account_id=error.account_id,
            client_ip=error.client_ip,
            method=error.method[:10],
            path=error.path[:300],
            status=error.status,
            code=error.code[:60],
            message=error.message[:2000],
        )
    )
    session.flush()
    prune(session, error.at, keep=keep, days=days, account_id=error.account_id, scoped=True)


def prune(
    session: Session,
    now: datetime,
    *,
    keep: int = privacy.ERROR_LOG_ENTRIES,
    days: int = privacy.ERROR_LOG_DAYS,
    account_id: str | None = None,
    scoped: bool = False,
) -> int:
    """Delete entries older than ``days`` and, for one account (``scoped``: the account
    ``account_id``, None being the unauthenticated requests), all but its ``keep`` most
    recent. Returns how many went."""
    cutoff = privacy.error_log_cutoff(now, days=days)
    old = session.execute(delete(ErrorLogEntry).where(ErrorLogEntry.at < cutoff))
    removed = int(getattr(old, "rowcount", 0) or 0)
    if scoped:
        owner = (
            ErrorLogEntry.account_id.is_(None)
            if account_id is None
            else ErrorLogEntry.account_id == account_id
        )
        newest = (
            select(ErrorLogEntry.id)
            .where(owner)
            .order_by(ErrorLogEntry.at.desc(), ErrorLogEntry.id.desc())
            .limit(privacy.entries_to_keep(keep))
        )
        extra = session.execute(delete(ErrorLogEntry).where(owner, ErrorLogEntry.id.not_in(newest)))
        removed += int(getattr(extra, "rowcount", 0) or 0)
    session.flush()
    return removed


def list_errors(session: Session, account_id: str | None) -> list[ErrorLogEntry]:
    """The account's logged errors (None: those of unauthenticated requests), newest
    first."""
    owner = (
        ErrorLogEntry.account_id.is_(None)
        if account_id is None
        else ErrorLogEntry.account_id == account_id
    )
    return list(
        session.scalars(
            select(ErrorLogEntry)
            .where(owner)
            .order_by(ErrorLogEntry.at.desc(), ErrorLogEntry.id.desc())
        )
    )
