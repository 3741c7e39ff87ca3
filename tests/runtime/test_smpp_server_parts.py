"""Long messages at dialtone's SMPP server, driven by our own ESME link (it writes the
TLVs smpplib does not: message_payload, sar_*): parts answered together once the message
is whole and stored, with one id; a part resent gets the same answer and no second row;
parts that never complete are refused after the timeout (what a client sending one part
at a time meets); bad submits get a clear status."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialtone.core.sms_encoding import encode_gsm7, encode_ucs2
from dialtone.core.sms_parts import split_message
from dialtone.runtime.smpp_link import SmppLink
from dialtone.runtime.tls import client_context, ensure_certificate, server_context
from dialtone.smpp import tlv
from dialtone.smpp.constants import CommandStatus, TlvTag
from dialtone.smpp.pdu import Bind, BindKind, Pdu, SubmitSm, SubmitSmResp
from dialtone.smpp.session import Role
from tests.runtime.smpp_server_harness import DEST, SOURCE, SYSTEM_ID, Harness

S = CommandStatus


class _Quiet:
    def on_bind(self, link: SmppLink, pdu: Pdu) -> None:
        raise AssertionError("no bind to an ESME")

    def on_request(self, link: SmppLink, pdu: Pdu) -> None:
        link.respond(pdu, 0)

    def on_closed(self, link: SmppLink) -> None:
        pass


async def _bound(harness: Harness) -> SmppLink:
    loop = asyncio.get_running_loop()
    _, link = await loop.create_connection(
        lambda: SmppLink(Role.ESME, _Quiet()), "127.0.0.1", harness.port
    )
    answer = await link.request(Bind(BindKind.TRANSCEIVER, SYSTEM_ID, harness.password))
    assert answer.command_status == 0
    return link


def submit(short_message: bytes = b"", **fields: object) -> SubmitSm:
    values: dict[str, object] = {
        "source_addr_ton": 1,
        "dest_addr_ton": 1,
        "registered_delivery": 1,
        **fields,
    }
    return SubmitSm(SOURCE, DEST, short_message, **values)  # type: ignore[arg-type]


def answers(harness: Harness, *bodies: SubmitSm) -> list[tuple[int, str]]:
    """Send ``bodies`` at once on one bind; each answer's status and message id."""

    async def run() -> list[tuple[int, str]]:
        link = await _bound(harness)
        pdus = await asyncio.gather(*(link.request(body) for body in bodies))
        link.close()
        out = []
        for pdu in pdus:
            assert isinstance(pdu.body, SubmitSmResp)
            out.append((pdu.command_status, pdu.body.message_id))
        return out

    return harness.call(run())


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with Harness(tmp_path, parts_timeout=1.0) as running:
        yield running


def test_message_payload_carries_a_long_text(harness: Harness) -> None:
    text = "A long one. " * 30
    payload = tlv.Tlv(TlvTag.MESSAGE_PAYLOAD, encode_gsm7(text))
    [(status, message_id)] = answers(harness, submit(tlvs=(payload,)))
    [row] = harness.messages()
    assert (status, message_id) == (0, row.id)
    assert (row.body, row.segments) == (text, 3)


def test_both_short_message_and_payload_are_refused(harness: Harness) -> None:
    payload = tlv.Tlv(TlvTag.MESSAGE_PAYLOAD, b"two")
    [(status, _)] = answers(harness, submit(b"one", tlvs=(payload,)))
    assert status == S.ESME_RINVMSGLEN
    assert harness.messages() == []


@pytest.mark.parametrize("data_coding", [1, 3])
def test_ia5_and_latin1_are_read(harness: Harness, data_coding: int) -> None:
    text = "Caf\xe9 ready" if data_coding == 3 else "Cafe ready"
    [(status, _)] = answers(harness, submit(text.encode("latin-1"), data_coding=data_coding))
    assert status == 0
    assert [m.body for m in harness.messages()] == [text]


def test_sar_parts_out_of_order_make_one_message(harness: Harness) -> None:
    text = "Ж" * 67 + "Я" * 67 + "end"
    split = split_message(text, 513, concatenation="sar", reference_bits=16)
    bodies = [
        submit(
            part.payload,
            data_coding=8,
            tlvs=(
                *tlv.sar_tlvs(tlv.Sar(513, 3, sequence)),
                tlv.integer(TlvTag.USER_MESSAGE_REFERENCE, 42, 2),
            ),
        )
        for sequence, part in enumerate(split.parts, start=1)
    ]
    results = answers(harness, bodies[2], bodies[0], bodies[1])
    [row] = harness.messages()
    assert results == [(0, row.id)] * 3
    assert (row.body, row.segments, row.encoding) == (text, 3, "UCS-2")
    assert row.client_reference == "42"
    assert harness.stored == 1


