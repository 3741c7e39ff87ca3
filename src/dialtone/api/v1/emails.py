"""``/v1/emails`` and ``/v1/email``: email through the operator's SMTP relay (issue 15,
TERMS M9).

``POST /v1/emails`` checks the email (M9: the suppression list, role addresses,
sensitive data asked for, a marketing email's postal address and one-click
unsubscribe; one refusal with its ``code`` and ``rule``), stores it and answers ``202``
once it is committed: from then on it is sent even if the server stops. An
``Idempotency-Key`` header makes a retried request return the email it created.

``/v1/email/unsubscribe/{token}`` is the recipient's link, with no authentication: a
``GET`` shows a page asking to confirm (link checkers and previews fetch links; a GET
changes nothing), a ``POST`` with ``List-Unsubscribe=One-Click`` (RFC 8058, what mail
clients send, and what the page's button sends) unsubscribes at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, RecordingKeyDep, SessionDep, SettingsDep, permit
from dialtone.api.v1.policy import ChecksVerdict
from dialtone.core.errors import DialtoneError
from dialtone.policy.email import ONE_CLICK
from dialtone.services.accounts import accounts
from dialtone.services.messaging import email
from dialtone.store.email_models import EmailMessage, EmailSuppression

router = APIRouter(prefix="/v1/emails", tags=["email"])
links = APIRouter(prefix="/v1/email", tags=["email"])


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    to: str = Field(description="The recipient's address.")
    from_: str | None = Field(
        default=None, alias="from", description="The sender; default: the operator's email_from."
    )
    subject: str
    text: str = Field(description="The plain-text body (every email has one).")
    html: str | None = Field(default=None, description="An HTML alternative.")
    kind: str = Field(
        default="transactional",
        pattern="^(transactional|marketing)$",
        description='"transactional" (a receipt, a reset link: what the recipient asked for) '
        'or "marketing": it gets the account\'s postal address and a one-click unsubscribe '
        "(List-Unsubscribe, RFC 8058), and is refused without a postal address (M9).",
    )


class EmailOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    from_: str = Field(serialization_alias="from")
    to: str
    subject: str
    text: str = Field(description="As sent: a marketing email's footer included.")
    html: str | None
    kind: str
    status: str = Field(description="queued, sent, failed or suppressed.")
    error_code: str | None
    error: str | None
    message_id: str = Field(description="The Message-ID header.")
    list_unsubscribe: str | None = Field(description="The List-Unsubscribe header (marketing).")
    attempts: int
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: EmailMessage) -> EmailOut:
        return cls(
            id=row.id,
            from_=row.sender,
            to=row.recipient,
            subject=row.subject,
            text=row.text_body,
            html=row.html_body,
            kind=row.kind,
            status=row.status,
            error_code=row.error_code,
            error=row.error,
            message_id=row.message_id_header,
            list_unsubscribe=row.list_unsubscribe,
            attempts=row.attempts,
            created_at=row.created_at,
            updated_at=row.updated_at,
            sent_at=row.sent_at,
        )


class EmailList(BaseModel):
    emails: list[EmailOut]


def _outgoing(body: EmailIn, key: str | None) -> email.Outgoing:
    return email.Outgoing(
        to=body.to,
        subject=body.subject,
        text=body.text,
        kind=body.kind,
        html=body.html,
        sender=body.from_,
        idempotency_key=key,
    )


@router.post(
    "",
    dependencies=[permit("emails.send")],
    response_model=EmailOut,
    status_code=status.HTTP_202_ACCEPTED,
    response_model_by_alias=True,
)
def send_email(
    *,
    body: EmailIn,
    response: Response,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
    key: RecordingKeyDep,
    idempotency_key: Annotated[str | None, Header(max_length=120)] = None,
) -> EmailOut:
    """Send an email: checked (M9), stored, ``202``; a repeated ``Idempotency-Key``
    answers ``200`` with the email it created."""
    row, created = email.send(
        session,
        account.id,
        _outgoing(body, idempotency_key),
        rules=settings.email_rules,
        platform_key=key,
        now=datetime.now(UTC),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return EmailOut.of(row)


@router.post("/check", dependencies=[permit("policy.check")], response_model=ChecksVerdict)
def check_email(
    body: EmailIn,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
    key: RecordingKeyDep,
) -> ChecksVerdict:
    """The dry run: every check the email would go through now, nothing sent."""
    results = email.check(
        session, account.id, _outgoing(body, None), rules=settings.email_rules, platform_key=key
    )
    return ChecksVerdict.of(results)


@router.get(
    "",
    dependencies=[permit("emails.read")],
    response_model=EmailList,
    response_model_by_alias=True,
)
def list_emails(
    *,
    account: AccountDep,
    session: SessionDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    to: str | None = None,
    kind: Annotated[str | None, Query(pattern="^(transactional|marketing)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EmailList:
    """The account's emails, newest first."""
    rows = email.list_emails(session, account.id, status=status_, to=to, kind=kind, limit=limit)
    return EmailList(emails=[EmailOut.of(r) for r in rows])


