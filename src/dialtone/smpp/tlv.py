"""Optional parameters (TLVs, SMPP 3.4 §3.2.4 and §5.3): tag, length, value.

Every TLV of a PDU is kept, in order, as a ``Tlv`` of raw bytes: unknown tags pass through
untouched (§3.2.4: an unknown optional parameter is ignored, not refused). The tags this
project reads have typed accessors and builders here; decoding checks the length of the
known fixed-size ones, so an accessor never sees a short value from the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialtone.smpp.constants import CommandStatus, MessageState, TlvTag
from dialtone.smpp.errors import SmppDecodeError, SmppEncodeError

_MAX_VALUE = 0xFFFF

# Lengths the spec fixes (§5.3.2); a different one is ESME_RINVPARLEN.
FIXED_LENGTH: dict[int, int] = {
    TlvTag.DEST_ADDR_SUBUNIT: 1,
    TlvTag.DEST_NETWORK_TYPE: 1,
    TlvTag.DEST_BEARER_TYPE: 1,
    TlvTag.SOURCE_ADDR_SUBUNIT: 1,
    TlvTag.SOURCE_NETWORK_TYPE: 1,
    TlvTag.SOURCE_BEARER_TYPE: 1,
    TlvTag.SOURCE_TELEMATICS_ID: 1,
    TlvTag.QOS_TIME_TO_LIVE: 4,
    TlvTag.PAYLOAD_TYPE: 1,
    TlvTag.MS_MSG_WAIT_FACILITIES: 1,
    TlvTag.PRIVACY_INDICATOR: 1,
    TlvTag.USER_MESSAGE_REFERENCE: 2,
    TlvTag.USER_RESPONSE_CODE: 1,
    TlvTag.SOURCE_PORT: 2,
    TlvTag.DESTINATION_PORT: 2,
    TlvTag.SAR_MSG_REF_NUM: 2,
    TlvTag.LANGUAGE_INDICATOR: 1,
    TlvTag.SAR_TOTAL_SEGMENTS: 1,
    TlvTag.SAR_SEGMENT_SEQNUM: 1,
    TlvTag.SC_INTERFACE_VERSION: 1,
    TlvTag.CALLBACK_NUM_PRES_IND: 1,
    TlvTag.NUMBER_OF_MESSAGES: 1,
    TlvTag.DPF_RESULT: 1,
    TlvTag.SET_DPF: 1,
    TlvTag.MS_AVAILABILITY_STATUS: 1,
    TlvTag.NETWORK_ERROR_CODE: 3,
    TlvTag.DELIVERY_FAILURE_REASON: 1,
    TlvTag.MORE_MESSAGES_TO_SEND: 1,
    TlvTag.MESSAGE_STATE: 1,
    TlvTag.USSD_SERVICE_OP: 1,
    TlvTag.DISPLAY_TIME: 1,
    TlvTag.SMS_SIGNAL: 2,
    TlvTag.MS_VALIDITY: 1,
    TlvTag.ALERT_ON_MESSAGE_DELIVERY: 0,
    TlvTag.ITS_REPLY_TYPE: 1,
    TlvTag.ITS_SESSION_INFO: 2,
}
# C-octet strings: the most octets, the terminating NUL included (§5.3.2).
MAX_LENGTH: dict[int, int] = {
    TlvTag.RECEIPTED_MESSAGE_ID: 65,
    TlvTag.ADDITIONAL_STATUS_INFO_TEXT: 256,
}


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter: its tag and its value's raw octets."""

    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class Sar:
    """The segmentation-and-reassembly TLVs of one part of a long message (§5.3.2.22-24)."""

    reference: int
    total: int
    sequence: int


@dataclass(frozen=True, slots=True)
class NetworkErrorCode:
    """network_error_code (§5.3.2.31): the network type (GSM = 3) and its error code."""

    network_type: int
    error_code: int


def decode_tlvs(data: bytes) -> tuple[Tlv, ...]:
    """Read the TLVs that fill ``data`` to its end (SMPP 3.4 §3.2.4).

    A TLV cut short is ``ESME_RINVOPTPARSTREAM``; a known tag with a length the spec does
    not allow is ``ESME_RINVPARLEN``.
    """
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise SmppDecodeError("a TLV header is cut short", CommandStatus.ESME_RINVOPTPARSTREAM)
        tag = int.from_bytes(data[pos : pos + 2], "big")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 4
        if len(data) - pos < length:
            raise SmppDecodeError(
                f"TLV 0x{tag:04X} runs past the PDU", CommandStatus.ESME_RINVOPTPARSTREAM
            )
        fixed = FIXED_LENGTH.get(tag)
        if (fixed is not None and length != fixed) or length > MAX_LENGTH.get(tag, _MAX_VALUE):
            raise SmppDecodeError(
                f"TLV 0x{tag:04X} has length {length}", CommandStatus.ESME_RINVPARLEN
            )
        out.append(Tlv(tag, bytes(data[pos : pos + length])))
        pos += length
    return tuple(out)