def test_a_surrogate_pair_split_between_parts_still_reads(harness: Harness) -> None:
    octets = encode_ucs2("a" * 66 + "😀" + "b")  # the pair straddles octet 134
    header = bytes((5, 0, 3, 7, 2))
    bodies = [
        submit(header + b"\x01" + octets[:134], data_coding=8, esm_class=0x40),
        submit(header + b"\x02" + octets[134:], data_coding=8, esm_class=0x40),
    ]
    results = answers(harness, *bodies)
    [row] = harness.messages()
    assert results == [(0, row.id)] * 2
    assert row.body == "a" * 66 + "😀" + "b"


def test_a_part_resent_after_its_answer_gets_the_same_id_and_no_second_row(
    harness: Harness,
) -> None:
    split = split_message("z" * 200, 9)
    bodies = [submit(part.short_message, esm_class=0x40) for part in split.parts]
    first = answers(harness, *bodies)
    again = answers(harness, bodies[1])
    [row] = harness.messages()
    assert first == [(0, row.id)] * 2
    assert again == [(0, row.id)]


def test_parts_that_never_complete_are_refused_after_the_timeout(harness: Harness) -> None:
    split = split_message("q" * 400, 11)  # three parts; the second never comes
    bodies = [submit(split.parts[i].short_message, esm_class=0x40) for i in (0, 2)]
    results = answers(harness, *bodies)
    assert results == [(S.ESME_RSUBMITFAIL, "")] * 2
    assert harness.messages() == []


def test_parts_whose_whole_is_no_text_are_refused(harness: Harness) -> None:
    header = bytes((5, 0, 3, 8, 2))
    bodies = [
        submit(header + b"\x01" + b"\xd8\x3d", data_coding=8, esm_class=0x40),
        submit(header + b"\x02" + b"\x00\x41", data_coding=8, esm_class=0x40),  # no low half
    ]
    assert answers(harness, *bodies) == [(S.ESME_RINVDCS, "")] * 2
    assert harness.messages() == []


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"data_coding": 4}, S.ESME_RINVDCS),  # 8-bit binary: no text
        ({"data_coding": 0xF0}, S.ESME_RINVDCS),
        ({"esm_class": 0x04}, S.ESME_RINVESMCLASS),  # a receipt is not submitted
        ({"schedule_delivery_time": "261102120000000+"}, S.ESME_RINVSCHED),
        ({"destination_addr": ""}, S.ESME_RINVDSTADR),
        ({"source_addr": ""}, S.ESME_RINVSRCADR),
        ({"short_message": b""}, S.ESME_RINVMSGLEN),
        ({"short_message": b"\x80"}, S.ESME_RINVDCS),  # no GSM 7-bit septet
        ({"short_message": b"\x09\x00\x03", "esm_class": 0x40}, S.ESME_RINVESMCLASS),  # UDH cut
    ],
)
def test_bad_submits_get_a_clear_status(
    harness: Harness, fields: dict[str, object], status: int
) -> None:
    body = submit(b"hello")
    values = {name: getattr(body, name) for name in body.__dataclass_fields__}
    [(got, _)] = answers(harness, SubmitSm(**{**values, **fields}))  # type: ignore[arg-type]
    assert got == status
    assert harness.messages() == []


def test_smpp_over_tls_binds_and_submits(tmp_path: Path) -> None:
    """With a TLS port, a client that speaks TLS binds and submits there as on the plain
    port (the SIP TLS certificate serves)."""
    cert, key = ensure_certificate(None, None, tmp_path / "tls", "127.0.0.1")
    with Harness(tmp_path, tls=(0, server_context(cert, key))) as running:
        assert running.server.tls_port is not None

        async def run() -> tuple[int, str]:
            loop = asyncio.get_running_loop()
            _, link = await loop.create_connection(
                lambda: SmppLink(Role.ESME, _Quiet()),
                "127.0.0.1",
                running.server.tls_port,
                ssl=client_context(),
            )
            bound = await link.request(Bind(BindKind.TRANSCEIVER, SYSTEM_ID, running.password))
            assert bound.command_status == 0
            answer = await link.request(submit(encode_gsm7("Over TLS")))
            link.close()
            assert isinstance(answer.body, SubmitSmResp)
            return answer.command_status, answer.body.message_id

        status, message_id = running.call(run())
        assert status == 0
        assert [m.id for m in running.messages()] == [message_id]
