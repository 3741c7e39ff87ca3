"""Inbound messages to a number with an ``SmsUrl`` (the Twilio-compatible API): the
request is owed in the transaction that stores the message (a webhook delivery of event
``message.twiml``, signed like every Twilio-style one), and its answer, messaging TwiML,
is acted on in the transaction that records the delivery: each ``<Message>`` sent
through the messaging service (every check of an SMS applies: M3 opt-out, M7, M11…),
a ``<Redirect>`` owed as the next request, a failure tried once at the number's
``SmsFallbackUrl`` and put on the account's error log. Nothing is lost on a crash, and
no reply goes twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import error_log, twilio_signing, webhooks
from dialtone.services.messaging import messages
from dialtone.services.messaging.rules import MessagingRules
from dialtone.store.messaging_models import Message
from dialtone.store.models import PhoneNumber
from dialtone.twiml import messaging as twiml_messaging
from dialtone.twiml import params as twiml_params
from dialtone.twiml.tasks import Fetched, FetchTwiml, ReportError

EVENT = "message.twiml"
FALLBACK = "fallback"


class Answer(Protocol):
    """What the request got (``runtime.webhook_sender.Answer``)."""

    @property
    def status(self) -> int | None: ...

    @property
    def content_type(self) -> str | None: ...

    @property
    def body(self) -> bytes: ...

    @property
    def error(self) -> str | None: ...


def owe_request(session: Session, message: Message, now: datetime) -> bool:
    """Owe the number's ``SmsUrl`` the inbound ``message`` (in the transaction that
    stores it); False when the number has none."""
    number = session.scalar(select(PhoneNumber).where(PhoneNumber.number == message.recipient))
    if number is None or number.account_id != message.account_id or not number.sms_url:
        return False
    params = twiml_params.message_request(_params(message))
    webhooks.enqueue_twilio(
        session,
        message.account_id,
        url=number.sms_url,
        method=number.sms_method,
        params=params,
        event=EVENT,
        now=now,
    )
    return True


def _params(message: Message) -> twiml_params.MessageParams:
    return twiml_params.MessageParams(
        message_sid=message.id,
        account_sid=message.account_id,
        from_=message.sender,
        to=message.recipient,
        body=message.body,
        num_segments=message.segments,
    )


def answered(
    session: Session,
    due: webhooks.Due,
    got: Answer,
    *,
    rules: MessagingRules,
    now: datetime,
) -> bool:
    """Act on the answer to an owed request: True when replies were stored to send."""
    sent = dict(twilio_signing.decode(due.body))  # the parameters as they were sent
    message = twiml_params.MessageParams(
        message_sid=sent.get("MessageSid", ""),
        account_sid=due.account_id,
        from_=sent.get("From", ""),
        to=sent.get("To", ""),
        body=sent.get("Body", ""),
        num_segments=int(sent.get("NumSegments") or 1),
    )
    _, _, tail = due.event.partition(":")
    redirects = int(tail) if tail.isdigit() else 0
    fetched = None
    if got.status is not None:
        fetched = Fetched(due.url, got.status, got.content_type, got.body)
    result = twiml_messaging.answer(message, fetched, failure=got.error, redirects=redirects)
    if result.error is not None:
        if got.error is not None and tail != FALLBACK and _fallback(session, due, message, now):
            return False
        _report(session, due.account_id, result.error, message.message_sid, now)
    stored = False
    for reply in result.replies:
        outgoing = messages.Outgoing(
            sender=reply.from_,
            to=reply.to,
            body=reply.body,
            status_callback=reply.status_callback or reply.action,
            origin="twilio",
            callback_format="twilio",
        )
        try:
            with session.begin_nested():
                messages.send(session, due.account_id, outgoing, rules=rules, now=now)
            stored = True
        except DialtoneError as refused:
            # A refusal by the terms (opted out, M3…) is the account's to see; the other
            # replies still go.
            _report(
                session,
                due.account_id,
                ReportError(21610 if refused.rule == "M3" else 12300, refused.message, due.url),
                message.message_sid,
                now,
                code=refused.code,
            )
    if result.redirect is not None:
        _owe(session, due.account_id, result.redirect, f"{EVENT}:{redirects + 1}", now)
    return stored


def _fallback(
    session: Session, due: webhooks.Due, message: twiml_params.MessageParams, now: datetime
) -> bool:
    """The number's SmsFallbackUrl told of the failure, once (as Twilio does)."""
    number = session.scalar(select(PhoneNumber).where(PhoneNumber.number == message.to))
    if number is None or not number.sms_fallback_url:
        return False
    params = (
        *twiml_params.message_request(message).items(),
        ("ErrorCode", "11200"),
        ("ErrorUrl", due.url.partition("?")[0]),
    )
    request = FetchTwiml(number.sms_fallback_url, number.sms_fallback_method, params)  # type: ignore[arg-type]
    _owe(session, due.account_id, request, f"{EVENT}:{FALLBACK}", now)
    return True


def _owe(session: Session, account_id: str, request: FetchTwiml, event: str, now: datetime) -> None:
    webhooks.enqueue_twilio(
        session,
        account_id,
        url=request.url,
        method=request.method,
        params=request.params,
        event=event,
        now=now,
    )


def _report(
    session: Session,
    account_id: str,
    error: ReportError,
    message_sid: str,
    now: datetime,
    *,
    code: str | None = None,
) -> None:
    error_log.record(
        session,
        error_log.ApiError(
            at=now,
            account_id=account_id,
            client_ip=None,
            method="TwiML",
            path=(error.url or message_sid)[:300],
            status=error.code,
            code=code or f"twilio.{error.code}",
            message=f"message {message_sid}: {error.message}",
        ),
    )
