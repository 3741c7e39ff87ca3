"""What customers' SMPP binds are owed (issue 15): the deliver_sm of a message's
delivery receipt, or of a message one of the account's numbers received.

Each is a mark on the message, ``bind_notice_due_at``, written in the transaction of the
change it tells of (the final status, the inbound message stored), as webhooks are
(:mod:`dialtone.services.accounts.webhooks`): the carrier's deliver_sm is answered after
that commit, and a crash loses nothing acknowledged. The SMPP server sends what is
marked to the customer's receiver binds, the oldest first, and clears the mark once a
bind answered (accepted or refused: a refusal is not retried).

- A receipt is owed when the message came by SMPP (``smpp_login_id``) and its
  registered_delivery asked for the final state it reached (SMPP 3.4 §5.2.17: any final
  state, or failures only).
- An inbound message (TERMS M1's parts are the server's business) is owed when its
  account has an SMPP login not revoked when it is stored: an account without one has
  no bind to send it to, and a login made later is not sent the account's past.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import Session

from dialtone.smpp.delivering import STATE_OF_STATUS, wants_receipt
from dialtone.store.messaging_models import Message, SmppLogin

# Where a bind's loading stopped: the last (due_at, message id) it was given.
Cursor = tuple[datetime, str]

_messages = cast(Table, Message.__table__)


def receipt_owed(message: Message) -> bool:
    """Whether the message's status is one its SMPP bind asked a receipt of."""
    state = STATE_OF_STATUS.get(message.status)
    if state is None or message.smpp_login_id is None:
        return False
    return wants_receipt(message.smpp_registered_delivery or 0, state)


def owe_receipt(message: Message, now: datetime) -> None:
    """Mark the message's receipt owed to its login's binds, if it is (module
    docstring): called with the status change, so the mark is written with it (by the
    session's flush for a row it holds; by the caller's own statement for a copy read
    past the ORM, as ``delivery.record_receipts`` writes its batch's changes)."""
    if receipt_owed(message):
        message.bind_notice_due_at = now


def owe_inbound(session: Session, message: Message, now: datetime) -> None:
    """Mark an inbound message owed to its account's receiver binds, if the account has
    a live SMPP login. Call it before the message is added, so its INSERT carries the
    mark."""
    login = session.scalars(
        select(SmppLogin.id)
        .where(SmppLogin.account_id == message.account_id, SmppLogin.revoked_at.is_(None))
        .limit(1)
    ).first()
    if login is not None:
        message.bind_notice_due_at = now


def owed(
    session: Session,
    *,
    login_id: str,
    account_id: str,
    after: Cursor | None = None,
    limit: int = 500,
) -> list[Message]:
    """What a receiver bind of ``login_id`` (an ``account_id`` login) is owed: its
    receipts and the account's inbound messages, the oldest first, from ``after`` on."""
    due = Message.bind_notice_due_at
    query = select(Message).where(
        Message.account_id == account_id,
        due.is_not(None),  # the partial index's own condition, so it is used
        or_(Message.smpp_login_id == login_id, Message.direction == "inbound"),
    )
    if after is not None:
        at, message_id = after
        query = query.where(or_(due > at, and_(due == at, Message.id > message_id)))
    return list(session.scalars(query.order_by(due, Message.id).limit(limit)))


def settle(session: Session, message_ids: Collection[str]) -> None:
    """The binds answered these messages' deliver_sm: nothing more is owed for them."""
    if message_ids:
        session.execute(
            update(_messages)
            .where(_messages.c.id.in_(list(message_ids)))
            .values(bind_notice_due_at=None)
        )
