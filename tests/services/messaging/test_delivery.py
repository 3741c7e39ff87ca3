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
from dialtone.store.messaging_models import Message, MessagePart, WebhookDelivery
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
    assert found is not None
    assert found.id == row.id
    assert found.status == row.status == status  # what is returned is what is stored
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
    assert delivery.requeue_interrupted(session, NOW) == delivery.Restarted(1, 0, 0)
    session.refresh(row)
    assert row.status == "queued"
    assert list(delivery.accepted_parts(session, row.id)) == [1]  # part 1 is not sent again


def _parts(session: Session, message_id: str) -> list[tuple[int, str, str | None, str | None]]:
    rows = session.scalars(
        select(MessagePart).where(MessagePart.message_id == message_id).order_by(MessagePart.seq)
    )
    return [(p.seq, p.status, p.carrier_id, p.carrier_message_id) for p in rows]


def _intend(session: Session, row: Message, seq: int, carrier: str = "SC1") -> None:
    delivery.record_intent(session, row.id, seq, row.segments, carrier_id=carrier, now=NOW)


def test_an_intent_is_completed_by_its_answer_or_withdrawn_by_a_refusal(
    session: Session, account: str, sender: str
) -> None:
    row, _ = messages.send(session, account, LONG, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    _intend(session, row, 1, "SC1")
    session.flush()
    assert _parts(session, row.id) == [(1, "submitting", "SC1", None)]
    assert delivery.accepted_parts(session, row.id) == {}  # not yet the carrier's
    _intend(session, row, 1, "SC2")  # SC1 failed temporarily: the next carrier
    session.flush()
    delivery.record_part(session, row.id, Submitted(1, 2, "A"), carrier_id="SC2", now=NOW)
    assert _parts(session, row.id) == [(1, "sent", "SC2", "A")]  # one row, completed
    with pytest.raises(ValueError, match="already sent"):
        _intend(session, row, 1)
    _intend(session, row, 2)
    session.flush()
    delivery.withdraw_intent(session, row.id, 2)  # refused: not at the carrier
    delivery.withdraw_intent(session, row.id, 1)  # an accepted part stays
    session.flush()
    assert _parts(session, row.id) == [(1, "sent", "SC2", "A")]
    assert row.status == "sending"


@pytest.mark.parametrize(
    ("first", "second", "status", "not_again"),
    [
        ("submitting", None, "sent", [1]),  # a single part in doubt
        ("accepted", "submitting", "sent", [1, 2]),
        ("submitting", "submitting", "sent", [1, 2]),  # two messages' worth of windows
        ("submitting", "missing", "queued", [1]),  # part 2 never went: sent after
        ("accepted", "missing", "queued", [1]),
        ("missing", None, "queued", []),  # taken, nothing written yet
    ],
)
def test_a_restart_counts_parts_in_doubt_as_sent_and_never_sends_them_again(
    session: Session,
    account: str,
    sender: str,
    *,
    first: str,
    second: str | None,
    status: str,
    not_again: list[int],
) -> None:
    outgoing = HELLO if second is None else LONG
    hooked = replace(outgoing, status_callback="https://acme.example/sms-status")
    row, _ = messages.send(session, account, hooked, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    for seq, state in enumerate((first, second), start=1):
        if state == "submitting":
            _intend(session, row, seq)
        elif state == "accepted":
            delivery.record_part(
                session, row.id, Submitted(seq, row.segments, f"C{seq}"), carrier_id="SC1", now=NOW
            )
    session.flush()
    later = NOW + timedelta(seconds=3)
    restarted = delivery.requeue_interrupted(session, later)
    doubtful = [first, second].count("submitting")
    assert restarted == delivery.Restarted(
        requeued=int(status == "queued"), in_doubt=doubtful, sent=int(status == "sent")
    )
    session.refresh(row)
    assert row.status == status
    assert sorted(delivery.accepted_parts(session, row.id)) == not_again
    in_doubt = [p for p in delivery.accepted_parts(session, row.id).values() if p.error]
    assert [(p.status, p.carrier_message_id, p.error) for p in in_doubt] == [
        ("sent", None, delivery.IN_DOUBT)
    ] * doubtful
    owed = [json.loads(w.body)["status"] for w in session.scalars(select(WebhookDelivery))]
    if status == "sent":
        assert (row.sent_at, row.carrier_id, owed) == (later, "SC1", ["sent"])
        assert delivery.take_due(session, later) == []  # nothing to send again
    else:
        assert (row.next_attempt_at, owed) == (later, [])
        [again] = delivery.take_due(session, later)
        assert again.id == row.id


def test_a_restart_leaves_parts_of_finished_messages_alone(
    session: Session, account: str, sender: str
) -> None:
    row, _ = messages.send(session, account, HELLO, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    _intend(session, row, 1)
    delivery.record_failure(
        session, row.id, code="sms.carrier_refused", reason="R", now=NOW, retry_in=None
    )
    session.flush()
    assert delivery.requeue_interrupted(session, NOW) == delivery.Restarted(0, 0, 0)
    assert _parts(session, row.id) == [(1, "submitting", "SC1", None)]


def test_a_receipt_for_an_early_part_does_not_end_the_sending(
    session: Session, account: str, sender: str
) -> None:
    row, _ = messages.send(session, account, LONG, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    delivery.record_part(session, row.id, Submitted(1, 2, "A"), carrier_id="SC1", now=NOW)
    delivery.record_receipt(session, "SC1", "A", "delivered", error=None, now=NOW)
    assert row.status == "sending"  # a restart still sends part 2
    assert delivery.requeue_interrupted(session, NOW).requeued == 1


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


def test_a_retry_that_gets_through_clears_the_error_it_met(
    session: Session, account: str, sender: str
) -> None:
    row, _ = messages.send(session, account, HELLO, rules=RULES, now=NOW)
    delivery.take_due(session, NOW)
    delivery.record_failure(
        session,
        row.id,
        code="sms.no_carrier",
        reason="none bound",
        now=NOW,
        retry_in=timedelta(seconds=1),
    )
    later = NOW + timedelta(seconds=2)
    delivery.take_due(session, later)
    delivery.record_intent(session, row.id, 1, 1, carrier_id="SC1", now=later)
    delivery.record_part(session, row.id, Submitted(1, 1, "C-1"), carrier_id="SC1", now=later)
    assert (row.status, row.error_code, row.error_message) == ("sent", None, None)
