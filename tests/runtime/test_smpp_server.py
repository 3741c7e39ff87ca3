"""dialtone's SMPP server, on port 0 over a migrated SQLite file, with smpplib (an SMPP
client we did not write) as the customer's software: binds, submits stored before their
answers (single and multipart, GSM-7 and UCS-2), refusals with their status and audit
entry, wrong passwords rate-limited, bad bytes answered while the server goes on,
receipts and inbound messages delivered to receiver binds."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from smpplib import exceptions, smpp

from dialtone.services.messaging import logins
from dialtone.smpp.constants import CommandStatus
from dialtone.store.db import transaction
from dialtone.store.messaging_models import Message
from tests.peers.esme import Esme
from tests.runtime.smpp_server_harness import DEST, SOURCE, SYSTEM_ID, Harness
from tests.services.conftest import T0
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT

S = CommandStatus


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with Harness(tmp_path) as running:
        yield running


def esme(harness: Harness, password: str | None = None) -> Esme:
    return Esme(harness.port, SYSTEM_ID, password or harness.password)


@pytest.mark.parametrize(
    ("text", "encoding", "parts", "stored_encoding"),
    [
        ("Your table is ready.", "gsm7", 1, "GSM-7"),
        ("x" * 160, "gsm7", 1, "GSM-7"),
        ("Long {text} " * 20, "gsm7", 2, "GSM-7"),  # escapes: 2 septets each
        ("y" * 400, "gsm7", 3, "GSM-7"),
        ("Привет, мир", "ucs2", 1, "UCS-2"),
        ("Ж" * 71, "ucs2", 2, "UCS-2"),
        ("Table prête ☎ " * 10, "gsm7", 3, "UCS-2"),  # smpplib falls back to UCS-2
    ],
)
def test_a_submit_is_stored_queued_before_its_answer(
    harness: Harness, text: str, encoding: str, parts: int, stored_encoding: str
) -> None:
    with esme(harness).bind("trx") as client:
        sequences = client.submit(SOURCE, DEST, text, encoding=encoding)  # type: ignore[arg-type]
        answers = client.answers(sequences)
        # Acknowledged means committed: the row is there as soon as the answer is.
        rows = harness.messages()
    assert len(sequences) == parts
    assert {a.status for a in answers} == {0}
    assert len({a.message_id for a in answers}) == 1  # every part, the message's id
    [row] = rows
    assert row.id == answers[0].message_id
    assert (row.status, row.origin, row.direction) == ("queued", "smpp", "outbound")
    assert (row.sender, row.recipient, row.body) == (NUMBER, RECIPIENT, text)
    assert (row.encoding, row.segments) == (stored_encoding, parts)
    assert (row.smpp_login_id, row.smpp_registered_delivery) == (harness.login_id, 1)
    assert harness.stored == 1


def test_a_refusal_by_the_terms_gets_a_status_and_an_audit_entry(harness: Harness) -> None:
    stranger = "33698765432"  # never opted in (M3)
    with esme(harness).bind("tx") as client:
        [answer] = client.answers(client.submit(SOURCE, stranger, "Hello"))
        [foreign] = client.answers(client.submit("33999999999", DEST, "Hello"))
        [invalid] = client.answers(client.submit(SOURCE, "12", "Hello"))
    assert answer.status == S.ESME_RSUBMITFAIL
    assert foreign.status in (S.ESME_RINVSRCADR, S.ESME_RINVDSTADR)
    assert invalid.status == S.ESME_RINVDSTADR
    assert harness.messages() == []
    events = {(e.code, e.rule, e.actor, e.account_id) for e in harness.audit_events()}
    assert ("sms.consent_missing", "M3", f"smpp:{SYSTEM_ID}", harness.account) in events
    assert harness.stored == 0


def test_a_sender_the_account_does_not_hold_is_a_bad_source_address(harness: Harness) -> None:
    with esme(harness).bind("tx") as client:
        # An alphanumeric sender ID (TON 5) the account did not register (M6).
        pdu = client.client.send_message(
            source_addr_ton=5,
            source_addr="GLOBEX",
            dest_addr_ton=1,
            destination_addr=DEST,
            short_message=b"Hello",
        )
        [answer] = client.answers([pdu.sequence])
    assert answer.status == S.ESME_RINVSRCADR
    assert [(e.code, e.rule) for e in harness.audit_events()] == [("sms.sender_not_owned", "M6")]


def test_a_wrong_password_is_refused_then_rate_limited(tmp_path: Path) -> None:
    with Harness(tmp_path, allowed_failures=2) as harness:
        statuses = []
        for system_id, password in [(SYSTEM_ID, "wrong"), ("nobody", "wrong"), (SYSTEM_ID, "x")]:
            with pytest.raises(exceptions.PDUError) as refused:
                Esme(harness.port, system_id, password).bind("trx")
            statuses.append(refused.value.args[1])
        # The third failure from this address blocked it: even the right password waits.
        with pytest.raises(exceptions.PDUError) as blocked:
            esme(harness).bind("trx")
    assert statuses == [S.ESME_RINVPASWD] * 3
    assert blocked.value.args[1] == S.ESME_RBINDFAIL


def test_a_revoked_login_is_refused(harness: Harness) -> None:
    with transaction(harness.sessions) as session:
        logins.revoke_login(session, harness.account, harness.login_id, now=T0)
    with pytest.raises(exceptions.PDUError) as refused:
        esme(harness).bind("tx")
    assert refused.value.args[1] == S.ESME_RINVPASWD


def test_a_right_password_after_a_wrong_one_binds(harness: Harness) -> None:
    with pytest.raises(exceptions.PDUError):
        esme(harness, "wrong").bind("tx")
    with esme(harness).bind("tx") as client:
        [answer] = client.answers(client.submit(SOURCE, DEST, "Hello"))
    assert answer.status == 0


def _raw(port: int, data: bytes) -> bytes:
    """Send ``data`` on a fresh connection and read what comes back (up to 1 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(data)
        out = b""
        try:
            while len(out) < 16:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                out += chunk
        except TimeoutError:
            pass
        return out


@pytest.mark.parametrize(
    ("data", "answer_id", "status"),
    [
        # An unknown command: generic_nack with ESME_RINVCMDID (§3.3).
        (struct.pack(">IIII", 16, 0x00000666, 0, 7), 0x80000000, S.ESME_RINVCMDID),
        # A command_length below the header's: the framing is lost, generic_nack.
        (struct.pack(">IIII", 8, 0x00000015, 0, 8), 0x80000000, S.ESME_RINVCMDLEN),
        # A submit_sm before any bind: refused by the state.
        (struct.pack(">IIII", 16 + 17, 4, 0, 9) + b"\0" * 17, 0x80000004, S.ESME_RINVBNDSTS),
    ],
)
def test_malformed_pdus_are_answered_and_the_server_goes_on(
    harness: Harness, data: bytes, answer_id: int, status: int
) -> None:
    answer = _raw(harness.port, data)
    assert len(answer) >= 16, answer
    _, command_id, command_status, _ = struct.unpack(">IIII", answer[:16])
    assert (command_id, command_status) == (answer_id, status)
    with esme(harness).bind("trx") as client:
        [ok] = client.answers(client.submit(SOURCE, DEST, "Still here"))
    assert ok.status == 0


def test_invalid_ucs2_is_refused_and_the_bind_goes_on(harness: Harness) -> None:
    with esme(harness).bind("trx") as client:
        with client._lock:
            pdu = client.client.send_message(
                source_addr_ton=1,
                source_addr=SOURCE,
                dest_addr_ton=1,
                destination_addr=DEST,
                short_message=b"\xd8\x3d\x00\x41",  # a high surrogate, then "A"
                data_coding=8,
            )
        [bad] = client.answers([pdu.sequence])
        [good] = client.answers(client.submit(SOURCE, DEST, "Привет", encoding="ucs2"))
    assert bad.status == S.ESME_RINVDCS
    assert good.status == 0
    assert [m.body for m in harness.messages()] == ["Привет"]


def test_a_receipt_reaches_the_bind_that_submitted(harness: Harness) -> None:
    with esme(harness).bind("trx") as client:
        [answer] = client.answers(client.submit(SOURCE, DEST, "Your table is ready."))
        row = harness.finish(answer.message_id, "delivered")
        assert harness.soon(harness.server.deliver_receipt, row)
        [receipt] = client.wait_delivered(1, receipts=True)
    assert receipt.receipted_message_id == answer.message_id
    assert receipt.message_state == 2  # DELIVERED
    assert (receipt.source, receipt.dest) == (DEST, SOURCE)
    assert receipt.text.startswith(f"id:{answer.message_id} sub:001 dlvrd:001 submit date:")
    assert " stat:DELIVRD err:000 text:Your table is ready" in receipt.text


def test_no_receipt_unless_asked_and_failures_only_when_asked_so(harness: Harness) -> None:
    with esme(harness).bind("trx") as client:
        [quiet] = client.answers(client.submit(SOURCE, DEST, "one", registered_delivery=False))
        row = harness.finish(quiet.message_id, "delivered")
        assert not harness.soon(harness.server.deliver_receipt, row)
    with transaction(harness.sessions) as session:
        stored = session.get(Message, quiet.message_id)
        assert stored is not None
        stored.smpp_registered_delivery = 2  # on failure only
    row = harness.finish(quiet.message_id, "delivered")
    assert not harness.soon(harness.server.deliver_receipt, row)
    row = harness.finish(quiet.message_id, "undelivered")
    assert harness.soon(harness.server.deliver_receipt, row)


def test_a_receipt_waits_for_the_logins_next_receiver_bind(harness: Harness) -> None:
    with esme(harness).bind("tx") as sender:
        [answer] = sender.answers(sender.submit(SOURCE, DEST, "later"))
    row = harness.finish(answer.message_id, "expired")
    assert harness.soon(harness.server.deliver_receipt, row)
    with esme(harness).bind("rx") as receiver:
        [receipt] = receiver.wait_delivered(1, receipts=True)
    assert (receipt.receipted_message_id, receipt.message_state) == (answer.message_id, 3)
    assert " stat:EXPIRED " in receipt.text


def test_inbound_messages_go_to_the_accounts_receivers_in_turn(harness: Harness) -> None:
    first, second = esme(harness).bind("rx"), esme(harness).bind("trx")
    try:
        for text in ("one", "two", "Ж" * 80):
            inbound = harness.receive(RECIPIENT.replace("612", "699"), text)
            assert harness.soon(harness.server.deliver_inbound, harness.account, inbound)
        time.sleep(0.5)
        got = first.delivered() + second.delivered()
    finally:
        first.close()
        second.close()
    # In turn, by bind order; a long message's parts (80 UCS-2 characters: two, each
    # with a user data header) together on one bind.
    assert [(d.text, d.esm_class) for d in first.delivered()][:1] == [("one", 0)]
    assert [d.esm_class for d in first.delivered()][1:] == [0x40, 0x40]
    assert [d.text for d in second.delivered()] == ["two"]
    assert not any(d.is_receipt for d in got)
    assert {(d.source, d.dest) for d in got} == {("33699345678", SOURCE)}


def test_the_clock_given_dates_the_message(harness: Harness) -> None:
    with esme(harness).bind("tx") as client:
        client.answers(client.submit(SOURCE, DEST, "dated"))
    [row] = harness.messages()
    assert row.created_at == NOW


def test_enquire_link_is_answered_and_query_sm_is_not_offered(harness: Harness) -> None:
    with esme(harness).bind("trx") as client:
        client.enquire_link()
        with client._lock:
            client.client.send_pdu(
                smpp.make_pdu("query_sm", client=client.client, message_id="SM1", source_addr="")
            )
        deadline = time.monotonic() + 5
        while len(client.others()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert sorted(client.others()) == ["enquire_link_resp", "query_sm_resp"]


def test_close_unbinds_every_bound_client(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    client = esme(harness).bind("trx")
    try:
        harness.close()
        assert client.closed_by_peer.wait(5)
        assert "unbind" in client.others()  # told first, then the connection closed
    finally:
        client.close()


def test_a_burst_is_stored_whole_each_with_its_own_id(harness: Harness) -> None:
    with esme(harness).bind("trx") as client:
        sequences = [s for i in range(60) for s in client.submit(SOURCE, DEST, f"burst {i}")]
        answers = client.answers(sequences, timeout=30)
    rows = harness.messages()
    assert {a.status for a in answers} == {0}
    assert sorted(a.message_id for a in answers) == sorted(r.id for r in rows)
    assert sorted(r.body for r in rows) == sorted(f"burst {i}" for i in range(60))
    assert harness.server.writer.written == 60
