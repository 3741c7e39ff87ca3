"""Hypothesis: generated PDUs round-trip; arbitrary and mutated bytes fed to ``decode``,
``PduReader`` and a session let nothing but ``SmppDecodeError`` out (the session: nothing)."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialtone.smpp.codec import PduReader, decode, encode
from dialtone.smpp.errors import SmppDecodeError
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
from dialtone.smpp.session import Role, SmppSession
from dialtone.smpp.tlv import FIXED_LENGTH, MAX_LENGTH, Tlv

octet = st.integers(min_value=0, max_value=255)
OCTET_CHARS = st.characters(min_codepoint=1, max_codepoint=255)


def cstring(octets: int) -> st.SearchStrategy[str]:
    return st.text(OCTET_CHARS, max_size=octets - 1)


time = st.just("") | st.text(OCTET_CHARS, min_size=16, max_size=16)
_free_tag = st.integers(min_value=0, max_value=0xFFFF).filter(
    lambda t: t not in FIXED_LENGTH and t not in MAX_LENGTH
)
tlv = st.one_of(
    st.builds(Tlv, _free_tag, st.binary(max_size=40)),
    st.sampled_from(sorted(FIXED_LENGTH.items())).flatmap(
        lambda item: st.builds(Tlv, st.just(item[0]), st.binary(min_size=item[1], max_size=item[1]))
    ),
)
tlvs = st.lists(tlv, max_size=4).map(tuple)


def short_message(cls: type[SubmitSm] | type[DeliverSm]) -> st.SearchStrategy[Body]:
    return st.builds(
        cls,
        source_addr=cstring(21),
        destination_addr=cstring(21),
        short_message=st.binary(max_size=254),
        service_type=cstring(6),
        source_addr_ton=octet,
        source_addr_npi=octet,
        dest_addr_ton=octet,
        dest_addr_npi=octet,
        esm_class=octet,
        protocol_id=octet,
        priority_flag=octet,
        schedule_delivery_time=time,
        validity_period=time,
        registered_delivery=octet,
        replace_if_present_flag=octet,
        data_coding=octet,
        sm_default_msg_id=octet,
        tlvs=tlvs,
    )


kinds = st.sampled_from(list(BindKind))
requests: st.SearchStrategy[Body] = st.one_of(
    st.builds(Bind, kinds, cstring(16), cstring(9), cstring(13), octet, octet, octet, cstring(41)),
    st.builds(Outbind, cstring(16), cstring(9)),
    short_message(SubmitSm),
    short_message(DeliverSm),
    st.builds(
        DataSm,
        cstring(65),
        cstring(65),
        cstring(6),
        octet,
        octet,
        octet,
        octet,
        octet,
        octet,
        octet,
        tlvs,
    ),
    st.builds(QuerySm, cstring(65), cstring(21), octet, octet),
    st.sampled_from([EnquireLink(), Unbind()]),
)
responses: st.SearchStrategy[Body] = st.one_of(
    st.builds(BindResp, kinds, cstring(16), tlvs),
    st.builds(SubmitSmResp, cstring(65), tlvs),
    st.builds(DeliverSmResp, cstring(65), tlvs),
    st.builds(DataSmResp, cstring(65), tlvs),
    st.builds(QuerySmResp, cstring(65), time, octet, octet),
    st.sampled_from([EnquireLinkResp(), UnbindResp(), GenericNack()]),
)
u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)
pdus = st.one_of(
    st.builds(Pdu, requests, u32, u32),
    st.builds(Pdu, responses, u32, st.just(0)),
    # A failed response whose body the spec drops keeps only its type.
    st.builds(
        Pdu,
        st.one_of(st.builds(BindResp, kinds), st.just(SubmitSmResp()), st.just(QuerySmResp())),
        u32,
        st.integers(min_value=1, max_value=0xFFFFFFFF),
    ),
)


@given(pdus)
def test_generated_pdus_round_trip(pdu: Pdu) -> None:
    wire = encode(pdu)
    assert decode(wire) == pdu
    assert int.from_bytes(wire[:4], "big") == len(wire)


def _decode_only_raises_decode_errors(data: bytes) -> None:
    with contextlib.suppress(SmppDecodeError):
        decode(data)
    reader = PduReader(max_length=4096)
    reader.feed(data)
    for _ in range(len(data) // 16 + 2):
        try:
            if reader.next_pdu() is None:
                break
        except SmppDecodeError as error:
            if error.framing_lost:
                break


@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    _decode_only_raises_decode_errors(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(encode(draw(pdus)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        match draw(st.sampled_from(["flip", "insert", "delete", "nul", "ff"])):
            case "flip" if position < len(data):
                data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
            case "insert":
                data[position:position] = draw(st.binary(min_size=1, max_size=4))
            case "delete":
                del data[position : position + draw(st.integers(min_value=1, max_value=4))]
            case "nul" if position < len(data):
                data[position] = 0
            case "ff" if position < len(data):
                data[position] = 0xFF
    if draw(st.booleans()) and len(data) >= 4:  # keep the framing right: reach the body
        data[:4] = len(data).to_bytes(4, "big")
    return bytes(data)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_pdus(data: bytes) -> None:
    _decode_only_raises_decode_errors(data)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(Role)), st.lists(mutated() | st.binary(max_size=40), max_size=6))
def test_a_session_takes_any_bytes(role: Role, chunks: list[bytes]) -> None:
    session = SmppSession(role, now=0.0)
    for n, chunk in enumerate(chunks):
        session.receive_data(chunk, float(n))
        session.on_timer(float(n))
