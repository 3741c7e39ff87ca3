"""A message's states after it is stored: taken, its parts accepted, receipts, retries,
expiry, and what a restart finds."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.services.messaging import delivery, messages
from dialtone.services.messaging.delivery import PartOutcome, Submitted
from dialtone.store.messaging_models import Message, WebhookDelivery
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES

HELLO = messages.Outgoing(sender=NUMBER, to=RECIPIENT, body="Your table is ready.")
LONG = replace(HELLO, body="x" * 300)  # two parts


def _sent(session: Session, account: str, outgoing: messages.Outgoing = HELLO) -> Message:
    row, _ = messages.send(session, account, outgoing, rules=RULES, now=NOW)
    [taken] = delivery.take_due(session, NOW)
    assert taken.id == row.id
    assert (taken.status, taken.attempts) == ("sending", 1)
    for seq in range(1, row.segments + 1):
        delivery.record_part(
            session,
            row.id,
            Submitted(seq, row.segments, f"C-{row.id}-{seq}"),
            carrier_id="SC1",
            now=NOW,
        )
    return row


def test_only_due_queued_messages_are_taken(session: Session, account: str, sender: str) -> None:
    row, _ = messages.send(session, account, HELLO, rules=RULES, now=NOW)
    assert delivery.take_due(session, NOW - timedelta(seconds=1)) == []
    assert [m.id for m in delivery.take_due(session, NOW)] == [row.id]
    assert delivery.take_due(session, NOW) == []  # taken once


def test_sent_once_every_part_is_accepted(session: Session, account: str, sender: str) -> None:
    row, _ = messages.send(session, account, LONG, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    delivery.record_part(session, row.id, Submitted(1, 2, "A"), carrier_id="SC1", now=NOW)
    assert row.status == "sending"
    delivery.record_part(session, row.id, Submitted(2, 2, "B"), carrier_id="SC1", now=NOW)
    assert (row.status, row.sent_at, row.carrier_id) == ("sent", NOW, "SC1")


@pytest.mark.parametrize(
    ("first", "second", "status"),
    [
        ("delivered", "delivered", "delivered"),
        ("delivered", "sent", "sent"),  # an intermediate receipt (ENROUTE, ACCEPTD)
        ("delivered", "undelivered", "undelivered"),
        ("undelivered", "delivered", "undelivered"),
        ("expired", "delivered", "expired"),
    ],
)
def test_the_message_follows_its_parts_receipts(
    session: Session,
    account: str,
    sender: str,
    *,
    first: PartOutcome,
    second: PartOutcome,
    status: str,
) -> None:
    row = _sent(session, account, LONG)
    later = NOW + timedelta(seconds=5)
    delivery.record_receipt(session, "SC1", f"C-{row.id}-1", first, error=None, now=later)
    found = delivery.record_receipt(session, "SC1", f"C-{row.id}-2", second, error="000", now=later)
    assert found is row
    assert row.status == status
    assert (row.done_at is not None) == (status != "sent")
    if status in ("undelivered", "expired"):
        assert row.error_code == f"sms.{status}"


def test_a_receipt_for_an_unknown_id_or_another_carrier_finds_nothing(
    session: Session, account: str, sender: str
) -> None:
    row = _sent(session, account)
    assert (
        delivery.record_receipt(session, "SC2", f"C-{row.id}-1", "delivered", error=None, now=NOW)
        is None
    )
    assert delivery.record_receipt(session, "SC1", "nope", "delivered", error=None, now=NOW) is None
    assert row.status == "sent"


def test_a_temporary_failure_requeues_until_the_validity_runs_out(
    session: Session, account: str, sender: str
) -> None:
    row, _ = messages.send(session, account, HELLO, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    delivery.record_failure(
        session,
        row.id,
        code="sms.no_carrier",
        reason="no carrier bound",
        now=NOW,
        retry_in=timedelta(seconds=30),
    )
    assert (row.status, row.next_attempt_at) == ("queued", NOW + timedelta(seconds=30))
    late = row.expires_at - timedelta(seconds=10)
    delivery.take_due(session, late)
    delivery.record_failure(
        session,
        row.id,
        code="sms.no_carrier",
        reason="still none",
        now=late,
        retry_in=timedelta(seconds=30),
    )
    assert (row.status, row.error_code) == ("expired", "sms.no_carrier")


def test_a_permanent_failure_fails(session: Session, account: str, sender: str) -> None:
    row, _ = messages.send(session, account, HELLO, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    delivery.record_failure(
        session,
        row.id,
        code="sms.carrier_refused",
        reason="ESME_RINVDSTADR",
        now=NOW,
        retry_in=None,
    )
    assert (row.status, row.error_message, row.done_at) == ("failed", "ESME_RINVDSTADR", NOW)


def test_a_restart_requeues_what_was_being_sent_and_keeps_accepted_parts(
    session: Session, account: str, sender: str
) -> None:
    row, _ = messages.send(session, account, LONG, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    delivery.record_part(session, row.id, Submitted(1, 2, "A"), carrier_id="SC1", now=NOW)
    assert delivery.requeue_interrupted(session, NOW) == 1
    session.refresh(row)
    assert row.status == "queued"
    assert list(delivery.accepted_parts(session, row.id)) == [1]  # part 1 is not sent again


def test_messages_past_their_validity_expire(session: Session, account: str, sender: str) -> None:
    sent = _sent(session, account, replace(HELLO, body="Second"))
    queued, _ = messages.send(session, account, HELLO, rules=RULES, now=NOW)
    assert delivery.expire_overdue(session, queued.expires_at - timedelta(seconds=1)) == []
    expired = delivery.expire_overdue(session, sent.expires_at)
    assert {m.id for m in expired} == {queued.id, sent.id}
    assert {m.status for m in expired} == {"expired"}


def test_each_status_change_is_owed_to_the_status_callback_with_its_code(
    session: Session, account: str, sender: str
) -> None:
    hooked = replace(HELLO, status_callback="https://acme.example/sms-status")
    row = _sent(session, account, hooked)
    delivery.record_receipt(
        session, "SC1", f"C-{row.id}-1", "undelivered", error="err:005", now=NOW
    )
    owed = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    bodies = [json.loads(w.body) for w in owed]
    assert [(b["event"], b["status"]) for b in bodies] == [
        ("message.status", "sent"),
        ("message.status", "undelivered"),
    ]
    assert bodies[1]["error_code"] == "sms.undelivered"
    assert {w.url for w in owed} == {"https://acme.example/sms-status"}
    # Without a status callback nothing is owed.
    _sent(session, account, replace(HELLO, body="No callback"))
    assert len(session.scalars(select(WebhookDelivery)).all()) == 2
