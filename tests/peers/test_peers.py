"""The outside SMPP peers work against each other before dialtone's side needs them:
smpplib (a client we did not write) against the SMSC simulator (Net::SMPP), and Kannel
binding to the simulator as an ESME."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from smpplib import consts, exceptions, gsm

from .esme import Esme
from .http_sink import HttpSink
from .kannel import DLR_DELIVERED, DLR_FAILED, DLR_SMSC_ACK, Kannel, require_kannel
from .smsc import Smsc

pytestmark = pytest.mark.interop

SOURCE, DEST = "33123456789", "442071838750"
ESME_RTHROTTLED = 0x58


def sent_text(entries: list[dict[str, Any]]) -> str:
    """The text of submit_sm ``entries`` as the SMSC got them: each part's UDH dropped,
    the parts joined, decoded by data_coding (0: unpacked GSM-7, 8: UCS-2)."""
    body = b""
    for entry in entries:
        part = bytes.fromhex(entry["short_message"])
        body += part[1 + part[0] :] if entry["esm_class"] & 0x40 else part
    if entries[0]["data_coding"] == consts.SMPP_ENCODING_ISO10646:
        return body.decode("utf-16-be")
    return "".join(gsm.GSM_CHARACTER_TABLE[b] for b in body)


@pytest.mark.parametrize(
    ("text", "encoding", "parts", "data_coding"),
    [
        ("Hello from a peer", "gsm7", 1, 0),
        ("x" * 160, "gsm7", 1, 0),  # the most one GSM-7 part holds
        ("y" * 161, "gsm7", 2, 0),  # parts of 153 after a 6-octet UDH
        ("Привет, мир", "ucs2", 1, 8),
        ("Ж" * 70, "ucs2", 1, 8),  # the most one UCS-2 part holds
        ("Ж" * 71, "ucs2", 2, 8),  # parts of 67
        ("phone ☎ home", "gsm7", 1, 8),  # not in GSM-7: smpplib falls back to UCS-2
    ],
)
def test_submits_get_ids_and_receipts(
    smsc: Smsc, text: str, encoding: Any, parts: int, data_coding: int
) -> None:
    with Esme(smsc.port, "dialtone", "secret").bind("trx") as esme:
        answers = esme.answers(esme.submit(SOURCE, DEST, text, encoding=encoding))
        receipts = esme.wait_delivered(parts, receipts=True)

    assert [a.status for a in answers] == [0] * parts
    ids = [a.message_id for a in answers]
    assert len(set(ids)) == parts, ids
    submits = smsc.received("submit_sm")
    assert [s["answer"]["message_id"] for s in submits] == ids
    assert {(s["data_coding"], s["source"], s["dest"]) for s in submits} == {
        (data_coding, SOURCE, DEST)
    }
    assert {s["esm_class"] & 0x40 for s in submits} == {0x40 if parts > 1 else 0}
    assert sent_text(submits) == text
    # One receipt per part, back from the destination, naming the part's id three ways.
    assert sorted(r.receipted_message_id or "" for r in receipts) == sorted(ids)
    for receipt in receipts:
        assert (receipt.source, receipt.dest, receipt.message_state) == (DEST, SOURCE, 2)
        assert receipt.text.startswith(f"id:{receipt.receipted_message_id} sub:001 dlvrd:001 ")
        assert " stat:DELIVRD err:000 text:" in receipt.text
    assert len(smsc.received("deliver_sm_resp")) == parts


def test_no_receipt_unless_asked(smsc: Smsc) -> None:
    with Esme(smsc.port, "dialtone", "secret").bind("trx") as esme:
        [answer] = esme.answers(esme.submit(SOURCE, DEST, "quiet", registered_delivery=False))
        assert answer.status == 0
        time.sleep(0.5)  # five times the receipt delay
        assert esme.delivered() == []


def test_failed_delivery_receipt(smsc: Smsc) -> None:
    smsc.receipt("UNDELIV", "001")
    with Esme(smsc.port, "dialtone", "secret").bind("trx") as esme:
        [answer] = esme.answers(esme.submit(SOURCE, DEST, "to nowhere"))
        [receipt] = esme.wait_delivered(1, receipts=True)
    assert receipt.message_state == 5
    assert receipt.receipted_message_id == answer.message_id
    assert " dlvrd:000 " in receipt.text
    assert " stat:UNDELIV err:001 " in receipt.text


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [
        ("dialtone", "wrong", consts.SMPP_ESME_RINVPASWD),
        ("dialtone", "", consts.SMPP_ESME_RINVPASWD),
        ("someone", "secret", consts.SMPP_ESME_RINVSYSID),
    ],
)
@pytest.mark.parametrize("mode", ["tx", "rx", "trx"])
def test_wrong_credentials_are_refused(
    smsc: Smsc, system_id: str, password: str, status: int, mode: Any
) -> None:
    with pytest.raises(exceptions.PDUError) as refused:
        Esme(smsc.port, system_id, password).bind(mode)
    assert refused.value.args[1] == status
    [bind] = smsc.received()
    assert bind["answer"] == {"status": status}
    assert smsc.sessions() == []


@pytest.mark.parametrize("mode", ["tx", "rx", "trx"])
def test_each_bind_mode(smsc: Smsc, mode: Any) -> None:
    with Esme(smsc.port, "dialtone", "secret").bind(mode) as esme:
        assert smsc.sessions() == [(1, mode)]
        esme.enquire_link()
        smsc.wait_received("enquire_link")
        deadline = time.monotonic() + 5
        while "enquire_link_resp" not in esme.others() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "enquire_link_resp" in esme.others()
    smsc.wait_received("unbind")


@pytest.mark.parametrize(
    ("text", "data_coding"), [("Hello back", 0), ("Ответ ☎", 8), ("z" * 200, 0)]
)
def test_mo_reaches_the_client(smsc: Smsc, text: str, data_coding: int) -> None:
    with Esme(smsc.port, "dialtone", "secret").bind("trx") as esme:
        smsc.send_mo(DEST, SOURCE, text)
        [mo] = esme.wait_delivered(1, receipts=False)
    assert (mo.source, mo.dest, mo.esm_class, mo.data_coding) == (DEST, SOURCE, 0, data_coding)
    got = (
        mo.short_message.decode("utf-16-be")
        if data_coding == 8
        else "".join(gsm.GSM_CHARACTER_TABLE[b] for b in mo.short_message)
    )
    assert got == text
    [answer] = smsc.wait_received("deliver_sm_resp")
    assert answer["status"] == 0


def test_receipts_and_mo_wait_for_a_receiver(smsc: Smsc) -> None:
    """A transmitter's receipt goes to the receiver bound beside it, and what is due
    while none is bound waits for one, as a carrier's SMSC stores it."""
    with Esme(smsc.port, "dialtone", "secret").bind("tx") as sender:
        [answer] = sender.answers(sender.submit(SOURCE, DEST, "receipt later"))
        smsc.send_mo(DEST, SOURCE, "held")
        time.sleep(0.5)
        assert sender.delivered() == []
        with Esme(smsc.port, "dialtone", "secret").bind("rx") as receiver:
            got = receiver.wait_delivered(2)
    assert {d.receipted_message_id for d in got} == {answer.message_id, None}
    assert sender.delivered() == []


