"""Delivery receipts (SMPP 3.4 Appendix B): read tolerantly, written as the appendix says,
``stat`` and message_state on one enum."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.smpp import tlv
from dialtone.smpp.constants import MessageState, TlvTag
from dialtone.smpp.pdu import DataSm, DeliverSm
from dialtone.smpp.receipt import (
    Receipt,
    format_receipt,
    format_receipt_date,
    parse_receipt,
    parse_receipt_date,
    receipt_of,
    stat_name,
    state_of_stat,
)

APPENDIX_B = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 "
    "stat:DELIVRD err:000 text:Hello there, this is"
)


def test_the_appendix_form() -> None:
    assert parse_receipt(APPENDIX_B) == Receipt(
        message_id="0123456789",
        state=MessageState.DELIVERED,
        submitted=1,
        delivered=1,
        submit_date="2401151230",
        done_date="2401151231",
        error="000",
        text="Hello there, this is",
        stat="DELIVRD",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ID:abc STAT:undeliv ERR:012", Receipt("abc", MessageState.UNDELIVERABLE, error="012")),
        ("id:abc   stat:  EXPIRED  ", Receipt("abc", MessageState.EXPIRED)),
        ("Id : abc Submit  Date:2401151230", Receipt("abc", submit_date="2401151230")),
        ("id:abc stat:DELIVERED", Receipt("abc", MessageState.DELIVERED)),
        ("id:abc stat:WEIRD", Receipt("abc", None, stat="WEIRD")),
        ("id:abc sub:xx dlvrd:", Receipt("abc")),
        ("id:abc text:stat:REJECTD id:zzz", Receipt("abc", text="stat:REJECTD id:zzz")),
        ("id:abc stat:ACCEPTD text:", Receipt("abc", MessageState.ACCEPTED, text="")),
    ],
)
def test_tolerant_reading(text: str, expected: Receipt) -> None:
    parsed = parse_receipt(text)
    assert parsed is not None
    # Compare on what each case sets; the raw stat is checked where given.
    fields = ("message_id", "state", "submitted", "delivered", "submit_date", "error", "text")
    for name in fields:
        assert getattr(parsed, name) == getattr(expected, name), name
    if expected.stat is not None:
        assert parsed.stat == expected.stat


@pytest.mark.parametrize("text", ["", "hello", "stat:DELIVRD", "id: stat:DELIVRD", "paid:1"])
def test_not_a_receipt(text: str) -> None:
    assert parse_receipt(text) is None


def test_bytes_are_read_as_latin_1() -> None:
    parsed = parse_receipt(b"id:x text:caf\xe9")
    assert parsed is not None
    assert parsed.text == "caf\xe9"


@pytest.mark.parametrize("state", list(MessageState))
def test_every_state_round_trips_through_stat(state: MessageState) -> None:
    assert len(stat_name(state)) == 7
    assert state_of_stat(stat_name(state).lower()) is state
    written = format_receipt(Receipt("id1", state, 1, 0, "2401151230", "2401151231", "000", "x"))
    parsed = parse_receipt(written)
    assert parsed is not None
    assert parsed.state is state


def test_writing_the_appendix_form() -> None:
    receipt = Receipt(
        "0123456789",
        MessageState.DELIVERED,
        submitted=1,
        delivered=1,
        submit_date="2401151230",
        done_date="2401151231",
        error="000",
        text="Hello there, this is a longer text",
    )
    assert format_receipt(receipt) == APPENDIX_B


def test_writing_defaults() -> None:
    assert format_receipt(Receipt("m")) == (
        "id:m sub:000 dlvrd:000 submit date: done date: stat:UNKNOWN err:000 text:"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401151230", datetime(2024, 1, 15, 12, 30)),
        ("240115123059", datetime(2024, 1, 15, 12, 30, 59)),
        (" 2401151230 ", datetime(2024, 1, 15, 12, 30)),
        ("2413151230", None),
        ("24011512", None),
        ("24O1151230", None),
        ("", None),
    ],
)
def test_receipt_dates(text: str, expected: datetime | None) -> None:
    assert parse_receipt_date(text) == expected


def test_receipt_date_written() -> None:
    assert format_receipt_date(datetime(2024, 1, 15, 12, 30, 59)) == "2401151230"


def test_receipt_of_a_deliver_sm_prefers_the_tlvs() -> None:
    body = DeliverSm(
        "447700900456",
        "447700900123",
        APPENDIX_B.replace("DELIVRD", "ENROUTE").encode(),
        esm_class=0x04,
        tlvs=(
            tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "ABC"),
            tlv.integer(TlvTag.MESSAGE_STATE, MessageState.DELIVERED, 1),
        ),
    )
    receipt = receipt_of(body)
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.stat) == (
        "ABC",
        MessageState.DELIVERED,
        "ENROUTE",
    )


def test_receipt_of_with_the_text_only_or_the_tlvs_only() -> None:
    from_text = receipt_of(DeliverSm("1", "2", APPENDIX_B.encode(), esm_class=0x04))
    assert from_text == parse_receipt(APPENDIX_B)
    tlvs_only = DataSm(
        "1",
        "2",
        esm_class=0x04,
        tlvs=(
            tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "X9"),
            tlv.integer(TlvTag.MESSAGE_STATE, 0x7F, 1),
        ),
    )
    assert receipt_of(tlvs_only) == Receipt("X9", None)
    payload = DataSm("1", "2", esm_class=0x04, tlvs=(tlv.Tlv(0x0424, APPENDIX_B.encode()),))
    assert receipt_of(payload) == parse_receipt(APPENDIX_B)


def test_receipt_of_a_message_is_none() -> None:
    assert receipt_of(DeliverSm("1", "2", APPENDIX_B.encode(), esm_class=0x00)) is None
    assert receipt_of(DeliverSm("1", "2", APPENDIX_B.encode(), esm_class=0x08)) is None
    assert receipt_of(DeliverSm("1", "2", b"no receipt here", esm_class=0x04)) is None


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_reading_never_raises(text: str | bytes) -> None:
    parse_receipt(text)
