"""Kannel (bearerbox and smsbox, an ESME we did not write) binds to dialtone's SMPP server
with an account's login: what it sends through its sendsms interface is stored before
Kannel hears it was accepted (its SMSC-ack delivery report), the receipt dialtone sends
reaches its dlr-url, and an inbound message reaches its sms-service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialtone.store.messaging_models import Message
from tests.peers.http_sink import HttpSink
from tests.peers.kannel import DLR_DELIVERED, DLR_SMSC_ACK, Kannel, require_kannel
from tests.runtime.smpp_server_harness import DEST, SOURCE, SYSTEM_ID, Harness
from tests.services.messaging.conftest import NUMBER, RECIPIENT

pytestmark = pytest.mark.interop


@pytest.fixture
def bound(tmp_path: Path) -> Iterator[tuple[Harness, Kannel]]:
    require_kannel()
    with (
        Harness(tmp_path) as harness,
        HttpSink() as sink,
        Kannel(
            tmp_path / "kannel",
            smsc_port=harness.port,
            system_id=SYSTEM_ID,
            password=harness.password,
            sink=sink,
        ) as kannel,
    ):
        yield harness, kannel.start()


def _rows(harness: Harness, count: int, timeout: float = 15.0) -> list[Message]:
    deadline = time.monotonic() + timeout
    while len(rows := harness.messages()) < count:
        assert time.monotonic() < deadline, f"{len(rows)} messages stored of {count}"
        time.sleep(0.05)
    return rows


def test_kannel_sends_through_dialtone_and_gets_its_receipt(
    bound: tuple[Harness, Kannel],
) -> None:
    harness, kannel = bound
    tag = kannel.send(DEST, SOURCE, "Hello from Kannel")
    ack = kannel.wait_dlr(tag, DLR_SMSC_ACK)
    [row] = harness.messages()  # stored before Kannel heard "accepted"
    assert (row.sender, row.recipient, row.body) == (NUMBER, RECIPIENT, "Hello from Kannel")
    assert (row.status, row.origin, row.smpp_login_id) == ("queued", "smpp", harness.login_id)
    assert row.smpp_registered_delivery
    assert ack.query["id"] == row.id

    finished = harness.finish(row.id, "delivered")
    assert harness.soon(harness.server.deliver_receipt, finished)
    delivered = kannel.wait_dlr(tag, DLR_DELIVERED)
    assert "stat:DELIVRD" in delivered.query["reply"]


def test_kannel_long_and_ucs2_messages_are_stored_whole(bound: tuple[Harness, Kannel]) -> None:
    harness, kannel = bound
    long_text = "Your order has shipped. " * 10  # 240 characters: two parts
    kannel.send(DEST, SOURCE, long_text, dlr=False)
    kannel.send(DEST, SOURCE, "Привет от Kannel", dlr=False)
    rows = _rows(harness, 2)
    assert sorted((r.body, r.segments, r.encoding) for r in rows) == sorted(
        [(long_text, 2, "GSM-7"), ("Привет от Kannel", 1, "UCS-2")]
    )


def test_an_inbound_message_reaches_kannels_sms_service(bound: tuple[Harness, Kannel]) -> None:
    harness, kannel = bound
    received = harness.receive("+33699000000", "Table for two?")
    assert harness.soon(harness.server.deliver_inbound, harness.account, received)
    kannel.sink.wait("/mo")
    # TON 1 both ways: Kannel writes the "+" back.
    assert kannel.mo() == [("+33699000000", NUMBER, "Table for two?")]