def test_throttled_then_accepted(smsc: Smsc) -> None:
    smsc.throttle(2)
    with Esme(smsc.port, "dialtone", "secret").bind("trx") as esme:
        answers = [esme.answers(esme.submit(SOURCE, DEST, f"m{n}"))[0] for n in range(3)]
        [receipt] = esme.wait_delivered(1, receipts=True)
    assert [a.status for a in answers] == [ESME_RTHROTTLED, ESME_RTHROTTLED, 0]
    assert receipt.receipted_message_id == answers[2].message_id


@pytest.mark.parametrize("answered", [True, False])
def test_dropped_after_submits(smsc: Smsc, answered: bool) -> None:
    smsc.drop_after(2, answered=answered)
    with Esme(smsc.port, "dialtone", "secret").bind("trx") as esme:
        [first] = esme.answers(esme.submit(SOURCE, DEST, "one"))
        [second] = esme.submit(SOURCE, DEST, "two")
        assert esme.closed_by_peer.wait(5)
    assert first.status == 0
    assert (esme.answer(second) is not None) is answered
    # The next connection is a new session, and submits go through again.
    with Esme(smsc.port, "dialtone", "secret").bind("trx") as again:
        [third] = again.answers(again.submit(SOURCE, DEST, "three"))
    assert third.status == 0
    submits = smsc.received("submit_sm")
    assert [(s["session"], s.get("dropped", False)) for s in submits] == [
        (1, False),
        (1, True),
        (2, False),
    ]