def encode_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    """The wire form of ``tlvs``, in order; a value over 65535 octets cannot be sent."""
    out = bytearray()
    for tlv in tlvs:
        if not 0 <= tlv.tag <= _MAX_VALUE or len(tlv.value) > _MAX_VALUE:
            raise SmppEncodeError(f"TLV 0x{tlv.tag:X} does not fit a tag and length")
        out += tlv.tag.to_bytes(2, "big") + len(tlv.value).to_bytes(2, "big") + tlv.value
    return bytes(out)


def find(tlvs: tuple[Tlv, ...], tag: int) -> bytes | None:
    """The value of the first TLV with ``tag``, or None."""
    for tlv in tlvs:
        if tlv.tag == tag:
            return tlv.value
    return None


def integer(tag: int, value: int, size: int) -> Tlv:
    """A TLV holding an unsigned big-endian integer of ``size`` octets."""
    if not 0 <= value < 1 << (8 * size):
        raise SmppEncodeError(f"{value} does not fit {size} octets")
    return Tlv(tag, value.to_bytes(size, "big"))


def cstring(tag: int, text: str) -> Tlv:
    """A TLV holding a C-octet string (the NUL terminator included, §3.1)."""
    return Tlv(tag, text.encode("latin-1") + b"\0")


def _int(tlvs: tuple[Tlv, ...], tag: int) -> int | None:
    value = find(tlvs, tag)
    return None if value is None else int.from_bytes(value, "big")


def message_payload(tlvs: tuple[Tlv, ...]) -> bytes | None:
    """message_payload (0x0424): the message when it does not fit short_message."""
    return find(tlvs, TlvTag.MESSAGE_PAYLOAD)


def sar(tlvs: tuple[Tlv, ...]) -> Sar | None:
    """The sar_* TLVs of one part, or None unless all three are present."""
    reference = _int(tlvs, TlvTag.SAR_MSG_REF_NUM)
    total = _int(tlvs, TlvTag.SAR_TOTAL_SEGMENTS)
    sequence = _int(tlvs, TlvTag.SAR_SEGMENT_SEQNUM)
    if reference is None or total is None or sequence is None:
        return None
    return Sar(reference, total, sequence)


def sar_tlvs(part: Sar) -> tuple[Tlv, ...]:
    """The three sar_* TLVs of one part of a long message."""
    return (
        integer(TlvTag.SAR_MSG_REF_NUM, part.reference, 2),
        integer(TlvTag.SAR_TOTAL_SEGMENTS, part.total, 1),
        integer(TlvTag.SAR_SEGMENT_SEQNUM, part.sequence, 1),
    )


def receipted_message_id(tlvs: tuple[Tlv, ...]) -> str | None:
    """receipted_message_id (0x001E): the SMSC's id of the message a receipt is about.
    A missing NUL terminator is tolerated."""
    value = find(tlvs, TlvTag.RECEIPTED_MESSAGE_ID)
    if value is None:
        return None
    return value.split(b"\0", 1)[0].decode("latin-1")


def message_state(tlvs: tuple[Tlv, ...]) -> MessageState | int | None:
    """message_state (0x0427): a known ``MessageState``, or the raw value if unknown."""
    value = _int(tlvs, TlvTag.MESSAGE_STATE)
    if value is None:
        return None
    try:
        return MessageState(value)
    except ValueError:
        return value


def user_message_reference(tlvs: tuple[Tlv, ...]) -> int | None:
    """user_message_reference (0x0204): the ESME's own reference for a message."""
    return _int(tlvs, TlvTag.USER_MESSAGE_REFERENCE)


def network_error_code(tlvs: tuple[Tlv, ...]) -> NetworkErrorCode | None:
    """network_error_code (0x0423): why the network failed a delivery."""
    value = find(tlvs, TlvTag.NETWORK_ERROR_CODE)
    if value is None or len(value) != FIXED_LENGTH[TlvTag.NETWORK_ERROR_CODE]:
        return None
    return NetworkErrorCode(value[0], int.from_bytes(value[1:], "big"))


def network_error_code_tlv(code: NetworkErrorCode) -> Tlv:
    """The network_error_code TLV for ``code``."""
    if not 0 <= code.network_type <= 0xFF or not 0 <= code.error_code <= _MAX_VALUE:
        raise SmppEncodeError("network_error_code does not fit 1 + 2 octets")
    return Tlv(
        TlvTag.NETWORK_ERROR_CODE,
        bytes([code.network_type]) + code.error_code.to_bytes(2, "big"),
    )


def sc_interface_version(tlvs: tuple[Tlv, ...]) -> int | None:
    """sc_interface_version (0x0210): the SMPP version the SMSC speaks, in a bind_resp."""
    return _int(tlvs, TlvTag.SC_INTERFACE_VERSION)