@router.get(
    "/{email_id}",
    dependencies=[permit("emails.read")],
    response_model=EmailOut,
    response_model_by_alias=True,
)
def get_email(email_id: str, account: AccountDep, session: SessionDep) -> EmailOut:
    """One email."""
    return EmailOut.of(email.get_email(session, account.id, email_id))


# -- The suppression list --------------------------------------------------------------------


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    reason: str = Field(
        default="manual",
        pattern="^(manual|bounce)$",
        description='"manual" (the default) or "bounce"; an unsubscribe is the recipient\'s '
        "own, through the link (M9).",
    )


class SuppressionOut(BaseModel):
    address: str
    reason: str = Field(description="unsubscribe, bounce or manual.")
    created_at: datetime

    @classmethod
    def of(cls, row: EmailSuppression) -> SuppressionOut:
        return cls(address=row.address, reason=row.reason, created_at=row.created_at)


class SuppressionList(BaseModel):
    suppressions: list[SuppressionOut]


@links.get("/suppressions", dependencies=[permit("emails.read")], response_model=SuppressionList)
def list_suppressions(
    account: AccountDep,
    session: SessionDep,
    reason: Annotated[str | None, Query(pattern="^(unsubscribe|bounce|manual)$")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> SuppressionList:
    """The account's suppression list (M9), newest first."""
    rows = email.list_suppressions(session, account.id, reason=reason, limit=limit)
    return SuppressionList(suppressions=[SuppressionOut.of(r) for r in rows])


@links.post(
    "/suppressions",
    dependencies=[permit("emails.send")],
    response_model=SuppressionOut,
    status_code=status.HTTP_201_CREATED,
)
def add_suppression(
    body: SuppressionIn, account: AccountDep, session: SessionDep
) -> SuppressionOut:
    """Stop all mail to an address (M9); queued mail to it is suppressed at once."""
    address = email.valid_address(body.address, "address")
    row = email.suppress(session, account.id, address, body.reason, now=datetime.now(UTC))
    return SuppressionOut.of(row)


@links.delete(
    "/suppressions/{address}",
    dependencies=[permit("emails.send")],
    status_code=status.HTTP_204_NO_CONTENT,
)
def remove_suppression(address: str, account: AccountDep, session: SessionDep) -> Response:
    """Take an address off the list; a recipient's unsubscribe stays (409
    ``suppression.unsubscribed``, M9)."""
    email.remove_suppression(session, account.id, address)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- The recipient's link (no authentication) ---------------------------------------------------

_MULTIPART_ONE_CLICK = re.compile(
    rb'name="?List-Unsubscribe"?[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n'
)


async def _one_click(request: Request) -> bool:
    """Whether the POST's body is RFC 8058's ``List-Unsubscribe=One-Click``, form
    URL-encoded (the page's button, most clients) or as multipart form data."""
    body = await request.body()
    if "multipart/form-data" in request.headers.get("content-type", ""):
        return _MULTIPART_ONE_CLICK.search(body) is not None
    fields = parse_qs(body.decode("utf-8", "replace"))
    return fields.get("List-Unsubscribe") == ["One-Click"]


OneClickDep = Annotated[bool, Depends(_one_click)]


def _page(title: str, text: str, form: bool = False) -> HTMLResponse:
    button = ""
    if form:
        name, value = ONE_CLICK.split("=")
        button = (
            f'<form method="post"><input type="hidden" name="{name}" value="{value}">'
            '<button type="submit">Unsubscribe</button></form>'
        )
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(text)}</p>{button}</body></html>",
        headers={"Cache-Control": "no-store"},
    )


@links.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, session: SessionDep, key: RecordingKeyDep) -> HTMLResponse:
    """The page an unsubscribe link opens: what it will do, and a button (nothing is
    changed by a GET)."""
    account_id, address = email.read_token(key, token)
    name = accounts.get_account(session, account_id).name
    return _page(
        "Unsubscribe",
        f"Stop marketing email from {name} to {address}?",
        form=True,
    )


@links.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(
    token: str, one_click: OneClickDep, session: SessionDep, key: RecordingKeyDep
) -> HTMLResponse:
    """The one-click unsubscribe (RFC 8058): honoured at once (M9)."""
    if not one_click:
        raise DialtoneError(
            "request.invalid", f"An unsubscribe is a POST of {ONE_CLICK} (RFC 8058)."
        )
    row = email.unsubscribe(session, key, token, now=datetime.now(UTC))
    name = accounts.get_account(session, row.account_id).name
    return _page("Unsubscribed", f"{row.address} will get no more marketing email from {name}.")
