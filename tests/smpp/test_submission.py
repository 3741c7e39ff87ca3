"""Reading a customer's submit_sm: addresses, codings, payload, parts by UDH or SAR, and
the status of each refusal (a table, boundaries included)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.core.sms_parts import ConcatInfo, split_message
from dialtone.core.sms_reassembly import Fragment
from dialtone.smpp import tlv
from dialtone.smpp.constants import CommandStatus, TlvTag
from dialtone.smpp.pdu import SubmitSm
from dialtone.smpp.submission import SubmitRefused, address, read_submit

S = CommandStatus
BASE = SubmitSm("33123456789", "33612345678", b"Hello", source_addr_ton=1, dest_addr_ton=1)


@pytest.mark.parametrize(
    ("value", "ton", "read"),
    [
        ("33612345678", 1, "+33612345678"),
        ("+33612345678", 1, "+33612345678"),
        ("0612345678", 2, "0612345678"),
        ("ACME", 5, "ACME"),
        (" 33612345678 ", 1, "+33612345678"),
        ("", 1, ""),
    ],
)
def test_addresses(value: str, ton: int, read: str) -> None:
    assert address(value, ton) == read


@pytest.mark.parametrize(
    ("data_coding", "octets", "text"),
    [
        (0, b"Hello @", "Hello \u00a1"),  # 0x40 is ¡ in GSM 03.38
        (0, b"\x00\x1b\x65", "@€"),
        (1, b"plain", "plain"),
        (3, b"caf\xe9", "café"),
        (8, "Привет".encode("utf-16-be"), "Привет"),
        (8, "😀".encode("utf-16-be"), "😀"),
    ],
)
def test_text_by_data_coding(data_coding: int, octets: bytes, text: str) -> None:
    read = read_submit(replace(BASE, data_coding=data_coding, short_message=octets))
    assert (read.text, read.part) == (text, None)
    assert (read.sender, read.recipient) == ("+33123456789", "+33612345678")


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"data_coding": 2}, S.ESME_RINVDCS),
        ({"data_coding": 4}, S.ESME_RINVDCS),
        ({"data_coding": 8, "short_message": b"\x00"}, S.ESME_RINVDCS),  # odd
        ({"data_coding": 8, "short_message": b"\xdc\x00"}, S.ESME_RINVDCS),  # low half alone
        ({"data_coding": 1, "short_message": b"\xff"}, S.ESME_RINVDCS),
        ({"short_message": b"\x80"}, S.ESME_RINVDCS),
        ({"short_message": b""}, S.ESME_RINVMSGLEN),
        ({"short_message": b"\x1b"}, S.ESME_RINVMSGLEN),  # a lone escape: no text left
        (
            {"short_message": b"x", "tlvs": (tlv.Tlv(TlvTag.MESSAGE_PAYLOAD, b"y"),)},
            S.ESME_RINVMSGLEN,
        ),
        ({"esm_class": 0x04}, S.ESME_RINVESMCLASS),
        ({"esm_class": 0x08}, S.ESME_RINVESMCLASS),
        ({"esm_class": 0x40, "short_message": b"\x05\x00\x03"}, S.ESME_RINVESMCLASS),
        ({"schedule_delivery_time": "000001000000000R"}, S.ESME_RINVSCHED),
        ({"destination_addr": ""}, S.ESME_RINVDSTADR),
        ({"tlvs": tlv.sar_tlvs(tlv.Sar(1, 2, 3))}, S.ESME_RINVOPTPARAMVAL),
        ({"tlvs": tlv.sar_tlvs(tlv.Sar(1, 0, 0))}, S.ESME_RINVOPTPARAMVAL),
    ],
)
def test_refusals(changes: dict[str, object], status: int) -> None:
    with pytest.raises(SubmitRefused) as refused:
        read_submit(replace(BASE, **changes))  # type: ignore[arg-type]
    assert refused.value.status == status


def test_messaging_modes_are_not_message_types() -> None:
    # esm_class bits 1-0 (store and forward, datagram, forward) and 7-6 are no refusal.
    for esm_class in (0x01, 0x02, 0x03, 0x80):
        assert read_submit(replace(BASE, esm_class=esm_class)).text == "Hello"


def test_message_payload_alone_is_the_text() -> None:
    body = replace(BASE, short_message=b"", tlvs=(tlv.Tlv(TlvTag.MESSAGE_PAYLOAD, b"x" * 600),))
    assert read_submit(body).text == "x" * 600


def test_a_udh_part_and_a_sar_part() -> None:
    udh = read_submit(replace(BASE, esm_class=0x40, short_message=b"\x05\x00\x03\x09\x02\x01ab"))
    assert udh.text is None
    assert udh.part == (ConcatInfo(9, 2, 1, 8), Fragment(0, b"ab"))
    sar = read_submit(replace(BASE, short_message=b"cd", tlvs=tlv.sar_tlvs(tlv.Sar(700, 3, 3))))
    assert sar.part == (ConcatInfo(700, 3, 3, 16), Fragment(0, b"cd"))


def test_a_udh_without_concatenation_or_of_one_part_is_a_whole_message() -> None:
    ports = b"\x06\x05\x04\x0b\x84\x23\xf0"  # application port addressing only
    assert read_submit(replace(BASE, esm_class=0x40, short_message=ports + b"hi")).text == "hi"
    single = b"\x05\x00\x03\x01\x01\x01"
    assert read_submit(replace(BASE, esm_class=0x40, short_message=single + b"hi")).text == "hi"


def test_receipt_asked_and_client_reference_are_kept() -> None:
    body = replace(
        BASE,
        registered_delivery=0x11,
        tlvs=(tlv.integer(TlvTag.USER_MESSAGE_REFERENCE, 65535, 2),),
    )
    read = read_submit(body)
    assert (read.registered_delivery, read.client_reference) == (0x11, "65535")
    assert read_submit(BASE).client_reference is None


@given(st.text(min_size=1, max_size=600).filter(lambda t: "\x00" not in t))
def test_any_text_split_as_sent_reads_back_part_by_part(text: str) -> None:
    try:
        split = split_message(text, 5)
    except ValueError:
        return  # lone surrogates: no text to send
    payload = b""
    for part in split.parts:
        read = read_submit(
            replace(
                BASE,
                data_coding=split.data_coding,
                short_message=part.short_message,
                esm_class=0x40 if part.udhi else 0,
            )
        )
        if len(split.parts) == 1:
            assert read.text == text
            return
        assert read.part is not None
        payload += read.part[1].payload
    assert payload == b"".join(p.payload for p in split.parts)
