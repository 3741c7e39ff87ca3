"""The statements the sending path runs for every part, built once.

Building a SQLAlchemy statement costs far more than running it: about 0.3 ms of Python
for an UPDATE with three conditions, against some 30 µs for SQLite to run it, and the
sending path runs four or five per part (intent, acceptance, receipt). These are built
at import with bound parameters and run on the session's connection, so a part costs
the statement's execution only (issue 15, Figures).

Running on the connection skips the ORM: ``run`` flushes pending ORM changes first (as
the ORM's autoflush would) and ``forget`` expires an object the statement changed, so
code reading it later in the same transaction reloads it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from dialtone.store.messaging_models import Message, MessagePart

SUBMITTING = "submitting"

_parts = cast(Table, MessagePart.__table__)
_messages = cast(Table, Message.__table__)
_this_part = (_parts.c.message_id == bindparam("p_message")) & (_parts.c.seq == bindparam("p_seq"))

# An intent standing for a part moves to another carrier (a retry).
MOVE_INTENT = (
    update(_parts)
    .where(_this_part, _parts.c.status == SUBMITTING)
    .values(carrier_id=bindparam("p_carrier"), submitted_at=bindparam("p_at"))
)
# A part's intent, or a part accepted with no intent before it.
NEW_PART = insert(_parts).values(
    message_id=bindparam("p_message"),
    seq=bindparam("p_seq"),
    total=bindparam("p_total"),
    carrier_id=bindparam("p_carrier"),
    carrier_message_id=bindparam("p_carrier_message"),
    status=bindparam("p_status"),
    submitted_at=bindparam("p_at"),
)
WITHDRAW_INTENT = delete(_parts).where(_this_part, _parts.c.status == SUBMITTING)
ACCEPT_PART = (
    update(_parts)
    .where(_this_part)
    .values(
        total=bindparam("p_total"),
        carrier_id=bindparam("p_carrier"),
        carrier_message_id=bindparam("p_carrier_message"),
        status="sent",
    )
)
ACCEPTED_COUNTS = (
    select(_parts.c.message_id, func.count().label("accepted"))
    .where(_parts.c.message_id.in_(bindparam("p_messages", expanding=True)))
    .where(_parts.c.status != SUBMITTING)
    .group_by(_parts.c.message_id)
)
MESSAGE_STATES = select(_messages.c.id, _messages.c.status, _messages.c.status_callback).where(
    _messages.c.id.in_(bindparam("m_ids", expanding=True))
)
# Every part accepted: the message is sent (only if it is being sent); a retry that got
# through clears the temporary error it met before.
MESSAGE_SENT = (
    update(_messages)
    .where(_messages.c.id == bindparam("m_id"), _messages.c.status == "sending")
    .values(
        status="sent",
        sent_at=bindparam("m_at"),
        carrier_id=bindparam("m_carrier"),
        updated_at=bindparam("m_at"),
        error_code=None,
        error_message=None,
    )
)
MESSAGE_CARRIER = (
    update(_messages)
    .where(_messages.c.id == bindparam("m_id"))
    .values(carrier_id=bindparam("m_carrier"), updated_at=bindparam("m_at"))
)
PARTS_BY_CARRIER_ID = select(
    _parts.c.id, _parts.c.message_id, _parts.c.seq, _parts.c.carrier_id, _parts.c.carrier_message_id
).where(
    _parts.c.carrier_id.in_(bindparam("p_carriers", expanding=True)),
    _parts.c.carrier_message_id.in_(bindparam("p_carrier_messages", expanding=True)),
)
PART_OUTCOME = (
    update(_parts)
    .where(_parts.c.id == bindparam("p_id"))
    .values(status=bindparam("p_status"), error=bindparam("p_error"))
)
PART_OUTCOME_DONE = (
    update(_parts)
    .where(_parts.c.id == bindparam("p_id"))
    .values(status=bindparam("p_status"), error=bindparam("p_error"), done_at=bindparam("p_at"))
)
MESSAGES_BY_ID = select(_messages).where(_messages.c.id.in_(bindparam("m_ids", expanding=True)))
MESSAGE_STATUS = (
    update(_messages)
    .where(_messages.c.id == bindparam("m_id"))
    .values(
        status=bindparam("m_status"),
        updated_at=bindparam("m_at"),
        done_at=bindparam("m_done_at"),
        error_code=bindparam("m_error_code"),
        error_message=bindparam("m_error_message"),
        bind_notice_due_at=bindparam("m_owed"),
    )
)
PART_STATES = select(_parts.c.message_id, _parts.c.seq, _parts.c.status).where(
    _parts.c.message_id.in_(bindparam("p_messages", expanding=True))
)


def run(session: Session, statement: Executable, **params: Any) -> CursorResult[Any]:
    """``statement`` with ``params`` on the session's connection, after its pending
    changes are flushed."""
    session.flush()
    return cast(CursorResult[Any], session.connection().execute(statement, params))


def run_many(session: Session, statement: Executable, rows: list[dict[str, Any]]) -> Counted:
    """``statement`` once per row of parameters (one executemany); how many rows it
    matched in all."""
    if not rows:
        return Counted(0)
    session.flush()
    return Counted(session.connection().execute(statement, rows).rowcount)


@dataclass(frozen=True, slots=True)
class Counted:
    """The rows a statement run many times matched."""

    rowcount: int


def accepted_counts(session: Session, message_ids: Collection[str]) -> dict[str, int]:
    """The parts of each message a carrier accepted, or in doubt (not ``submitting``)."""
    rows = run(session, ACCEPTED_COUNTS, p_messages=list(message_ids))
    return {row.message_id: int(row.accepted) for row in rows}


def message_states(
    session: Session, message_ids: Collection[str]
) -> dict[str, tuple[str, str | None]]:
    """Each message's status and status callback."""
    rows = run(session, MESSAGE_STATES, m_ids=list(message_ids))
    return {row.id: (row.status, row.status_callback) for row in rows}


