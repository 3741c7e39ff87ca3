"""What a customer is told about its messages: over HTTP, each change of a message's
status to its ``status_callback`` (with the code and rule of a failure; in Twilio's
shape for a message whose ``callback_format`` is "twilio"), each inbound
message to the account's ``sms_webhook_url``; over SMPP, the delivery receipt its bind
asked for (:mod:`dialtone.services.messaging.bind_notices`). Owed in the transaction of
the change (:mod:`dialtone.services.accounts.webhooks`), so none is lost or told of a
change that did not commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dialtone.services.accounts import webhooks
from dialtone.services.messaging import bind_notices, twilio_callbacks, twiml_replies
from dialtone.store.messaging_models import Message
from dialtone.store.models import Account


def _payload(message: Message, now: datetime) -> dict[str, Any]:
    return {
        "message_id": message.id,
        "direction": message.direction,
        "status": message.status,
        "from": message.sender,
        "to": message.recipient,
        "segments": message.segments,
        "error_code": message.error_code,
        "error_rule": message.error_rule,
        "error_message": message.error_message,
        "at": now.isoformat(),
    }


def status_changed(session: Session, message: Message, now: datetime) -> None:
    """Owe the message's new status to its status callback, if it has one, and its
    receipt to its SMPP bind, if that asked for one."""
    bind_notices.owe_receipt(message, now)
    if message.status_callback and message.callback_format == "twilio":
        webhooks.enqueue_twilio(
            session,
            message.account_id,
            url=message.status_callback,
            method="POST",
            params=twilio_callbacks.status_params(message),
            event="message.status",
            now=now,
        )
    elif message.status_callback:
        webhooks.enqueue(
            session,
            message.account_id,
            url=message.status_callback,
            event="message.status",
            payload=_payload(message, now),
            now=now,
        )


def received(session: Session, message: Message, now: datetime) -> None:
    """Owe an inbound message to its number's ``SmsUrl`` (TwiML answers it), else to
    the account's SMS webhook, if it set one."""
    if twiml_replies.owe_request(session, message, now):
        return
    account = session.get(Account, message.account_id)
    if account is not None and account.sms_webhook_url:
        payload = _payload(message, now) | {"body": message.body}
        webhooks.enqueue(
            session,
            message.account_id,
            url=account.sms_webhook_url,
            event="message.received",
            payload=payload,
            now=now,
        )
