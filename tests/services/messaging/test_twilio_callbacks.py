"""A message sent with ``callback_format="twilio"`` has its status changes owed in
Twilio's shape (form parameters, Twilio's statuses and error codes, our rule beside);
others keep the JSON they always had."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import twilio_signing
from dialtone.services.messaging import delivery, messages, twilio_callbacks
from dialtone.services.messaging.delivery import Submitted
from dialtone.store.messaging_models import Message, WebhookDelivery
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES

HOOK = "https://app.example/sms-status"
TWILIO = messages.Outgoing(
    sender=NUMBER, to=RECIPIENT, body="Hi", status_callback=HOOK, callback_format="twilio"
)


def _owed(session: Session) -> list[WebhookDelivery]:
    return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _sent(session: Session, account: str, outgoing: messages.Outgoing) -> Message:
    row, _ = messages.send(session, account, outgoing, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    for seq in range(1, row.segments + 1):
        part = Submitted(seq, row.segments, f"C-{row.id}-{seq}")
        delivery.record_part(session, row.id, part, carrier_id="SC1", now=NOW)
    return row


def test_a_twilio_message_is_told_in_twilios_shape(
    session: Session, account: str, sender: str
) -> None:
    row = _sent(session, account, TWILIO)
    later = NOW + timedelta(minutes=1)
    delivery.record_receipt(session, "SC1", f"C-{row.id}-1", "delivered", error=None, now=later)
    sent, delivered = _owed(session)
    assert (sent.format, sent.method, sent.url, sent.event) == (
        "twilio",
        "POST",
        HOOK,
        "message.status",
    )
    first = dict(twilio_signing.decode(sent.body))
    assert first == {
        "AccountSid": account,
        "ApiVersion": "2010-04-01",
        "From": NUMBER,
        "MessageSid": row.id,
        "MessageStatus": "sent",
        "NumSegments": "1",
        "SmsSid": row.id,
        "SmsStatus": "sent",
        "To": RECIPIENT,
    }
    last = dict(twilio_signing.decode(delivered.body))
    assert last["MessageStatus"] == last["SmsStatus"] == "delivered"
    assert last["RawDlrDoneDate"] == later.strftime("%y%m%d%H%M")
    assert "ErrorCode" not in last


def test_an_undelivered_message_carries_twilios_code_and_ours(
    session: Session, account: str, sender: str
) -> None:
    row = _sent(session, account, TWILIO)
    delivery.record_receipt(session, "SC1", f"C-{row.id}-1", "undelivered", error="e", now=NOW)
    last = dict(twilio_signing.decode(_owed(session)[-1].body))
    assert (last["MessageStatus"], last["ErrorCode"], last["DialtoneReason"]) == (
        "undelivered",
        "30003",
        "sms.undelivered",
    )


def test_a_dialtone_message_keeps_its_json(session: Session, account: str, sender: str) -> None:
    _sent(session, account, replace(TWILIO, callback_format="dialtone"))
    [owed] = _owed(session)
    assert (owed.format, owed.body.startswith("{")) == ("dialtone", True)


def test_an_unknown_callback_format_is_refused(session: Session, account: str, sender: str) -> None:
    with pytest.raises(DialtoneError) as refused:
        messages.send(
            session, account, replace(TWILIO, callback_format="xml"), rules=RULES, now=NOW
        )
    assert refused.value.code == "request.invalid"


def _message(status: str, **fields: object) -> Message:
    values: dict[str, object] = {
        "id": "SM1",
        "account_id": "AC1",
        "sender": "+1",
        "recipient": "+2",
        "segments": 2,
        "status": status,
        "error_code": None,
        "error_rule": None,
        "sent_at": None,
        "done_at": None,
    }
    values.update(fields)
    return Message(**values)


@pytest.mark.parametrize(
    ("status", "fields", "twilio", "code", "rule"),
    [
        ("queued", {}, "queued", None, None),
        ("sending", {}, "sending", None, None),
        ("sent", {}, "sent", None, None),
        ("delivered", {}, "delivered", None, None),
        ("undelivered", {"error_code": "sms.undelivered"}, "undelivered", "30003", None),
        ("failed", {"error_code": "sms.no_carrier"}, "failed", "30006", None),
        ("failed", {"error_code": "sms.carrier_refused"}, "failed", "30007", None),
        ("failed", {"error_code": None}, "failed", "30008", None),
        ("failed", {"error_code": "something.new"}, "failed", "30008", None),
        ("failed", {"error_code": "sms.opted_out", "error_rule": "M3"}, "failed", "21610", "M3"),
        (
            "failed",
            {"error_code": "sms.content_restricted", "error_rule": "M4"},
            "failed",
            "30007",
            "M4",
        ),
        ("expired", {"error_code": "sms.expired"}, "failed", "30036", None),
        ("expired", {"error_code": "sms.expired", "sent_at": NOW}, "undelivered", "30036", None),
    ],
)
def test_statuses_and_error_codes(
    status: str, fields: dict[str, object], twilio: str, code: str | None, rule: str | None
) -> None:
    params = dict(twilio_callbacks.status_params(_message(status, **fields)))
    assert params["MessageStatus"] == twilio
    assert params.get("ErrorCode") == code
    assert params.get("DialtoneRule") == rule
    assert ("DialtoneReason" in params) == (code is not None and fields["error_code"] is not None)
