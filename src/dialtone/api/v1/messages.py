"""``/v1/messages``: SMS sent and received by the account (issue 15).

``POST`` checks the message against the terms (M1, M3-M7, M11: one refusal with its
``code`` and ``rule``), stores it and answers ``202`` once it is committed: from then
on it is sent even if the server stops. An ``Idempotency-Key`` header makes a retried
request return the message it created instead of sending another. ``POST
/v1/messages/check`` is the dry run: the same checks, nothing stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep, permit, wake_dispatcher
from dialtone.api.v1.policy import ChecksVerdict
from dialtone.services.accounts import webhook_targets
from dialtone.services.messaging import messages
from dialtone.store.messaging_models import Message

router = APIRouter(prefix="/v1/messages", tags=["messages"])


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    to: str = Field(description="The recipient, E.164 or a national form of the account's country.")
    from_: str = Field(
        alias="from",
        description="A number the account holds, or an alphanumeric sender ID registered "
        "to it (M6).",
    )
    body: str = Field(description="The text; longer than one SMS, it goes in parts (M1).")
    marketing: bool = Field(
        default=False, description="A marketing message needs a marketing opt-in (M3)."
    )
    status_callback: str | None = Field(
        default=None,
        description="A URL told of every change of the message's status (http or https, "
        "public addresses only unless the operator allows others: 400 "
        "webhook.target_refused).",
    )


class MessageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    direction: str
    from_: str = Field(serialization_alias="from")
    to: str
    body: str
    encoding: str = Field(description='"GSM-7" or "UCS-2" (M1).')
    segments: int = Field(description="Parts billed (M1, M2).")
    status: str = Field(
        description="queued, sending, sent, delivered, undelivered, failed or expired."
    )
    error_code: str | None
    error_rule: str | None
    error_message: str | None
    origin: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    done_at: datetime | None
    expires_at: datetime

    @classmethod
    def of(cls, row: Message) -> MessageOut:
        return cls(
            id=row.id,
            direction=row.direction,
            from_=row.sender,
            to=row.recipient,
            body=row.body,
            encoding=row.encoding,
            segments=row.segments,
            status=row.status,
            error_code=row.error_code,
            error_rule=row.error_rule,
            error_message=row.error_message,
            origin=row.origin,
            created_at=row.created_at,
            updated_at=row.updated_at,
            sent_at=row.sent_at,
            done_at=row.done_at,
            expires_at=row.expires_at,
        )


class MessageList(BaseModel):
    messages: list[MessageOut]


def _outgoing(body: MessageIn, key: str | None, origin: str = "api") -> messages.Outgoing:
    return messages.Outgoing(
        sender=body.from_,
        to=body.to,
        body=body.body,
        marketing=body.marketing,
        status_callback=body.status_callback,
        idempotency_key=key,
        origin=origin,
    )


@router.post(
    "",
    dependencies=[permit("messages.send")],
    response_model=MessageOut,
    status_code=status.HTTP_202_ACCEPTED,
    response_model_by_alias=True,
)
def send_message(
    *,
    body: MessageIn,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=120)] = None,
) -> MessageOut:
    """Send an SMS: checked, stored, ``202``; a repeated ``Idempotency-Key`` answers
    ``200`` with the message it created."""
    if body.status_callback:
        # The SSRF guard without resolving the name (not on the hot path of every
        # message): a literal address or localhost is refused now; each request to the
        # callback checks every address its name resolves to then.
        webhook_targets.check_url(body.status_callback, settings.webhook_target_policy)
    row, created = messages.send(
        session,
        account.id,
        _outgoing(body, idempotency_key),
        rules=settings.messaging_rules,
        now=datetime.now(UTC),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    # After the response, hence after the commit: the dispatcher then finds the message.
    background.add_task(wake_dispatcher, request)
    return MessageOut.of(row)


@router.post("/check", dependencies=[permit("policy.check")], response_model=ChecksVerdict)
def check_message(
    body: MessageIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> ChecksVerdict:
    """The dry run: every check the message would go through now, nothing sent."""
    results = messages.check(
        session,
        account.id,
        _outgoing(body, None),
        rules=settings.messaging_rules,
        now=datetime.now(UTC),
    )
    return ChecksVerdict.of(results)


@router.get(
    "",
    dependencies=[permit("messages.read")],
    response_model=MessageList,
    response_model_by_alias=True,
)
def list_messages(
    *,
    account: AccountDep,
    session: SessionDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    to: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    direction: Annotated[str | None, Query(pattern="^(inbound|outbound)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MessageList:
    """The account's messages, newest first."""
    rows = messages.list_messages(
        session,
        account.id,
        status=status_,
        to=to,
        sender=from_,
        direction=direction,
        limit=limit,
    )
    return MessageList(messages=[MessageOut.of(r) for r in rows])


@router.get(
    "/{message_id}",
    dependencies=[permit("messages.read")],
    response_model=MessageOut,
    response_model_by_alias=True,
)
def get_message(message_id: str, account: AccountDep, session: SessionDep) -> MessageOut:
    """One message."""
    return MessageOut.of(messages.get_message(session, account.id, message_id))
