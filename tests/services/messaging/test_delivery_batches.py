"""The sending path's writes for many parts at once (``record_intents``,
``record_parts``, ``record_receipts``: the runtime groups them) do what the same writes
one at a time do, each receipt's result as that receipt left the message."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.services.messaging import delivery, messages
from dialtone.services.messaging.delivery import (
    Acceptance,
    IntentRecord,
    ReceiptIn,
    Submitted,
)
from dialtone.store.messaging_models import Message, MessagePart, WebhookDelivery
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES

HELLO = messages.Outgoing(sender=NUMBER, to=RECIPIENT, body="Your table is ready.")
LONG = replace(HELLO, body="x" * 300)  # two parts
LATER = NOW + timedelta(seconds=5)


def _taken(session: Session, account: str, *outgoing: messages.Outgoing) -> list[Message]:
    rows = [messages.send(session, account, o, rules=RULES, now=NOW)[0] for o in outgoing]
    assert {m.id for m in delivery.take_due(session, NOW)} == {r.id for r in rows}
    return rows


def _parts(session: Session, message_id: str) -> list[tuple[int, str, str | None]]:
    rows = session.execute(
        select(MessagePart.seq, MessagePart.status, MessagePart.carrier_message_id)
        .where(MessagePart.message_id == message_id)
        .order_by(MessagePart.seq)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_intents_then_acceptances_of_several_messages_at_once(
    session: Session, account: str, sender: str
) -> None:
    short, long = _taken(session, account, HELLO, LONG)
    delivery.record_intents(
        session,
        [
            IntentRecord(short.id, 1, 1, "SC1", NOW, new=True),
            IntentRecord(long.id, 1, 2, "SC1", NOW, new=True),
        ],
    )
    assert _parts(session, short.id) == [(1, "submitting", None)]
    # Part 1 of the long message moves to another carrier (a retry): the general path.
    delivery.record_intents(session, [IntentRecord(long.id, 1, 2, "SC2", NOW, new=False)])
    delivery.record_parts(
        session,
        [
            Acceptance(short.id, Submitted(1, 1, "S1"), "SC1", NOW),
            Acceptance(long.id, Submitted(1, 2, "L1"), "SC2", NOW),
        ],
    )
    assert _parts(session, short.id) == [(1, "sent", "S1")]
    assert _parts(session, long.id) == [(1, "sent", "L1")]
    assert (short.status, short.sent_at, short.carrier_id) == ("sent", NOW, "SC1")
    assert (long.status, long.carrier_id) == ("sending", "SC2")  # part 2 still to go
    # Part 2 accepted with no intent before it: a row is written for it.
    delivery.record_parts(session, [Acceptance(long.id, Submitted(2, 2, "L2"), "SC2", NOW)])
    assert long.status == "sent"
    assert _parts(session, long.id) == [(1, "sent", "L1"), (2, "sent", "L2")]


def _sent(session: Session, account: str, *outgoing: messages.Outgoing) -> list[Message]:
    rows = _taken(session, account, *outgoing)
    delivery.record_parts(
        session,
        [
            Acceptance(r.id, Submitted(seq, r.segments, f"C-{r.id}-{seq}"), "SC1", NOW)
            for r in rows
            for seq in range(1, r.segments + 1)
        ],
    )
    assert {r.status for r in rows} == {"sent"}
    return rows


def test_two_receipts_of_one_message_in_one_batch_each_get_the_message_as_it_left_it(
    session: Session, account: str, sender: str
) -> None:
    hooked = replace(LONG, status_callback="https://acme.example/sms")
    [row] = _sent(session, account, hooked)
    first, second = delivery.record_receipts(
        session,
        [
            ReceiptIn("SC1", f"C-{row.id}-1", "delivered", None, LATER),
            ReceiptIn("SC1", f"C-{row.id}-2", "delivered", None, LATER),
        ],
    )
    assert first is not None
    assert second is not None
    # A bind told of ``first`` sees the message still sent: one final receipt only.
    assert (first.status, second.status) == ("sent", "delivered")
    assert (row.status, row.done_at) == ("delivered", LATER)  # what is stored
    bodies = [json.loads(w.body) for w in session.scalars(select(WebhookDelivery))]
    assert [b["status"] for b in bodies] == ["sent", "delivered"]  # once each


def test_receipts_of_several_messages_unknown_ids_and_other_carriers_in_one_batch(
    session: Session, account: str, sender: str
) -> None:
    a, b = _sent(session, account, HELLO, replace(HELLO, body="Second"))
    results = delivery.record_receipts(
        session,
        [
            ReceiptIn("SC1", f"C-{a.id}-1", "delivered", None, LATER),
            ReceiptIn("SC1", "unknown", "delivered", None, LATER),
            ReceiptIn("SC2", f"C-{b.id}-1", "delivered", None, LATER),  # not SC2's
            ReceiptIn("SC1", f"C-{b.id}-1", "undelivered", "err:005", LATER),
        ],
    )
    assert [m.status if m else None for m in results] == [
        "delivered",
        None,
        None,
        "undelivered",
    ]
    assert (a.status, b.status, b.error_code, b.error_message) == (
        "delivered",
        "undelivered",
        "sms.undelivered",
        "err:005",
    )
    assert _parts(session, b.id) == [(1, "undelivered", f"C-{b.id}-1")]


def test_a_receipt_for_an_ended_message_moves_its_part_only(
    session: Session, account: str, sender: str
) -> None:
    [row] = _sent(session, account, HELLO)
    delivery.record_receipt(session, "SC1", f"C-{row.id}-1", "expired", error=None, now=LATER)
    assert row.status == "expired"
    [again] = delivery.record_receipts(
        session, [ReceiptIn("SC1", f"C-{row.id}-1", "delivered", None, LATER)]
    )
    assert again is not None
    assert again.status == "expired"  # final: a late receipt does not change it
    assert _parts(session, row.id) == [(1, "delivered", f"C-{row.id}-1")]
