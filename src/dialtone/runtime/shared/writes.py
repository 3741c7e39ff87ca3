"""The look-up cache's invalidation: one hook on the session factory, so that every
change committed through it (the API, the console, the services the runtime calls)
tells every worker's look-up cache at once, whatever the route that made it.

A session notes the tables its flushes and ORM statements wrote; after its commit, when
one of them is not a traffic table, ``on_change`` is called (it publishes
``shared.LOOKUPS``). Traffic tables (call records, audit entries, messages, usage…) are
written by every call and hold nothing the cache keeps: a call's end must not empty
every worker's cache. A commit from another process that does not run the hook (the
CLI) reaches the cache within ``lookup_cache_seconds``, the bound it always had.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker

log = logging.getLogger("dialtone.shared")

# Written on the traffic path, never read through the look-up cache (registrations and
# the plan's usage are read fresh at each setup; see services.call_facts).
TRAFFIC_TABLES = frozenset(
    {
        "call_records",
        "audit_events",
        "usage_events",
        "rated_lines",
        "ledger_entries",
        "messages",
        "message_parts",
        "webhook_deliveries",
        "email_messages",
        "error_log",
        "console_sessions",
        "registrations",
        "voicemails",
        "recordings",
        "agent_reports",
    }
)

_KEY = "dialtone.shared.wrote"


def _table_of(thing: Any) -> str | None:
    table = getattr(thing, "__table__", None)
    if table is None:
        table = getattr(thing, "table", None)
    name = getattr(table, "name", None)
    return name if isinstance(name, str) else None


def watch_writes(
    sessions: sessionmaker[Session],
    on_change: Callable[[], None],
    *,
    ignored: frozenset[str] = TRAFFIC_TABLES,
) -> Callable[[], None]:
    """Call ``on_change`` after each commit of a session from ``sessions`` that wrote a
    table outside ``ignored``. Returns what removes the hook."""

    def note(session: Session, table: str | None) -> None:
        # An unknown table counts: invalidating too often costs a read, too rarely a
        # stale route.
        if table is None or table not in ignored:
            session.info[_KEY] = True

    def after_flush(session: Session, context: UOWTransaction) -> None:
        del context
        if session.info.get(_KEY):
            return
        for instance in (*session.new, *session.dirty, *session.deleted):
            note(session, _table_of(instance))
            if session.info.get(_KEY):
                return

    def on_execute(state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            note(state.session, _table_of(state.statement))

    def after_commit(session: Session) -> None:
        if session.info.pop(_KEY, False):
            try:
                on_change()
            except Exception:
                log.exception("the look-up cache's invalidation failed")

    def after_rollback(session: Session) -> None:
        session.info.pop(_KEY, None)

    hooks: list[tuple[str, Callable[..., None]]] = [
        ("after_flush", after_flush),
        ("do_orm_execute", on_execute),
        ("after_commit", after_commit),
        ("after_rollback", after_rollback),
    ]
    for name, hook in hooks:
        event.listen(sessions, name, hook)

    def remove() -> None:
        for name, hook in hooks:
            event.remove(sessions, name, hook)

    return remove
