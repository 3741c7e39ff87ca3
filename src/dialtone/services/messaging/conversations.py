"""An account's SMS as conversations: its messages grouped by the other party's number
(the recipient of what it sent, the sender of what it received), newest first.

Read-only views over :mod:`dialtone.services.messaging.messages`' rows, for the console;
what may be sent is decided there (TERMS M1, M3-M7, M11), never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from dialtone.store.messaging_models import Message

MAX_CONVERSATIONS = 200
MAX_MESSAGES = 500


@dataclass(frozen=True, slots=True)
class Conversation:
    """One other party: their number, how many messages, and the latest one."""

    party: str
    count: int
    last: Message

    @property
    def last_at(self) -> datetime:
        return self.last.created_at


def _party() -> ColumnElement[str]:
    """The other party of a message: who it went to, or who it came from."""
    return case((Message.direction == "outbound", Message.recipient), else_=Message.sender)


def conversations(session: Session, account_id: str, *, limit: int = 100) -> list[Conversation]:
    """The account's conversations, the most recently active first (at most ``limit``,
    capped at 200)."""
    party = _party().label("party")
    ranked = (
        select(
            Message.id.label("id"),
            party,
            func.row_number()
            .over(
                partition_by=party,
                order_by=(Message.created_at.desc(), Message.id.desc()),
            )
            .label("rank"),
            func.count().over(partition_by=party).label("total"),
        )
        .where(Message.account_id == account_id)
        .subquery()
    )
    latest = aliased(Message)
    rows = session.execute(
        select(latest, ranked.c.party, ranked.c.total)
        .join(ranked, ranked.c.id == latest.id)
        .where(ranked.c.rank == 1)
        .order_by(latest.created_at.desc(), latest.id.desc())
        .limit(max(1, min(limit, MAX_CONVERSATIONS)))
    ).all()
    return [Conversation(party=p, count=int(n), last=m) for m, p, n in rows]


def messages_with(
    session: Session, account_id: str, party: str, *, limit: int = MAX_MESSAGES
) -> list[Message]:
    """The account's messages to and from ``party``, newest first (at most ``limit``)."""
    return list(
        session.scalars(
            select(Message)
            .where(
                Message.account_id == account_id,
                or_(
                    and_(Message.direction == "outbound", Message.recipient == party),
                    and_(Message.direction != "outbound", Message.sender == party),
                ),
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(max(1, min(limit, MAX_MESSAGES)))
        )
    )
