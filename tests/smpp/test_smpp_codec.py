"""The SMPP 3.4 codec: byte-exact vectors written by hand from the spec, round trips of
every PDU type, the field limits (just under, at, just over), the stream framer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.smpp.codec import DEFAULT_MAX_LENGTH, PduReader, decode, encode
from dialtone.smpp.constants import CommandId, CommandStatus, MessageState, TlvTag
from dialtone.smpp.errors import SmppDecodeError, SmppEncodeError
from dialtone.smpp.pdu import (
    Bind,
    BindKind,
    BindResp,
    Body,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from dialtone.smpp.tlv import Tlv, integer

S = CommandStatus


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# --- byte-exact vectors (SMPP 3.4 §3.2, §4.1.1, §4.4.1, by hand) ---------------------

BIND_TRANSMITTER = h(
    "0000002F 00000002 00000000 00000001"  # length 47, bind_transmitter, ROK, seq 1
    "534D505033544553 5400"  # system_id "SMPP3TEST"
    "7365637265743038 00"  # password "secret08"
    "5355424D49543100"  # system_type "SUBMIT1"
    "34 01 01"  # interface_version 3.4, addr_ton international, addr_npi ISDN
    "00"  # address_range NULL
)
SUBMIT_SM = h(
    "00000044 00000004 00000000 00000002"  # length 68, submit_sm, ROK, seq 2
    "00"  # service_type NULL
    "01 01 343437373030393030313233 00"  # source 1/1 "447700900123"
    "01 01 343437373030393030343536 00"  # destination 1/1 "447700900456"
    "00 00 00"  # esm_class, protocol_id, priority_flag
    "00 00"  # schedule_delivery_time, validity_period NULL
    "01 00 00 00"  # registered_delivery, replace_if_present, data_coding, sm_default_msg_id
    "05 48656C6C6F"  # sm_length 5, "Hello"
    "0204 0002 0007"  # user_message_reference = 7
)
VECTORS: list[tuple[str, bytes, Pdu]] = [
    (
        "bind_transmitter",
        BIND_TRANSMITTER,
        Pdu(Bind(BindKind.TRANSMITTER, "SMPP3TEST", "secret08", "SUBMIT1", 0x34, 1, 1, ""), 1),
    ),
    (
        "submit_sm",
        SUBMIT_SM,
        Pdu(
            SubmitSm(
                source_addr="447700900123",
                destination_addr="447700900456",
                short_message=b"Hello",
                source_addr_ton=1,
                source_addr_npi=1,
                dest_addr_ton=1,
                dest_addr_npi=1,
                registered_delivery=1,
                tlvs=(Tlv(TlvTag.USER_MESSAGE_REFERENCE, b"\x00\x07"),),
            ),
            2,
        ),
    ),
    (
        "submit_sm_resp",
        h("00000014 80000004 00000000 00000002 61626300"),
        Pdu(SubmitSmResp("abc"), 2),
    ),
    (
        "bind_transceiver_resp with sc_interface_version",
        h("0000001A 80000009 00000000 00000001 534D534300 0210 0001 34"),
        Pdu(BindResp(BindKind.TRANSCEIVER, "SMSC", (Tlv(0x0210, b"\x34"),)), 1),
    ),
    ("enquire_link", h("00000010 00000015 00000000 00000007"), Pdu(EnquireLink(), 7)),
    ("unbind_resp", h("00000010 80000006 00000000 00000009"), Pdu(UnbindResp(), 9)),
    (
        "generic_nack",
        h("00000010 80000000 00000003 00000005"),
        Pdu(GenericNack(), 5, S.ESME_RINVCMDID),
    ),
    (
        # A failed submit_sm_resp has no body at all (§4.4.2).
        "submit_sm_resp failed",
        h("00000010 80000004 00000045 00000003"),
        Pdu(SubmitSmResp(), 3, S.ESME_RSUBMITFAIL),
    ),
    (
        "query_sm_resp",
        h("00000016 80000003 00000000 00000004 494400 00 02 00"),
        Pdu(QuerySmResp("ID", "", MessageState.DELIVERED, 0), 4),
    ),
]


@pytest.mark.parametrize(("wire", "pdu"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_vectors_encode_and_decode_byte_exact(wire: bytes, pdu: Pdu) -> None:
    assert encode(pdu) == wire
    assert decode(wire) == pdu


def test_the_header_says_what_the_body_is() -> None:
    pdu = decode(SUBMIT_SM)
    assert pdu.command_id is CommandId.SUBMIT_SM
    assert not pdu.is_response
    assert decode(h("00000010 80000015 00000000 00000001")).is_response


# --- round trips of every PDU type -------------------------------------------------

EVERY_BODY: list[Body] = [
    *(Bind(kind, "sys", "pw", "type", 0x34, 1, 1, "^44") for kind in BindKind),
    *(
        BindResp(kind, "smsc", (integer(TlvTag.SC_INTERFACE_VERSION, 0x34, 1),))
        for kind in BindKind
    ),
    Outbind("smsc", "pw"),
    SubmitSm("447700900123", "447700900456", b"hi", esm_class=0x40, data_coding=8),
    DeliverSm(
        "447700900456",
        "447700900123",
        b"id:1 stat:DELIVRD",
        esm_class=0x04,
        tlvs=(Tlv(0x1E, b"1\0"), Tlv(0x0427, b"\x02"), Tlv(0x1400, b"vendor")),
    ),
    SubmitSmResp("a1b2"),
    DeliverSmResp(),
    DataSm("a" * 64, "b" * 64, tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"x" * 300),)),
    DataSmResp("m", (Tlv(TlvTag.DELIVERY_FAILURE_REASON, b"\x01"),)),
    QuerySm("m1", "447700900123", 1, 1),
    QuerySmResp("m1", "2401011200000+04", MessageState.ENROUTE, 0),
    EnquireLink(),
    EnquireLinkResp(),
    Unbind(),
    UnbindResp(),
    GenericNack(),
]


@pytest.mark.parametrize("body", EVERY_BODY, ids=lambda b: type(b).__name__)
def test_every_pdu_type_round_trips(body: Body) -> None:
    pdu = Pdu(body, 0x7FFFFFFF)
    assert decode(encode(pdu)) == pdu


@pytest.mark.parametrize(
    "body",
    [BindResp(BindKind.RECEIVER, "x"), SubmitSmResp("x"), QuerySmResp("x", "", 1, 0)],
    ids=lambda b: type(b).__name__,
)
def test_a_failed_response_goes_without_its_body(body: Body) -> None:
    wire = encode(Pdu(body, 3, S.ESME_RSYSERR))
    assert len(wire) == 16
    assert decode(wire).body == type(body)(*([body.kind] if isinstance(body, BindResp) else []))


@pytest.mark.parametrize(
    ("command_id", "empty"),
    [
        (0x80000002, BindResp(BindKind.TRANSMITTER)),
        (0x80000004, SubmitSmResp()),
        (0x80000005, DeliverSmResp()),
        (0x80000103, DataSmResp()),
        (0x80000003, QuerySmResp()),
    ],
)
def test_a_failed_response_with_an_empty_body_is_read(command_id: int, empty: Body) -> None:
    wire = h(f"00000010 {command_id:08X} 00000058 00000001")
    assert decode(wire) == Pdu(empty, 1, S.ESME_RTHROTTLED)


def test_an_empty_successful_submit_sm_resp_is_refused_but_deliver_sm_resp_is_read() -> None:
    with pytest.raises(SmppDecodeError) as caught:
        decode(h("00000010 80000004 00000000 00000001"))
    assert caught.value.status == S.ESME_RINVCMDLEN
    assert decode(h("00000010 80000005 00000000 00000001")).body == DeliverSmResp()


def test_a_failed_data_sm_resp_keeps_its_tlvs() -> None:
    pdu = Pdu(DataSmResp("", (Tlv(TlvTag.DELIVERY_FAILURE_REASON, b"\x02"),)), 4, S.ESME_RSYSERR)
    assert decode(encode(pdu)) == pdu


# --- the header -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "status", "framing_lost"),
    [
        (h("0000000F 00000015 00000000 000000"), S.ESME_RINVCMDLEN, True),
        (h("00000011 00000015 00000000 00000001"), S.ESME_RINVCMDLEN, True),  # says 17, is 16
        (h("00000011 00000015 00000000 00000001 00"), S.ESME_RINVCMDLEN, False),  # a body
        (h("00000010 00000099 00000000 00000001"), S.ESME_RINVCMDID, False),
        (h("00000010 00000007 00000000 00000001"), S.ESME_RINVCMDID, False),  # replace_sm
        (h("00000010 00000002 00000000 00000001"), S.ESME_RINVCMDLEN, False),  # no bind body
    ],
)
def test_header_errors(wire: bytes, status: int, framing_lost: bool) -> None:
    with pytest.raises(SmppDecodeError) as caught:
        decode(wire)
    assert caught.value.status == status
    assert caught.value.framing_lost is framing_lost
    if len(wire) >= 16:
        assert caught.value.sequence_number == 1


# --- field limits: just under, at, just over -----------------------------------------


def _splice(wire: bytes, old: bytes, new: bytes) -> bytes:
    assert wire.count(old) == 1
    body = wire[16:].replace(old, new)
    return (16 + len(body)).to_bytes(4, "big") + wire[4:16] + body


def _bind(**fields: str) -> Body:
    values = {"system_id": "s", "password": "p", "system_type": "t", "address_range": "r"}
    return Bind(BindKind.TRANSCEIVER, **(values | fields))


def _submit(cls: type[SubmitSm] | type[DeliverSm], **fields: str) -> Body:
    values = {"source_addr": "1", "destination_addr": "2", "service_type": "CMT"} | fields
    return cls(**values)


def _data_sm(**fields: str) -> Body:
    return DataSm(**({"source_addr": "1", "destination_addr": "2"} | fields))


# (what, a body with the field set to the placeholder, the field's octets with NUL, status)
LIMITS = [
    ("system_id", lambda v: _bind(system_id=v), 16, S.ESME_RINVSYSID),
    ("password", lambda v: _bind(password=v), 9, S.ESME_RINVPASWD),
    ("system_type", lambda v: _bind(system_type=v), 13, S.ESME_RINVSYSTYP),
    ("address_range", lambda v: _bind(address_range=v), 41, S.ESME_RINVSRCADR),
    ("bind_resp system_id", lambda v: BindResp(BindKind.RECEIVER, v), 16, S.ESME_RINVSYSID),
    ("outbind system_id", lambda v: Outbind(v, "p"), 16, S.ESME_RINVSYSID),
    ("outbind password", lambda v: Outbind("s", v), 9, S.ESME_RINVPASWD),
    ("service_type", lambda v: _submit(SubmitSm, service_type=v), 6, S.ESME_RINVSERTYP),
    ("source_addr", lambda v: _submit(SubmitSm, source_addr=v), 21, S.ESME_RINVSRCADR),
    ("destination_addr", lambda v: _submit(SubmitSm, destination_addr=v), 21, S.ESME_RINVDSTADR),
    ("deliver_sm source_addr", lambda v: _submit(DeliverSm, source_addr=v), 21, S.ESME_RINVSRCADR),
    ("data_sm source_addr", lambda v: _data_sm(source_addr=v), 65, S.ESME_RINVSRCADR),
    ("data_sm destination_addr", lambda v: _data_sm(destination_addr=v), 65, S.ESME_RINVDSTADR),
    ("submit_sm_resp message_id", SubmitSmResp, 65, S.ESME_RINVMSGID),
    ("data_sm_resp message_id", DataSmResp, 65, S.ESME_RINVMSGID),
    ("query_sm message_id", lambda v: QuerySm(v, "1"), 65, S.ESME_RINVMSGID),
    ("query_sm source_addr", lambda v: QuerySm("m", v), 21, S.ESME_RINVSRCADR),
]


@pytest.mark.parametrize(("what", "build", "octets", "status"), LIMITS, ids=[x[0] for x in LIMITS])
def test_c_octet_string_limits(
    what: str, build: Callable[[str], Body], octets: int, status: int
) -> None:
    # Under and at the limit: written and read back. Over: refused both ways.
    for length in (octets - 2, octets - 1):
        pdu = Pdu(build("Q" * length), 1)
        assert decode(encode(pdu)) == pdu
    with pytest.raises(SmppEncodeError):
        encode(Pdu(build("Q" * octets), 1))
    wire = _splice(encode(Pdu(build("Q"), 1)), b"Q\0", b"Q" * octets + b"\0")
    with pytest.raises(SmppDecodeError) as caught:
        decode(wire)
    assert caught.value.status == status
    assert caught.value.sequence_number == 1
    assert not caught.value.framing_lost


TIMES = [
    ("schedule_delivery_time", SubmitSm, S.ESME_RINVSCHED),
    ("validity_period", SubmitSm, S.ESME_RINVEXPIRY),
    ("schedule_delivery_time", DeliverSm, S.ESME_RINVSCHED),
    ("validity_period", DeliverSm, S.ESME_RINVEXPIRY),
]


@pytest.mark.parametrize(("field", "cls", "status"), TIMES)
@pytest.mark.parametrize(("length", "valid"), [(0, True), (1, False), (15, False), (16, True)])
def test_times_are_empty_or_sixteen_characters(
    field: str, cls: type[SubmitSm], status: int, length: int, valid: bool
) -> None:
    value = "0" * length
    full = Pdu(_submit(cls, **{field: "Q" * 16}), 1)
    wire = _splice(encode(full), b"Q" * 16 + b"\0", value.encode() + b"\0")
    if valid:
        assert getattr(decode(wire).body, field) == value
        assert encode(decode(wire)) == wire
        return
    with pytest.raises(SmppEncodeError):
        encode(Pdu(_submit(cls, **{field: value}), 1))
    with pytest.raises(SmppDecodeError) as caught:
        decode(wire)
    assert caught.value.status == status


@pytest.mark.parametrize(("field", "cls", "status"), TIMES)
def test_a_time_of_seventeen_characters_is_refused(
    field: str, cls: type[SubmitSm], status: int
) -> None:
    full = Pdu(_submit(cls, **{field: "Q" * 16}), 1)
    wire = _splice(encode(full), b"Q" * 16 + b"\0", b"0" * 17 + b"\0")
    with pytest.raises(SmppDecodeError) as caught:
        decode(wire)
    assert caught.value.status == status


@pytest.mark.parametrize("length", [0, 253, 254])
def test_short_message_up_to_254_octets(length: int) -> None:
    pdu = Pdu(SubmitSm("1", "2", b"\xff" * length), 1)
    assert decode(encode(pdu)) == pdu


def test_short_message_of_255_octets_is_refused() -> None:
    with pytest.raises(SmppEncodeError):
        encode(Pdu(SubmitSm("1", "2", b"x" * 255), 1))
    wire = _splice(encode(Pdu(SubmitSm("1", "2", b"Z"), 1)), b"\x01Z", b"\xff" + b"Z" * 255)
    with pytest.raises(SmppDecodeError) as caught:
        decode(wire)
    assert caught.value.status == S.ESME_RINVMSGLEN


def test_sm_length_past_the_body_is_refused() -> None:
    wire = _splice(encode(Pdu(SubmitSm("1", "2", b"Z"), 1)), b"\x01Z", b"\x09Z")
    with pytest.raises(SmppDecodeError) as caught:
        decode(wire)
    assert caught.value.status == S.ESME_RINVMSGLEN


def test_a_string_cut_by_the_end_of_the_pdu() -> None:
    with pytest.raises(SmppDecodeError) as caught:
        decode(h("00000013 00000002 00000000 00000001 414243"))  # "ABC", no NUL
    assert caught.value.status == S.ESME_RINVCMDLEN


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (SubmitSm("1", "2", esm_class=256), "octet"),
        (SubmitSm("\u0100", "2"), "one octet"),
        (SubmitSm("1\x002", "2"), "NUL"),
        (SubmitSm("1", "2", tlvs=(Tlv(0x10000, b""),)), "tag"),
        (DataSm("1", "2", tlvs=(Tlv(0x0424, b"x" * 65536),)), "length"),
    ],
)
def test_encode_refuses_what_cannot_be_written(body: Body, why: str) -> None:
    with pytest.raises(SmppEncodeError):
        encode(Pdu(body, 1))


@pytest.mark.parametrize(("sequence", "status"), [(-1, 0), (1 << 32, 0), (1, -1), (1, 1 << 32)])
def test_encode_refuses_header_values_over_32_bits(sequence: int, status: int) -> None:
    with pytest.raises(SmppEncodeError):
        encode(Pdu(EnquireLink(), sequence, status))


def test_text_fields_keep_every_octet() -> None:
    pdu = Pdu(SubmitSm("\xe9\x01\x7f", "\xff"), 1)
    assert decode(encode(pdu)) == pdu


# --- the stream framer ----------------------------------------------------------------

STREAM_PDUS = [Pdu(body, n + 1) for n, body in enumerate(EVERY_BODY)]
STREAM = b"".join(encode(p) for p in STREAM_PDUS)


@given(st.lists(st.integers(min_value=1, max_value=60), max_size=40))
def test_any_split_gives_the_same_pdus(cuts: list[int]) -> None:
    reader, out, pos = PduReader(), [], 0
    for cut in [*cuts, len(STREAM)]:
        reader.feed(STREAM[pos : pos + cut])
        pos += cut
        out.extend(reader)
    assert out == STREAM_PDUS
    assert reader.pending == 0


def test_reader_waits_for_a_whole_header_and_body() -> None:
    reader = PduReader()
    reader.feed(SUBMIT_SM[:15])
    assert reader.next_pdu() is None
    reader.feed(SUBMIT_SM[15:-1])
    assert reader.next_pdu() is None
    assert reader.pending == len(SUBMIT_SM) - 1
    reader.feed(SUBMIT_SM[-1:])
    assert reader.next_pdu() == decode(SUBMIT_SM)


@pytest.mark.parametrize(
    ("length", "max_length", "lost"),
    [
        (15, DEFAULT_MAX_LENGTH, True),
        (16, DEFAULT_MAX_LENGTH, False),
        (DEFAULT_MAX_LENGTH, DEFAULT_MAX_LENGTH, False),
        (DEFAULT_MAX_LENGTH + 1, DEFAULT_MAX_LENGTH, True),
        (101, 100, True),
        (100, 100, False),
        (0xFFFFFFFF, DEFAULT_MAX_LENGTH, True),
    ],
)
def test_reader_bounds_command_length(length: int, max_length: int, lost: bool) -> None:
    reader = PduReader(max_length=max_length)
    reader.feed(length.to_bytes(4, "big") + h("00000015 00000000 0000002A"))
    if not lost:
        # Whole at 16 octets; otherwise it waits for the rest.
        assert reader.next_pdu() == (Pdu(EnquireLink(), 42) if length == 16 else None)
        return
    for _ in range(2):  # and stays broken
        with pytest.raises(SmppDecodeError) as caught:
            reader.next_pdu()
        assert caught.value.status == S.ESME_RINVCMDLEN
        assert caught.value.framing_lost
        assert caught.value.sequence_number == 42
    reader.feed(encode(Pdu(EnquireLink(), 1)))
    with pytest.raises(SmppDecodeError):
        reader.next_pdu()


def test_a_bad_body_costs_one_pdu_and_the_stream_reads_on() -> None:
    bad = h("00000010 00000099 00000000 00000005")
    reader = PduReader()
    reader.feed(bad + encode(Pdu(EnquireLink(), 6)))
    with pytest.raises(SmppDecodeError) as caught:
        reader.next_pdu()
    assert (caught.value.status, caught.value.sequence_number) == (S.ESME_RINVCMDID, 5)
    assert not caught.value.framing_lost
    assert reader.next_pdu() == Pdu(EnquireLink(), 6)
    assert reader.next_pdu() is None
