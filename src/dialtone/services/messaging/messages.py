"""Outgoing messages: checked, stored before they are acknowledged, then moved through
their states by the runtime that sends them and by the carriers' delivery receipts.

States: ``queued → sending → sent → delivered | undelivered | failed | expired``. A
message is stored ``queued`` in the caller's transaction, so the 202 (or the
submit_sm_resp) follows its commit and nothing acknowledged is lost. Every stored
message is billed by its parts, delivered or not (M2); a refused one is not stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.core.sms import count_segments
from dialtone.policy.checklist import CheckResult, first_refusal, sms_checks
from dialtone.policy.messaging import Notice, quota_notice
from dialtone.services.accounts import audit
from dialtone.services.ids import new_id
from dialtone.services.messaging import facts
from dialtone.services.messaging.rules import MessagingRules
from dialtone.services.numbering import numbers
from dialtone.store.messaging_models import Message

STATES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "expired")
FINAL_STATES = frozenset({"delivered", "undelivered", "failed", "expired"})
CALLBACK_FORMATS = ("dialtone", "twilio")
MAX_BODY = 1600  # characters: ten UCS-2 parts and some; longer is refused before the checks


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message an account asks to send, as the API, the CLI or an SMPP bind gave it."""

    sender: str
    to: str
    body: str
    marketing: bool = False
    status_callback: str | None = None
    idempotency_key: str | None = None
    origin: str = "api"
    smpp_login_id: str | None = None
    client_reference: str | None = None
    # submit_sm's registered_delivery: the receipt the customer's bind asked for.
    smpp_registered_delivery: int | None = None
    # The shape of the status callbacks: "dialtone" (signed JSON) or "twilio" (Twilio's
    # parameters, for a message sent through the Twilio-compatible API).
    callback_format: str = "dialtone"


def normalise(outgoing: Outgoing, default_country: str) -> Outgoing:
    """The recipient (and a numeric sender) as E.164; a sender of letters is kept as
    written (an alphanumeric sender ID, M6). Raises ``request.invalid``."""
    if not outgoing.body:
        raise DialtoneError("request.invalid", "body: the text of the message, not empty.")
    if outgoing.callback_format not in CALLBACK_FORMATS:
        raise DialtoneError("request.invalid", "callback_format: dialtone or twilio.")
    if len(outgoing.body) > MAX_BODY:
        raise DialtoneError(
            "request.invalid", f"body: at most {MAX_BODY} characters ({len(outgoing.body)})."
        )
    to = numbers.to_e164(outgoing.to, default_country)
    sender = outgoing.sender.strip()
    if not sender:
        raise DialtoneError("request.invalid", "from: a number of the account or a sender ID.")
    if re.sub(r"[\s.()-]", "", sender).lstrip("+").isdigit():
        sender = numbers.to_e164(sender, default_country)
    return Outgoing(
        sender,
        to,
        outgoing.body,
        outgoing.marketing,
        outgoing.status_callback,
        outgoing.idempotency_key,
        outgoing.origin,
        outgoing.smpp_login_id,
        outgoing.client_reference,
        outgoing.smpp_registered_delivery,
        outgoing.callback_format,
    )


def check(
    session: Session,
    account_id: str,
    outgoing: Outgoing,
    *,
    rules: MessagingRules,
    now: datetime,
) -> list[CheckResult]:
    """Every check the message would go through now (the dry run and the real send
    use this one list: M6, M1, M3, M4, M5, M7, M11)."""
    wanted = normalise(outgoing, rules.default_country)
    intent = facts.gather(
        session,
        account_id,
        sender=wanted.sender,
        to=wanted.to,
        text=wanted.body,
        marketing=wanted.marketing,
        rules=rules,
        now=now,
    )
    return sms_checks(intent)


@dataclass(slots=True)
class Batch:
    """The messages of one transaction (a group commit's, or one alone): the facts they
    share, the rows ``accept`` appended for ``insert_accepted`` to write in one
    statement, and the Idempotency-Keys they used."""

    known: facts.Facts
    rows: list[dict[str, Any]] = field(default_factory=list)
    keyed: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Session, rules: MessagingRules) -> Batch:
        """An empty batch in ``session``'s transaction."""
        return cls(facts.Facts(session, rules))


@dataclass(frozen=True, slots=True)
class Accepted:
    """What ``accept`` did: the message's id, and whether it is new (else an earlier
    message with the same Idempotency-Key)."""

    id: str
    created: bool


def send(
    session: Session,
    account_id: str,
    outgoing: Outgoing,
    *,
    rules: MessagingRules,
    now: datetime,
) -> tuple[Message, bool]:
    """Check and store one message (``queued``) in the caller's transaction; the
    message and whether it is new (``accept`` for a batch of one). A repeated
    ``idempotency_key`` returns the message stored under it (``idempotency.mismatch`` if
    the request differs). A refusal raises the first refusing check's error (the API
    puts it on the audit log, as it does every terms refusal; other callers do the
    same)."""
    batch = Batch.of(session, rules)
    accepted = accept(session, account_id, outgoing, batch=batch, now=now)
    insert_accepted(session, batch)
    message = session.get(Message, accepted.id)
    assert message is not None
    return message, accepted.created


