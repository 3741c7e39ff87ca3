"""What a customer's bind is owed survives a restart of the SMPP server: a receipt or an
inbound message owed while nothing was bound reaches the next receiver bind of a new
server on the same database exactly once, an answered one is not sent again, and one
dropped from a full queue in memory still goes, the oldest first. smpplib (``Esme``) is
the customer's software; it answers every deliver_sm ESME_ROK."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dialtone.runtime.carrier_inbound import CarrierInbound, Hooks
from dialtone.runtime.db_work import DbWork
from dialtone.runtime.smpp_outbox import Target
from dialtone.services.messaging import delivery
from dialtone.smpp.constants import MessageState
from dialtone.smpp.delivering import receipt_pdu
from dialtone.smpp.pdu import Pdu
from dialtone.store.db import transaction
from dialtone.store.messaging_models import Message
from tests.peers.esme import Esme
from tests.runtime.smpp_server_harness import DEST, SOURCE, SYSTEM_ID, Harness
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES

PHONE = RECIPIENT.lstrip("+")
QUIET = 0.6  # seconds a bind is watched for a deliver_sm that must not come


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with Harness(tmp_path) as running:
        yield running


def esme(harness: Harness) -> Esme:
    return Esme(harness.port, SYSTEM_ID, harness.password)


def submitted(harness: Harness, text: str) -> str:
    """A message the login submits asking for receipts (bound as a transmitter only)."""
    with esme(harness).bind("tx") as sender:
        [answer] = sender.answers(sender.submit(SOURCE, DEST, text))
    return answer.message_id


def owed(harness: Harness) -> list[str]:
    """The messages the database says a bind is owed."""
    with harness.sessions() as session:
        query = select(Message.id).where(Message.bind_notice_due_at.is_not(None))
        return list(session.scalars(query))


def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


def test_a_receipt_owed_to_an_unbound_login_reaches_it_after_a_restart(
    harness: Harness,
) -> None:
    message_id = submitted(harness, "Your table is ready.")
    row = harness.finish(message_id, "delivered")
    assert harness.soon(harness.server.deliver_receipt, row)  # queued in memory
    assert harness.server.outbox.queued(Target("login", harness.login_id)) == 1
    harness.restart()  # the memory is gone; the database is not
    assert owed(harness) == [message_id]
    with esme(harness).bind("rx") as receiver:
        [receipt] = receiver.wait_delivered(1)
        time.sleep(QUIET)
        assert len(receiver.delivered()) == 1  # exactly once
        until(lambda: owed(harness) == [])  # its answer recorded
    assert (receipt.receipted_message_id, receipt.message_state) == (message_id, 2)
    assert " stat:DELIVRD " in receipt.text


def test_an_inbound_message_owed_reaches_the_accounts_bind_after_a_restart(
    harness: Harness,
) -> None:
    # Stored as the carrier's deliver_sm is, then the stop came before the server heard.
    message = harness.receive(RECIPIENT, "Ж" * 80)  # two UCS-2 parts
    harness.restart()
    with esme(harness).bind("trx") as receiver:
        parts = receiver.wait_delivered(2)
        time.sleep(QUIET)
        assert len(receiver.delivered()) == 2
        until(lambda: owed(harness) == [])
    assert [(p.source, p.esm_class, p.is_receipt) for p in parts] == [(PHONE, 0x40, False)] * 2
    assert [p.short_message[:6] for p in parts] == [
        bytes([5, 0, 3, parts[0].short_message[3], 2, seq]) for seq in (1, 2)
    ]
    assert message.id not in owed(harness)


def test_an_answered_receipt_is_not_sent_again_after_a_restart(harness: Harness) -> None:
    message_id = submitted(harness, "Once only")
    with esme(harness).bind("rx") as receiver:
        row = harness.finish(message_id, "undelivered")
        assert harness.soon(harness.server.deliver_receipt, row)
        receiver.wait_delivered(1)
        until(lambda: owed(harness) == [])
    harness.restart()
    with esme(harness).bind("rx") as receiver:
        time.sleep(QUIET)
        assert receiver.delivered() == []


def test_receipts_dropped_from_a_full_queue_go_at_the_next_bind_oldest_first(
    tmp_path: Path,
) -> None:
    with Harness(tmp_path, queue_limit=1) as harness:
        ids = [submitted(harness, f"number {i}") for i in range(3)]
        # Finished newest first: the order a bind is sent them in is the order owed.
        for i, message_id in enumerate(ids):
            done = NOW + timedelta(seconds=10 - i)
            assert harness.soon(
                harness.server.deliver_receipt, harness.finish(message_id, "delivered", done)
            )
        assert harness.server.outbox.dropped == 2
        with esme(harness).bind("rx") as receiver:
            receipts = receiver.wait_delivered(3)
            time.sleep(QUIET)
            assert len(receiver.delivered()) == 3
        assert [r.receipted_message_id for r in receipts] == ids[::-1]


def test_a_transmitter_bind_is_sent_nothing_and_loads_nothing(harness: Harness) -> None:
    message_id = submitted(harness, "Kept")
    harness.finish(message_id, "delivered")  # owed, the server not told
    with esme(harness).bind("tx") as sender:
        time.sleep(QUIET)
        assert sender.delivered() == []
    assert owed(harness) == [message_id]


class _CarrierLink:
    """The carrier's side of a bind: what dialtone answered its deliver_sm."""

    def __init__(self) -> None:
        self.answers: list[int] = []

    def respond(self, pdu: Pdu, status: int) -> None:
        self.answers.append(status)


def test_a_carriers_receipt_acted_on_while_unbound_reaches_the_bind_after_a_restart(
    harness: Harness,
) -> None:
    """The carrier's side as it runs: its deliver_sm recorded by group commit (receipts
    in a batch, read past the ORM), answered, the server told."""
    message_id = submitted(harness, "Through the carrier")
    with transaction(harness.sessions) as session:
        delivery.take_due(session, NOW)
        delivery.record_part(
            session, message_id, delivery.Submitted(1, 1, "C-1"), carrier_id="SC1", now=NOW
        )
    told: list[bool] = []
    carrier = _CarrierLink()

    async def act() -> None:
        work = DbWork(harness.sessions, harness.db)
        hooks = Hooks(on_receipt=lambda m: told.append(harness.server.deliver_receipt(m)))
        inbound = CarrierInbound(work, RULES, wake=lambda: None, hooks=hooks, wallclock=lambda: NOW)
        pdu = receipt_pdu(
            message_id="C-1",
            sender=NUMBER,
            recipient=RECIPIENT,
            state=MessageState.DELIVERED,
            parts=1,
            text="Through the carrier",
            submitted_at=NOW,
            done_at=NOW,
        )
        inbound.on_deliver("SC1", carrier, Pdu(pdu, 7))  # type: ignore[arg-type]
        await inbound.close()
        await work.close()

    harness.call(act())
    assert (carrier.answers, told) == ([0], [True])  # answered, queued for the login
    harness.restart()
    with esme(harness).bind("rx") as receiver:
        [receipt] = receiver.wait_delivered(1)
        time.sleep(QUIET)
        assert len(receiver.delivered()) == 1
        until(lambda: owed(harness) == [])
    assert (receipt.receipted_message_id, receipt.message_state) == (message_id, 2)
