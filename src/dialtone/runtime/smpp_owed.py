"""The SMPP server's side of :mod:`dialtone.services.messaging.bind_notices`: a message
made into the deliver_sm its customer's bind is owed, what the database says a bind is
owed read on the database thread, and the binds' answers recorded by group commit (one
UPDATE for the answers that come together, none on the event loop's thread).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.group_commit import GroupCommit
from dialtone.runtime.smpp_outbox import Cursor, Delivery, Page, Target
from dialtone.services.messaging import bind_notices
from dialtone.smpp.delivering import STATE_OF_STATUS, message_pdus, receipt_pdu
from dialtone.store.messaging_models import Message

log = logging.getLogger("dialtone.smpp")


class ReceiptFacts(Protocol):
    """What a receipt needs of a message (a ``Message`` row has it)."""

    @property
    def id(self) -> str: ...
    @property
    def smpp_login_id(self) -> str | None: ...
    @property
    def sender(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def segments(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def done_at(self) -> datetime | None: ...
    @property
    def bind_notice_due_at(self) -> datetime | None: ...


class InboundFacts(Protocol):
    """What an inbound message's deliver_sm needs (a ``Message`` row has it)."""

    @property
    def id(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def bind_notice_due_at(self) -> datetime | None: ...


class _Settled(GroupCommit[str]):
    """Message ids whose deliver_sm a bind answered: their marks cleared together."""

    what = "deliver_sm answers"

    def write_batch(self, session: Session, items: list[str]) -> None:
        bind_notices.settle(session, items)

    def write_one(self, session: Session, item: str) -> None:
        bind_notices.settle(session, [item])


class OwedNotices:
    """Deliveries of what customers' binds are owed: made, loaded, settled."""

    def __init__(
        self, sessions: sessionmaker[Session], db: Executor, *, clock: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.db = db
        self.clock = clock
        self.settled = _Settled(sessions, db)
        # The concatenation reference of inbound messages' UDH: one byte, in turn.
        self._references = itertools.count(1)

    def receipt(self, message: ReceiptFacts) -> Delivery | None:
        """The receipt the message's login is owed (None unless marked owed)."""
        state = STATE_OF_STATUS.get(message.status)
        due = message.bind_notice_due_at
        if state is None or due is None or message.smpp_login_id is None:
            return None
        pdu = receipt_pdu(
            message_id=message.id,
            sender=message.sender,
            recipient=message.recipient,
            state=state,
            parts=message.segments,
            text=message.body,
            submitted_at=message.created_at,
            done_at=message.done_at or self.clock(),
        )
        return Delivery(message.id, due, (pdu,))

    def inbound(self, message: InboundFacts) -> Delivery | None:
        """An inbound message's deliver_sm, in parts when long (TERMS M1); None unless
        marked owed."""
        due = message.bind_notice_due_at
        if due is None:
            return None
        pdus = message_pdus(
            sender=message.sender,
            recipient=message.recipient,
            text=message.body,
            reference=next(self._references) & 0xFF,
        )
        return Delivery(message.id, due, tuple(pdus))

    async def load(self, login_id: str, account_id: str, after: Cursor | None, limit: int) -> Page:
        """One page of what a receiver bind of ``login_id`` is owed, the oldest first."""
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(self.db, self._read, login_id, account_id, after, limit)
        owed: list[tuple[Target, Delivery]] = []
        for row in rows:
            if row.direction == "inbound":
                target, delivery = Target("account", account_id), self.inbound(row)
            else:
                target, delivery = Target("login", login_id), self.receipt(row)
            if delivery is None:  # marked, yet no final state: nothing to say yet
                log.warning("smpp: message %s marked owed in state %s", row.id, row.status)
                continue
            owed.append((target, delivery))
        # A full page: more may follow, from the last row read (skipped ones included).
        last = rows[-1] if len(rows) == limit else None
        due = None if last is None else last.bind_notice_due_at
        return Page(owed, None if last is None or due is None else (due, last.id))

    def _read(
        self, login_id: str, account_id: str, after: Cursor | None, limit: int
    ) -> list[Message]:
        with self.sessions() as session:
            return bind_notices.owed(
                session, login_id=login_id, account_id=account_id, after=after, limit=limit
            )

    async def settle(self, message_id: str) -> None:
        """A bind answered the message's deliver_sm: its mark cleared, once committed."""
        await self.settled.write(message_id)

    async def close(self) -> None:
        """Let the answers queued be recorded."""
        await self.settled.close()