def accept(
    session: Session,
    account_id: str,
    outgoing: Outgoing,
    *,
    batch: Batch,
    now: datetime,
) -> Accepted:
    """TERMS M1, M3-M7, M11: check one message of ``batch`` on the facts the batch
    shares and append its row for ``insert_accepted`` (the group commits of the API and
    of the SMPP server write many messages in one transaction and one statement); an
    ``idempotency_key`` used before, in the store or in the batch, answers with that
    message (``idempotency.mismatch`` if the request differs). A refusal raises the
    first refusing check's error, nothing appended."""
    wanted = normalise(outgoing, batch.known.rules.default_country)
    key = wanted.idempotency_key
    if key is not None:
        earlier = _earlier(session, batch, account_id, key)
        if earlier is not None:
            if earlier[1:] != (wanted.sender, wanted.to, wanted.body):
                raise Conflict(
                    "idempotency.mismatch",
                    "This Idempotency-Key was used for a different message.",
                )
            return Accepted(earlier[0], False)
    row = _accepted(session, account_id, wanted, batch.known, now)
    batch.rows.append(row)
    if key is not None:
        batch.keyed[(account_id, key)] = row
    return Accepted(row["id"], True)


def _earlier(
    session: Session, batch: Batch, account_id: str, key: str
) -> tuple[str, str, str, str] | None:
    """The message stored (or in the batch) under ``key``: id, sender, recipient, body."""
    row = batch.keyed.get((account_id, key))
    if row is not None:
        return row["id"], row["sender"], row["recipient"], row["body"]
    found = session.execute(
        select(Message.id, Message.sender, Message.recipient, Message.body).where(
            Message.account_id == account_id, Message.idempotency_key == key
        )
    ).first()
    return None if found is None else (found[0], found[1], found[2], found[3])


def insert_accepted(session: Session, batch: Batch) -> None:
    """Write the rows ``accept`` appended, in one statement."""
    if batch.rows:
        session.execute(insert(Message), batch.rows)
        batch.rows = []


def _accepted(
    session: Session, account_id: str, wanted: Outgoing, known: facts.Facts, now: datetime
) -> dict[str, Any]:
    """TERMS M1, M3-M7, M11: the message's checks on ``known``; the row to store, or the
    first refusing check's error. ``known`` counts the message once accepted (M7, M11),
    and the quota notices it crossed are written (M11)."""
    intent = known.intent(
        account_id,
        sender=wanted.sender,
        to=wanted.to,
        text=wanted.body,
        marketing=wanted.marketing,
        now=now,
    )
    refused = first_refusal(sms_checks(intent))
    if refused is not None:
        raise refused.decision.as_error()
    counted = count_segments(wanted.body)
    row = {
        "id": new_id("SM"),
        "account_id": account_id,
        "direction": "outbound",
        "sender": wanted.sender,
        "recipient": wanted.to,
        "body": wanted.body,
        "encoding": counted.encoding,
        "segments": counted.segments,
        "status": "queued",
        "status_callback": wanted.status_callback,
        "callback_format": wanted.callback_format,
        "idempotency_key": wanted.idempotency_key,
        "origin": wanted.origin,
        "smpp_login_id": wanted.smpp_login_id,
        "client_reference": wanted.client_reference,
        "smpp_registered_delivery": wanted.smpp_registered_delivery,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
        "expires_at": now + known.rules.validity,
    }
    known.stored(account_id, wanted.to, counted.segments, now)
    _notify_quota(
        session,
        account_id,
        before=intent.used,
        after=intent.used + counted.segments,
        limit=intent.limit,
        now=now,
    )
    return row


def _notify_quota(
    session: Session, account_id: str, *, before: int, after: int, limit: int, now: datetime
) -> None:
    """M11: the 80 % and 100 % notices, each once: when this message crossed its mark."""
    if limit <= 0:
        return
    already: list[Notice] = []
    if before * 100 >= limit * 80:
        already.append("80%")
    if before >= limit:
        already.append("100%")
    notice = quota_notice(after, limit, already)
    if notice is None:
        return
    audit.record_enforcement(
        session,
        "quota.notice",
        f"{after} of {limit} SMS parts used this period ({notice})",
        at=now,
        account_id=account_id,
        actor="platform",
        action="sms.quota_notice",
        used=after,
        limit=limit,
        notice=notice,
    )


def get_message(session: Session, account_id: str, message_id: str) -> Message:
    """One of the account's messages (``message.not_found`` otherwise)."""
    message = session.get(Message, message_id)
    if message is None or message.account_id != account_id:
        raise NotFound("message.not_found", f"No message {message_id}.")
    return message


def list_messages(
    session: Session,
    account_id: str,
    *,
    status: str | None = None,
    to: str | None = None,
    sender: str | None = None,
    direction: str | None = None,
    limit: int = 100,
) -> list[Message]:
    """The account's messages, newest first, filtered."""
    query = select(Message).where(Message.account_id == account_id)
    if status is not None:
        query = query.where(Message.status == status)
    if to is not None:
        query = query.where(Message.recipient == to)
    if sender is not None:
        query = query.where(Message.sender == sender)
    if direction is not None:
        query = query.where(Message.direction == direction)
    return list(
        session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit))
    )


def count_by_state(session: Session) -> dict[str, int]:
    """How many messages are in each of :data:`STATES` (0 for none), for the metrics: one
    ``GROUP BY`` over the index that leads with the state (``ix_messages_status_…``), so
    the table itself is not read. Counts only, never a number or a body (TERMS D4)."""
    counts = dict.fromkeys(STATES, 0)
    rows = session.execute(select(Message.status, func.count()).group_by(Message.status))
    for state, count in rows:
        if state in counts:
            counts[state] = int(count)
    return counts
