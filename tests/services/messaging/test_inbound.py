"""Inbound messages: stored, keywords act on the sender's standing (M3) and are answered
in their language, unbilled."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.policy.checklist import verdict
from dialtone.policy.sms_keywords import Keyword
from dialtone.services.accounts import accounts
from dialtone.services.billing import rating, subscriptions, tariffs
from dialtone.services.messaging import consents, inbound, messages
from dialtone.store.messaging_models import Message, WebhookDelivery
from tests.services.conftest import T0
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES

HELLO = messages.Outgoing(sender=NUMBER, to=RECIPIENT, body="Your table is ready.")


def _receive(session: Session, body: str, *, sender: str = RECIPIENT) -> inbound.Received:
    received = inbound.receive(
        session,
        sender=sender,
        recipient=NUMBER,
        body=body,
        carrier_id="SC1",
        rules=RULES,
        now=NOW,
    )
    assert received is not None
    return received


def test_an_ordinary_message_is_stored_for_the_numbers_account(
    session: Session, account: str, sender: str
) -> None:
    received = _receive(session, "Are you open on Sunday?")
    assert received.keyword is None
    assert received.answer is None
    row = received.message
    assert (row.account_id, row.direction, row.status, row.sender, row.recipient) == (
        account,
        "inbound",
        "received",
        RECIPIENT,
        NUMBER,
    )


def test_a_message_to_a_number_nobody_holds_is_not_stored(session: Session) -> None:
    assert (
        inbound.receive(
            session,
            sender=RECIPIENT,
            recipient="+33999999999",
            body="hi",
            carrier_id=None,
            rules=RULES,
            now=NOW,
        )
        is None
    )
    assert session.scalar(select(Message.id)) is None


def test_stop_opts_out_and_is_confirmed_in_french(
    session: Session, account: str, sender: str
) -> None:
    received = _receive(session, "Arrêt")
    assert received.keyword is Keyword.STOP
    assert received.answer is not None
    assert "désabonné" in received.answer.body
    assert (received.answer.sender, received.answer.recipient, received.answer.status) == (
        NUMBER,
        RECIPIENT,
        "queued",
    )
    assert verdict(messages.check(session, account, HELLO, rules=RULES, now=NOW)).code == (
        "sms.opted_out"
    )
    [record] = consents.opt_outs_of(session, account, RECIPIENT)
    assert (record.sender, record.keyword, record.source) == (NUMBER, "ARRÊT", "keyword")


def test_start_opts_back_in_and_stopall_covers_every_sender(
    session: Session, account: str, sender: str
) -> None:
    _receive(session, "STOPALL")
    acme = replace(HELLO, sender="ACME")
    assert verdict(messages.check(session, account, acme, rules=RULES, now=NOW)).code == (
        "sms.opted_out"
    )
    received = _receive(session, "start")
    assert received.keyword is Keyword.START
    assert verdict(messages.check(session, account, acme, rules=RULES, now=NOW)).allowed
    assert verdict(messages.check(session, account, HELLO, rules=RULES, now=NOW)).allowed


def test_help_gets_the_help_text(session: Session, account: str, sender: str) -> None:
    received = inbound.receive(
        session,
        sender="+447400123456",
        recipient=NUMBER,
        body="HELP",
        carrier_id=None,
        rules=replace(RULES, help_text="Acme bistro: +33 1 23 45 67 89"),
        now=NOW,
    )
    assert received is not None
    assert received.answer is not None
    assert received.answer.body == "Acme bistro: +33 1 23 45 67 89"


def test_keyword_answers_are_not_billed_but_the_customers_messages_are(
    session: Session, account: str, sender: str
) -> None:
    """M2: every processed SMS the customer initiates is billed by its parts,
    delivered or not; the platform's answers to keywords are not the customer's."""
    subscriptions.subscribe(
        session, account, plan_code="essential", currency="EUR", country="FR", now=T0
    )
    tariffs.import_csv(
        session,
        "sms",
        "EUR",
        "prefix,destination,rate_per_segment\n33,France,0.05\n",
        effective_from=T0,
        now=T0,
    )
    two_parts = replace(HELLO, body="x" * 200)
    messages.send(session, account, two_parts, rules=RULES, now=NOW)
    _receive(session, "STOP")
    lines = rating.rate_account(session, account, now=NOW.replace(hour=23))
    sms_lines = [line for line in lines if line.kind == "sms"]
    assert [(line.quantity, line.price) for line in sms_lines] == [(2, Decimal("0.1000"))]


def test_an_inbound_message_is_owed_to_the_accounts_webhook(
    session: Session, account: str, sender: str
) -> None:
    accounts.set_sms_webhook(session, account, "https://acme.example/inbound")
    received = _receive(session, "Are you open on Sunday?")
    [owed] = session.scalars(select(WebhookDelivery)).all()
    body = json.loads(owed.body)
    assert (owed.url, body["event"], body["message_id"], body["body"]) == (
        "https://acme.example/inbound",
        "message.received",
        received.message.id,
        "Are you open on Sunday?",
    )
