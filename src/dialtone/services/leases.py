"""Leases in the database (issue 19): one worker at a time holds a name.

``leader`` is held by the worker that runs the duties that must not run twice (SMS
through the carriers, trunk registrations, webhooks, email); ``worker:<id>`` is each
worker's heartbeat, which tells the others it is alive (a dead worker's recordings may
be adopted once it has expired).

A lease is taken or renewed by one conditional statement, the same on SQLite and
PostgreSQL, so two workers asking at once cannot both win: an UPDATE that succeeds only
when the lease is ours or has expired (``expires_at <= now``: a lease is valid on
``[taken, expires_at)``, so at the very instant it expires another may take it), else,
for a name never held, an INSERT that does nothing on a conflict. ``token`` grows each
time the holder changes: a duty that carries the token it started with can tell, in
the transaction of its own write, that it was replaced (:func:`holds`).

Time comes in as ``now`` (sans-I/O style): the caller's clock, the same for every
worker as far as their clocks agree (NTP; see docs/scale-out/workers.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dialtone.store.models import Lease

LEADER = "leader"


def heartbeat(worker_id: str) -> str:
    """The name of a worker's heartbeat lease."""
    return f"worker:{worker_id}"


@dataclass(frozen=True, slots=True)
class Held:
    """Who holds a lease after a take: ``ours`` when the caller does now."""

    name: str
    holder: str
    token: int
    expires_at: datetime
    ours: bool


def take(session: Session, name: str, holder: str, *, now: datetime, duration: timedelta) -> Held:
    """Take or renew ``name`` for ``holder`` until ``now + duration``: it is ours when it
    was ours already (renewed: the token kept), had expired or was never held (taken:
    a new token). Otherwise it is left as it is and its holder returned."""
    until = now + duration
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at <= now))
        .values(
            holder=holder,
            expires_at=until,
            token=case((Lease.holder == holder, Lease.token), else_=Lease.token + 1),
        )
        .execution_options(synchronize_session=False)
    )
    if _count(renewed) == 0:
        values = {"name": name, "holder": holder, "token": 1, "expires_at": until}
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(Lease).values(**values).on_conflict_do_nothing())
    row = session.execute(
        select(Lease.holder, Lease.token, Lease.expires_at).where(Lease.name == name)
    ).one()
    return Held(name, row.holder, row.token, row.expires_at, ours=row.holder == holder)


def holds(session: Session, name: str, holder: str, token: int, *, now: datetime) -> bool:
    """Whether ``holder`` still holds ``name`` with ``token`` at ``now``: read in the
    transaction of a duty's write, it fences a holder that was paused past its lease."""
    row = session.execute(
        select(Lease.holder, Lease.token, Lease.expires_at).where(Lease.name == name)
    ).one_or_none()
    return row is not None and row.holder == holder and row.token == token and row.expires_at > now


def release(session: Session, name: str, holder: str) -> bool:
    """Delete ``name`` when ``holder`` holds it: a heartbeat at a clean stop (or after
    an adoption), so the worker is not taken for dead and adopted."""
    gone = session.execute(
        delete(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .execution_options(synchronize_session=False)
    )
    return _count(gone) > 0


# Earlier than any ``now``: a lease given up is expired for every worker's clock.
_GIVEN_UP = datetime(2000, 1, 1, tzinfo=UTC)


def give_up(session: Session, name: str, holder: str) -> bool:
    """Let ``name`` go at once (a clean stop), when ``holder`` holds it: another worker
    takes it at its next attempt instead of waiting for the expiry. The row stays, so
    the next holder's token is still a new one (:func:`release` deletes it)."""
    gone = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=_GIVEN_UP)
        .execution_options(synchronize_session=False)
    )
    return _count(gone) > 0


def alive(session: Session, names: list[str], *, now: datetime) -> set[str]:
    """Which of the leases ``names`` are held at ``now`` (not expired)."""
    if not names:
        return set()
    return set(
        session.scalars(select(Lease.name).where(Lease.name.in_(names), Lease.expires_at > now))
    )


def current(session: Session, name: str) -> Held | None:
    """The lease ``name`` as stored (expired or not), None when never held."""
    row = session.get(Lease, name)
    if row is None:
        return None
    return Held(row.name, row.holder, row.token, row.expires_at, ours=False)


def _count(result: Any) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0