# -- Kannel, an ESME we did not write, bound to the simulator ----------------------------


@pytest.mark.parametrize(
    ("text", "parts", "data_coding"),
    [
        ("Hello through Kannel", 1, 0),
        ("Привет ☎", 1, 8),
        ("café " * 40, 2, 0),  # 200 GSM-7 characters: two parts with a UDH
    ],
)
def test_kannel_sends_and_gets_its_dlr(
    kannel: Kannel, smsc: Smsc, text: str, parts: int, data_coding: int
) -> None:
    assert [mode for _, mode in smsc.sessions()] == ["trx"]
    [bind] = smsc.received("bind_transceiver")
    assert (bind["system_id"], bind["password"]) == ("dialtone", "secret")

    tag = kannel.send(DEST, SOURCE, text)
    submits = smsc.wait_received("submit_sm", parts)
    acked = kannel.wait_dlr(tag, DLR_SMSC_ACK)
    delivered = kannel.wait_dlr(tag, DLR_DELIVERED)

    assert sent_text(submits) == text
    assert {(s["source"], s["dest"], s["data_coding"]) for s in submits} == {
        (SOURCE, DEST, data_coding)
    }
    # Kannel asks a receipt of the first part and reports it for the whole message.
    first_id = submits[0]["answer"]["message_id"]
    assert acked.query["id"] == delivered.query["id"] == first_id
    assert delivered.query["reply"].startswith(f"id:{first_id} ")
    assert " stat:DELIVRD " in delivered.query["reply"]


def test_kannel_reports_a_failed_delivery(kannel: Kannel, smsc: Smsc) -> None:
    smsc.receipt("UNDELIV", "001")
    tag = kannel.send(DEST, SOURCE, "to nowhere")
    failed = kannel.wait_dlr(tag, DLR_FAILED)
    assert " stat:UNDELIV err:001 " in failed.query["reply"]
    assert DLR_DELIVERED not in {int(h.query["type"]) for h in kannel.dlrs(tag)}


@pytest.mark.parametrize("text", ["Hello Kannel", "Ответ ☎", "z" * 200])
def test_mo_reaches_kannels_service(
    kannel: Kannel, smsc: Smsc, http_sink: HttpSink, text: str
) -> None:
    smsc.send_mo(DEST, SOURCE, text)
    http_sink.wait("/mo")
    assert kannel.mo() == [(f"+{DEST}", f"+{SOURCE}", text)]
    [answer] = smsc.wait_received("deliver_sm_resp")
    assert answer["status"] == 0


def test_kannel_with_a_wrong_password_stays_unbound(
    tmp_path: Path, smsc: Smsc, http_sink: HttpSink
) -> None:
    require_kannel()
    with Kannel(
        tmp_path / "kannel", smsc_port=smsc.port, system_id="dialtone", password="nope",
        sink=http_sink,
    ).start(bound=False) as refused:  # fmt: skip
        smsc.wait_received("bind_transceiver")
        assert not refused.online()
    [bind, *_] = smsc.received("bind_transceiver")
    assert bind["answer"] == {"status": consts.SMPP_ESME_RINVPASWD}
    assert smsc.sessions() == []
