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
ACCEPTED_COUNT = (
    select(func.count())
    .select_from(_parts)
    .where(_parts.c.message_id == bindparam("p_message"), _parts.c.status != SUBMITTING)
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
    .returning(_messages.c.status_callback)
)
MESSAGE_CARRIER = (
    update(_messages)
    .where(_messages.c.id == bindparam("m_id"))
    .values(carrier_id=bindparam("m_carrier"), updated_at=bindparam("m_at"))
)
PART_BY_CARRIER_ID = select(_parts.c.id, _parts.c.message_id).where(
    _parts.c.carrier_id == bindparam("p_carrier"),
    _parts.c.carrier_message_id == bindparam("p_carrier_message"),
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
MESSAGE_BY_ID = select(_messages).where(_messages.c.id == bindparam("m_id"))
MESSAGE_STATUS = (
    update(_messages)
    .where(_messages.c.id == bindparam("m_id"))
    .values(
        status=bindparam("m_status"),
        updated_at=bindparam("m_at"),
        done_at=bindparam("m_done_at"),
        error_code=bindparam("m_error_code"),
        error_message=bindparam("m_error_message"),
    )
)
PART_STATUSES = select(_parts.c.status).where(_parts.c.message_id == bindparam("p_message"))


def run(session: Session, statement: Executable, **params: Any) -> CursorResult[Any]:
    """``statement`` with ``params`` on the session's connection, after its pending
    changes are flushed."""
    session.flush()
    return cast(CursorResult[Any], session.connection().execute(statement, params))


def message(session: Session, message_id: str) -> Message | None:
    """The message as stored, read without the ORM's loading: a ``Message`` outside the
    session (changing it changes nothing stored), for what reads it after the commit
    (receipts to a customer's bind, status callbacks)."""
    row = run(session, MESSAGE_BY_ID, m_id=message_id).first()
    return None if row is None else Message(**row._mapping)


def forget(session: Session, message_id: str) -> None:
    """The message's row changed under the ORM: reload it when next read."""
    loaded = session.identity_map.get(session.identity_key(Message, message_id))
    if loaded is not None:
        session.expire(loaded)


def forget_parts(session: Session, message_id: str) -> None:
    """The message's part rows changed under the ORM: reload those loaded."""
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, MessagePart) and loaded.message_id == message_id:
            session.expire(loaded)