@dataclass(frozen=True, slots=True)
class PartFound:
    """A part a receipt names."""

    id: int
    message_id: str
    seq: int


def parts_by_carrier_id(
    session: Session, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], PartFound]:
    """The parts known by (carrier, carrier message id)."""
    rows = run(
        session,
        PARTS_BY_CARRIER_ID,
        p_carriers=sorted({carrier for carrier, _ in keys}),
        p_carrier_messages=sorted({known for _, known in keys}),
    )
    return {
        (row.carrier_id, row.carrier_message_id): PartFound(row.id, row.message_id, row.seq)
        for row in rows
    }


def part_states(session: Session, message_ids: Collection[str]) -> dict[str, dict[int, str]]:
    """Each message's parts' statuses by sequence number."""
    found: dict[str, dict[int, str]] = {}
    for row in run(session, PART_STATES, p_messages=list(message_ids)):
        found.setdefault(row.message_id, {})[row.seq] = row.status
    return found


def messages(session: Session, message_ids: Collection[str]) -> dict[str, Message]:
    """The messages as stored, read without the ORM's loading: ``Message`` objects
    outside the session (changing them changes nothing stored), for what reads them
    after the commit (receipts to a customer's bind, status callbacks)."""
    rows = run(session, MESSAGES_BY_ID, m_ids=list(message_ids))
    return {row.id: Message(**row._mapping) for row in rows}


def copy(message: Message) -> Message:
    """Another ``Message`` outside the session with ``message``'s values."""
    return Message(**{c.key: getattr(message, c.key) for c in _messages.columns})


def forget(session: Session, message_ids: Iterable[str]) -> None:
    """The messages' rows changed under the ORM: those loaded are reloaded when next
    read."""
    identity_map = session.identity_map
    for message_id in message_ids:
        loaded = identity_map.get(session.identity_key(Message, message_id))
        if loaded is not None:
            session.expire(loaded)


def forget_parts(session: Session, message_ids: Collection[str]) -> None:
    """The messages' part rows changed under the ORM: those loaded are reloaded."""
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, MessagePart) and loaded.message_id in message_ids:
            session.expire(loaded)
