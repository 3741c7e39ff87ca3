"""TLVs (SMPP 3.4 §3.2.4, §5.3): unknown tags kept, known lengths checked, accessors."""

from __future__ import annotations

import pytest

from dialtone.smpp import tlv
from dialtone.smpp.constants import CommandStatus, MessageState, TlvTag
from dialtone.smpp.errors import SmppDecodeError, SmppEncodeError
from dialtone.smpp.tlv import NetworkErrorCode, Sar, Tlv


def test_unknown_tags_are_kept_in_order() -> None:
    tlvs = (Tlv(0x1400, b"vendor"), Tlv(0x0204, b"\x00\x07"), Tlv(0x1401, b""))
    assert tlv.decode_tlvs(tlv.encode_tlvs(tlvs)) == tlvs
    assert tlv.encode_tlvs(tlvs)[:8] == bytes.fromhex("1400 0006") + b"vend"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (bytes.fromhex("02"), CommandStatus.ESME_RINVOPTPARSTREAM),
        (bytes.fromhex("020400"), CommandStatus.ESME_RINVOPTPARSTREAM),
        (bytes.fromhex("0204 0002 00"), CommandStatus.ESME_RINVOPTPARSTREAM),
        (bytes.fromhex("0204 0001 00"), CommandStatus.ESME_RINVPARLEN),  # user_message_reference
        (bytes.fromhex("020C 0003 000000"), CommandStatus.ESME_RINVPARLEN),  # sar_msg_ref_num
        (bytes.fromhex("0427 0000"), CommandStatus.ESME_RINVPARLEN),  # message_state
        (bytes.fromhex("0423 0002 0300"), CommandStatus.ESME_RINVPARLEN),  # network_error_code
        (bytes.fromhex("001E 0042") + b"x" * 66, CommandStatus.ESME_RINVPARLEN),  # 66 > 65
    ],
)
def test_malformed_tlvs(data: bytes, status: int) -> None:
    with pytest.raises(SmppDecodeError) as caught:
        tlv.decode_tlvs(data)
    assert caught.value.status == status


def test_receipted_message_id_up_to_65_octets() -> None:
    value = b"x" * 64 + b"\0"
    (decoded,) = tlv.decode_tlvs(bytes.fromhex("001E 0041") + value)
    assert tlv.receipted_message_id((decoded,)) == "x" * 64


def test_accessors_read_what_builders_write() -> None:
    part = Sar(reference=0xBEEF, total=3, sequence=2)
    error = NetworkErrorCode(network_type=3, error_code=0x0102)
    tlvs = tlv.decode_tlvs(
        tlv.encode_tlvs(
            (
                *tlv.sar_tlvs(part),
                tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "abc123"),
                tlv.integer(TlvTag.MESSAGE_STATE, MessageState.REJECTED, 1),
                tlv.integer(TlvTag.USER_MESSAGE_REFERENCE, 513, 2),
                tlv.network_error_code_tlv(error),
                tlv.integer(TlvTag.SC_INTERFACE_VERSION, 0x34, 1),
                Tlv(TlvTag.MESSAGE_PAYLOAD, b"long text"),
            )
        )
    )
    assert tlv.sar(tlvs) == part
    assert tlv.receipted_message_id(tlvs) == "abc123"
    assert tlv.message_state(tlvs) is MessageState.REJECTED
    assert tlv.user_message_reference(tlvs) == 513
    assert tlv.network_error_code(tlvs) == error
    assert tlv.find(tlvs, TlvTag.NETWORK_ERROR_CODE) == b"\x03\x01\x02"
    assert tlv.sc_interface_version(tlvs) == 0x34
    assert tlv.message_payload(tlvs) == b"long text"


def test_accessors_say_none_when_absent() -> None:
    assert tlv.sar(tlv.sar_tlvs(Sar(1, 2, 1))[:2]) is None
    for accessor in (
        tlv.message_payload,
        tlv.receipted_message_id,
        tlv.message_state,
        tlv.user_message_reference,
        tlv.network_error_code,
        tlv.sc_interface_version,
    ):
        assert accessor(()) is None


def test_an_unknown_message_state_stays_a_number() -> None:
    assert tlv.message_state((Tlv(TlvTag.MESSAGE_STATE, b"\x09"),)) == 9
    assert tlv.receipted_message_id((Tlv(TlvTag.RECEIPTED_MESSAGE_ID, b"no-nul"),)) == "no-nul"


@pytest.mark.parametrize(("value", "size"), [(-1, 1), (256, 1), (65536, 2)])
def test_integer_must_fit(value: int, size: int) -> None:
    with pytest.raises(SmppEncodeError):
        tlv.integer(TlvTag.MESSAGE_STATE, value, size)


def test_network_error_code_must_fit() -> None:
    with pytest.raises(SmppEncodeError):
        tlv.network_error_code_tlv(NetworkErrorCode(256, 0))
    with pytest.raises(SmppEncodeError):
        tlv.network_error_code_tlv(NetworkErrorCode(3, 65536))
