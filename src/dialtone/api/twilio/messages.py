"""``…/Messages``: SMS through the Twilio-compatible API (issue 16).

Sending goes through the messaging service, as ``POST /v1/messages`` does: the same
checks (M1, M3-M8, M11), stored ``queued`` before the 201, sent by the dispatcher. The
message's ``origin`` is ``twilio``: its status callbacks are Twilio's form posts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.api.deps import SessionDep, SettingsDep, wake_dispatcher
from dialtone.api.twilio.accounts import account_uri
from dialtone.api.twilio.auth import TwilioCallerDep, permit
from dialtone.api.twilio.wire import (
    API_VERSION,
    PREFIX,
    Paging,
    Params,
    ParamsDep,
    as_parameter,
    page_body,
    price,
    respond,
    rfc2822,
    window,
)
from dialtone.core.errors import Conflict, DialtoneError
from dialtone.policy.codes import REGISTRY
from dialtone.services.messaging import messages
from dialtone.services.numbering import numbers
from dialtone.services.twilio import listings
from dialtone.services.twilio.error_codes import twilio_code
from dialtone.store.messaging_models import Message
from dialtone.store.models import RatedLine

router = APIRouter(prefix=f"{PREFIX}/Accounts/{{AccountSid}}", tags=["twilio"])

R = "Messages"
ORIGIN = "twilio"  # a message sent through this API: Twilio-shaped status callbacks
# Twilio's statuses for ours; an expired message failed (not delivered in its validity).
_STATUS = {"expired": "failed"}
# Parameters of Twilio's that ask for what dialtone does not do.
_UNSUPPORTED = {
    "MediaUrl": "MMS (MediaUrl) is not supported: SMS only.",
    "ContentSid": "Content templates (ContentSid) are not supported.",
    "SendAt": "Scheduled messages (SendAt) are not supported.",
}


def _direction(row: Message) -> str:
    if row.direction == "inbound":
        return "inbound"
    return "outbound-reply" if row.origin == "twiml" else "outbound-api"


def _error_code(code: str | None) -> int | None:
    if code is None:
        return None
    known = REGISTRY.get(code)
    return twilio_code(code, known.http_status if known is not None else 400)


def message_json(row: Message, cost: RatedLine | None) -> dict[str, Any]:
    """A message as Twilio shows it."""
    uri = f"{account_uri(row.account_id)}/Messages/{row.id}"
    state = "received" if row.direction == "inbound" else _STATUS.get(row.status, row.status)
    return {
        "account_sid": row.account_id,
        "api_version": API_VERSION,
        "body": row.body,
        "date_created": rfc2822(row.created_at),
        "date_sent": rfc2822(row.sent_at if row.direction == "outbound" else row.created_at),
        "date_updated": rfc2822(row.updated_at),
        "direction": _direction(row),
        "error_code": _error_code(row.error_code),
        "error_message": row.error_message,
        "from": row.sender,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": str(row.segments),
        "price": price(Decimal(cost.price) + Decimal(cost.penalty)) if cost else None,
        "price_unit": cost.currency if cost else None,
        "sid": row.id,
        "status": state,
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": row.recipient,
        "uri": f"{uri}.json",
    }


def _costs(session: Session, rows: list[Message]) -> dict[str, RatedLine]:
    """The rated line of each message rated so far (M2), by message id."""
    keys = [f"sms:{r.id}" for r in rows]
    if not keys:
        return {}
    found = session.scalars(select(RatedLine).where(RatedLine.usage_key.in_(keys)))
    return {line.usage_key.removeprefix("sms:"): line for line in found}


def _number(found: Params, name: str, country: str) -> str | None:
    raw = found.text(R, name)
    if raw is None:
        return None
    try:
        return numbers.to_e164(raw, country)
    except DialtoneError as exc:
        raise as_parameter(exc, R, name) from None


@router.post("/Messages.json", dependencies=[permit("messages.send")])
def create_message(
    *,
    request: Request,
    background: BackgroundTasks,
    caller: TwilioCallerDep,
    found: ParamsDep,
    session: SessionDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Send an SMS: ``To``, ``From`` (``MessagingServiceSid`` alone is not supported),
    ``Body``, ``StatusCallback``. 201 with the message, ``queued``."""
    for name, why in _UNSUPPORTED.items():
        if found.has(name):
            raise DialtoneError("twilio.unsupported", why)
    sender = found.text(R, "From", most=32)
    if sender is None and found.has("MessagingServiceSid"):
        raise DialtoneError(
            "twilio.unsupported",
            "Messaging services (MessagingServiceSid) are not supported: send From, one of "
            "the account's numbers or sender IDs.",
        )
    to = found.text(R, "To", required=True, most=32)
    sender = found.text(R, "From", required=True, most=32)
    body = found.get("Body")
    if not body:
        found.text(R, "Body", required=True)
    country = settings.default_country
    assert to is not None
    assert sender is not None
    assert body is not None
    try:
        wanted = numbers.to_e164(to, country)
    except DialtoneError as exc:
        raise as_parameter(exc, R, "To") from None
    row, _ = messages.send(
        session,
        caller.account.id,
        messages.Outgoing(
            sender=sender,
            to=wanted,
            body=body,
            status_callback=found.text(R, "StatusCallback"),
            origin=ORIGIN,
            # Its status callbacks in Twilio's shape, as a Twilio client expects them.
            callback_format="twilio",
        ),
        rules=settings.messaging_rules,
        now=datetime.now(UTC),
    )
    background.add_task(wake_dispatcher, request)
    return respond(message_json(row, None), status.HTTP_201_CREATED)


@router.get("/Messages.json", dependencies=[permit("messages.read")])
def list_messages(
    *,
    request: Request,
    caller: TwilioCallerDep,
    found: ParamsDep,
    session: SessionDep,
    settings: SettingsDep,
) -> JSONResponse:
    """The account's messages, newest first: ``To``, ``From``, ``DateSent`` (``<=``,
    ``>=``) filters; Twilio's paging."""
    paging = Paging.of(found, R)
    sent = window(found, R, "DateSent")
    rows, more = listings.messages(
        session,
        caller.account.id,
        listings.Slice(paging.start, paging.size),
        to=_number(found, "To", settings.default_country),
        sender=found.text(R, "From"),
        sent_since=sent.since,
        sent_until=sent.until,
    )
    costs = _costs(session, rows)
    items = [message_json(r, costs.get(r.id)) for r in rows]
    return respond(page_body(request, found, paging=paging, key="messages", rows=items, more=more))


@router.get("/Messages/{MessageSid}.json", dependencies=[permit("messages.read")])
def fetch_message(MessageSid: str, caller: TwilioCallerDep, session: SessionDep) -> JSONResponse:
    """One message (20404 when the account has none of that SID)."""
    row = messages.get_message(session, caller.account.id, MessageSid)
    return respond(message_json(row, _costs(session, [row]).get(row.id)))


@router.delete("/Messages/{MessageSid}.json", dependencies=[permit("messages.send")])
def delete_message(MessageSid: str, caller: TwilioCallerDep, session: SessionDep) -> Response:
    """Delete a message once it is done (delivered, undelivered, failed, expired, or
    received): one still being sent is refused (20009). Its billing line stays (M2)."""
    row = messages.get_message(session, caller.account.id, MessageSid)
    if row.direction == "outbound" and row.status not in messages.FINAL_STATES:
        raise Conflict(
            "message.in_flight",
            f"Message {row.id} is {row.status}: it can be deleted once it is done.",
        )
    session.delete(row)
    session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
