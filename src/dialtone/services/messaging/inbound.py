"""Messages from carriers to the account's numbers: stored first, then acted on.

A message whose whole text is a keyword (M3) changes the sender's standing with the
number it was sent to (STOP, STOPALL; START to opt back in) and is answered in the
sender's language; HELP gets the account's help text. The answer is queued like any
message but skips the checks (a carrier requires it even to an opted-out number) and is
not billed (the customer did not send it, M2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from dialtone.core.sms import count_segments
from dialtone.policy.sms_keywords import Keyword, confirmation, keyword_of
from dialtone.services.ids import new_id
from dialtone.services.messaging import bind_notices, consents, notices
from dialtone.services.messaging.rules import MessagingRules
from dialtone.services.numbering import numbers
from dialtone.store.messaging_models import PLATFORM_ORIGIN, Message


@dataclass(frozen=True, slots=True)
class Received:
    """A stored inbound message, the keyword it was (if any) and the answer queued."""

    message: Message
    keyword: Keyword | None
    answer: Message | None


def receive(
    session: Session,
    *,
    sender: str,
    recipient: str,
    body: str,
    carrier_id: str | None,
    rules: MessagingRules,
    now: datetime,
) -> Received | None:
    """Store a message ``sender`` sent to ``recipient`` (one of the platform's numbers),
    owed to the account's webhook and SMPP binds as they ask (``notices``,
    ``bind_notices``), and act on a keyword; None when no account holds ``recipient``."""
    holder = numbers.find_holder(session, recipient.lstrip("+"))
    if holder is None or holder.account_id is None:
        return None
    account_id = holder.account_id
    counted = count_segments(body)
    message = _message(
        account_id,
        direction="inbound",
        sender=sender,
        recipient=holder.number,
        body=body,
        status="received",
        origin="carrier",
        now=now,
        rules=rules,
    )
    message.encoding, message.segments = counted.encoding, counted.segments
    message.carrier_id, message.done_at = carrier_id, now
    bind_notices.owe_inbound(session, message, now)  # before the add: one INSERT
    session.add(message)
    keyword = keyword_of(body)
    answer = None
    if keyword is not None:
        _apply(
            session,
            account_id,
            keyword,
            person=sender,
            number=holder.number,
            body=body,
            now=now,
        )
        answer = _message(
            account_id,
            direction="outbound",
            sender=holder.number,
            recipient=sender,
            body=confirmation(keyword, sender, rules.help_text),
            status="queued",
            origin=PLATFORM_ORIGIN,
            now=now,
            rules=rules,
        )
        session.add(answer)
    session.flush()
    notices.received(session, message, now)
    return Received(message, keyword, answer)


def _apply(
    session: Session,
    account_id: str,
    keyword: Keyword,
    *,
    person: str,
    number: str,
    body: str,
    now: datetime,
) -> None:
    """What a keyword changes: an opt-out (of this number, or all with STOPALL) or an
    opt-back-in. HELP changes nothing."""
    word = body.strip().upper()[:40]
    if keyword is Keyword.STOP:
        consents.opt_out(
            session, account_id, person, sender=number, keyword=word, source="keyword", now=now
        )
    elif keyword is Keyword.STOP_ALL:
        consents.opt_out(
            session, account_id, person, sender=None, keyword=word, source="keyword", now=now
        )
    elif keyword is Keyword.START:
        consents.opt_in(session, account_id, person, sender=number, now=now)


def _message(
    account_id: str,
    *,
    direction: str,
    sender: str,
    recipient: str,
    body: str,
    status: str,
    origin: str,
    now: datetime,
    rules: MessagingRules,
) -> Message:
    counted = count_segments(body)
    return Message(
        id=new_id("SM"),
        account_id=account_id,
        direction=direction,
        sender=sender,
        recipient=recipient,
        body=body,
        encoding=counted.encoding,
        segments=counted.segments,
        status=status,
        origin=origin,
        attempts=0,
        next_attempt_at=now if status == "queued" else None,
        created_at=now,
        updated_at=now,
        expires_at=now + rules.validity,
    )
