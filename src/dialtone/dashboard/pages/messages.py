"""Messages: the account's SMS as conversations (grouped by the other party's number),
one conversation with each message's state, opt-ins and opt-outs (TERMS M3), and a
form that sends an SMS through ``messages.send``, the service ``POST /v1/messages``
uses: every SMS rule applies (M1, M3-M7, M11) and a refusal shows its rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.deps import SessionDep, SettingsDep, wake_dispatcher
from dialtone.dashboard.forms import FormDep, flag, optional, text
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.accounts import accounts
from dialtone.services.messaging import consents, conversations, messages
from dialtone.services.numbering import numbers
from dialtone.settings import Settings
from dialtone.store.models import Account

router = APIRouter(prefix="/console", include_in_schema=False)

SENT = notice("message.sent", "The message was accepted: it is sent in the background.")
OPTED_IN = notice("consent.recorded", "The opt-in was recorded.")
WITHDRAWN = notice("consent.withdrawn", "The opt-in was withdrawn.")
OPTED_OUT = notice("opt_out.recorded", "The opt-out was recorded.")


def _number(account: Account, settings: Settings, value: str) -> str:
    """A number typed in the account's national form or E.164, as E.164 (as the API)."""
    return numbers.to_e164(value, accounts.dialling_country(account, settings.default_country))


def _senders(session: SessionDep, account_id: str) -> list[str]:
    return [n.number for n in numbers.list_numbers(session, account_id)]


@router.get("/messages", response_class=HTMLResponse)
def conversation_list(
    request: Request, session: SessionDep, viewer: Annotated[Viewer, needs("messages.read")]
) -> HTMLResponse:
    """The conversations, the most recently active first, and the form to send one."""
    context: dict[str, Any] = {
        "title": viewer.t("Messages"),
        "rows": conversations.conversations(session, viewer.account.id),
        "can_send": viewer.can("messages.send"),
        "senders": _senders(session, viewer.account.id),
        "to": "",
        "sees_consents": viewer.can("consents.read"),
    }
    return page(request, viewer, "messages.html", context)


@router.get("/messages/with/{party}", response_class=HTMLResponse)
def conversation(
    party: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("messages.read")],
) -> HTMLResponse:
    """One conversation: every message to and from ``party``, newest first, with its
    state (and why it failed), and their opt-outs."""
    rows = conversations.messages_with(session, viewer.account.id, party)
    opt_outs = (
        consents.opt_outs_of(session, viewer.account.id, party)
        if viewer.can("consents.read")
        else []
    )
    context: dict[str, Any] = {
        "title": viewer.t("Conversation with {party}", party=party),
        "party": party,
        "rows": rows,
        "opt_outs": opt_outs,
        "can_send": viewer.can("messages.send"),
        "senders": _senders(session, viewer.account.id),
        "to": party,
    }
    return page(request, viewer, "messages_conversation.html", context)


@router.post("/messages/send")
def send_message(
    *,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("messages.send")],
    form: FormDep,
) -> Response:
    """Send an SMS as ``POST /v1/messages`` does (same checks; a refusal is shown with
    its code and rule and put on the audit log)."""
    row, _ = messages.send(
        session,
        viewer.account.id,
        messages.Outgoing(
            sender=text(form, "from"),
            to=text(form, "to"),
            body=text(form, "body"),
            marketing=flag(form, "marketing"),
            origin="console",
        ),
        rules=settings.messaging_rules,
        now=datetime.now(UTC),
    )
    background.add_task(wake_dispatcher, request)
    return back_to(f"/console/messages/with/{quote(row.recipient, safe='+')}", SENT)


@router.get("/messages/consents", response_class=HTMLResponse)
def consent_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("consents.read")],
    recipient: str | None = None,
) -> HTMLResponse:
    """Opt-ins and opt-outs (of one recipient when given), and the forms recording them."""
    who = _number(viewer.account, settings, recipient) if recipient else None
    context: dict[str, Any] = {
        "title": viewer.t("Opt-ins and opt-outs"),
        "recipient": recipient or "",
        "consents": consents.consents_of(session, viewer.account.id, who),
        "opt_outs": consents.opt_outs_of(session, viewer.account.id, who),
        "can_write": viewer.can("consents.write"),
        "senders": _senders(session, viewer.account.id),
    }
    return page(request, viewer, "messages_consents.html", context)


@router.post("/messages/consents")
def record_consent(
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("consents.write")],
    form: FormDep,
) -> Response:
    """Record an opt-in (M3), as ``POST /v1/consents``."""
    now = datetime.now(UTC)
    consents.record_consent(
        session,
        viewer.account.id,
        consents.ConsentIn(
            recipient=_number(viewer.account, settings, text(form, "recipient")),
            source=text(form, "source"),
            wording=text(form, "wording"),
            given_at=now,
            marketing=flag(form, "marketing"),
        ),
        now=now,
    )
    return back_to("/console/messages/consents", OPTED_IN)


@router.post("/messages/consents/{consent_id}/withdraw")
def withdraw_consent(
    consent_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("consents.write")],
    form: FormDep,
) -> Response:
    """Withdraw an opt-in (the record stays, as proof of the past)."""
    consents.withdraw_consent(session, viewer.account.id, consent_id, now=datetime.now(UTC))
    return back_to("/console/messages/consents", WITHDRAWN)


@router.post("/messages/opt-outs")
def record_opt_out(
    session: SessionDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, needs("consents.write")],
    form: FormDep,
) -> Response:
    """Record an opt-out asked for another way (by phone, by mail), as
    ``POST /v1/opt-outs``; only the recipient lifts it (START)."""
    sender = optional(form, "sender")
    consents.opt_out(
        session,
        viewer.account.id,
        _number(viewer.account, settings, text(form, "recipient")),
        sender=_number(viewer.account, settings, sender) if sender else None,
        keyword="CONSOLE",
        source="console",
        now=datetime.now(UTC),
    )
    return back_to("/console/messages/consents", OPTED_OUT)
