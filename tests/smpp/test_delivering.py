"""The deliver_sm of receipts and inbound messages: which receipts are asked for
(§5.2.17, a table), addresses by kind, the receipt said three ways, inbound parts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialtone.core.sms_parts import parse_udh
from dialtone.smpp import tlv
from dialtone.smpp.codec import decode, encode
from dialtone.smpp.constants import MessageState, Npi, Ton
from dialtone.smpp.delivering import Address, address_of, message_pdus, receipt_pdu, wants_receipt
from dialtone.smpp.pdu import Pdu
from dialtone.smpp.receipt import receipt_of

M = MessageState


@pytest.mark.parametrize(
    ("registered", "state", "wanted"),
    [
        (0x00, M.DELIVERED, False),
        (0x00, M.UNDELIVERABLE, False),
        (0x01, M.DELIVERED, True),
        (0x01, M.EXPIRED, True),
        (0x02, M.DELIVERED, False),
        (0x02, M.UNDELIVERABLE, True),
        (0x02, M.REJECTED, True),
        (0x03, M.DELIVERED, False),  # reserved: no receipt
        (0x11, M.DELIVERED, True),  # the intermediate bit does not hide the final
        (0x10, M.DELIVERED, False),
    ],
)
def test_which_receipts_are_asked_for(registered: int, state: MessageState, wanted: bool) -> None:
    assert wants_receipt(registered, state) is wanted


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("+33612345678", Address("33612345678", Ton.INTERNATIONAL, Npi.ISDN)),
        ("36000", Address("36000", Ton.UNKNOWN, Npi.ISDN)),
        ("ACME", Address("ACME", Ton.ALPHANUMERIC, Npi.UNKNOWN)),
        ("+", Address("+", Ton.ALPHANUMERIC, Npi.UNKNOWN)),
    ],
)
def test_addresses(value: str, address: Address) -> None:
    assert address_of(value) == address


def test_a_receipt_says_its_state_three_ways_and_reads_back() -> None:
    pdu = receipt_pdu(
        message_id="SM0123",
        sender="ACME",
        recipient="+33612345678",
        state=M.UNDELIVERABLE,
        parts=2,
        text="Votre table est prête, à tout de suite",
        submitted_at=datetime(2026, 11, 2, 11, 0, tzinfo=UTC),
        done_at=datetime(2026, 11, 2, 11, 5, tzinfo=UTC),
    )
    wire = decode(encode(Pdu(pdu, 1)))
    assert wire.body == pdu
    assert pdu.esm_class == 0x04
    assert (pdu.source_addr, pdu.source_addr_ton) == ("33612345678", Ton.INTERNATIONAL)
    assert (pdu.destination_addr, pdu.dest_addr_ton) == ("ACME", Ton.ALPHANUMERIC)
    assert tlv.receipted_message_id(pdu.tlvs) == "SM0123"
    assert tlv.message_state(pdu.tlvs) == M.UNDELIVERABLE
    assert pdu.short_message == (
        b"id:SM0123 sub:002 dlvrd:000 submit date:2611021100 done date:2611021105"
        b" stat:UNDELIV err:001 text:Votre table est pr?t"
    )
    read = receipt_of(pdu)
    assert read is not None
    assert (read.message_id, read.state, read.submitted) == ("SM0123", M.UNDELIVERABLE, 2)


def test_an_inbound_message_in_gsm7_or_ucs2_parts() -> None:
    [short] = message_pdus(
        sender="+33699000000", recipient="+33123456789", text="Hi @", reference=1
    )
    assert (short.short_message, short.data_coding, short.esm_class) == (b"Hi \x00", 0, 0)
    assert (short.source_addr, short.destination_addr) == ("33699000000", "33123456789")
    parts = message_pdus(
        sender="+33699000000", recipient="+33123456789", text="Ж" * 71, reference=300
    )
    assert [(p.data_coding, p.esm_class) for p in parts] == [(8, 0x40), (8, 0x40)]
    infos = [parse_udh(p.short_message)[0] for p in parts]
    assert [(i.reference, i.total, i.sequence) for i in infos if i] == [(44, 2, 1), (44, 2, 2)]
