"""A customer's submit_sm read into what dialtone sends: who to whom, the text (or one
part of a long text), and what the customer asked for (a receipt, its own reference).

What is refused here is refused with the command_status that says why (SMPP 3.4 §5.1.3),
before any check of the terms: text that does not decode in its data_coding
(``ESME_RINVDCS``, SMPP 5.0's code, the clearest there is), an empty message or one that
fills both short_message and message_payload (``ESME_RINVMSGLEN``, §5.3.2.32 allows one),
a scheduled delivery (``ESME_RINVSCHED``: not offered), an esm_class that is no plain
message (``ESME_RINVESMCLASS``), a missing destination (``ESME_RINVDSTADR``).

A long text comes in parts, by user data header (esm_class UDHI, 3GPP TS 23.040
§9.2.3.24) or by the sar_* TLVs (§5.3.2.22-24); a part is returned as such, to be put
together (``smpp.multipart``) before the checks. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialtone.core.sms_encoding import (
    DATA_CODING_DEFAULT,
    DATA_CODING_IA5,
    DATA_CODING_LATIN1,
    DATA_CODING_UCS2,
    SmsEncodingError,
    decode_short_message,
)
from dialtone.core.sms_parts import ConcatInfo, parse_udh
from dialtone.core.sms_reassembly import Fragment
from dialtone.smpp import tlv
from dialtone.smpp.constants import (
    ESM_MESSAGE_TYPE_MASK,
    ESM_UDHI,
    CommandStatus,
    Ton,
)
from dialtone.smpp.pdu import SubmitSm

# The data codings whose text dialtone reads (core.sms_encoding.decode_short_message).
TEXT_CODINGS = frozenset(
    {DATA_CODING_DEFAULT, DATA_CODING_IA5, DATA_CODING_LATIN1, DATA_CODING_UCS2}
)
SAR_REFERENCE_BITS = 16  # the sar_msg_ref_num TLV holds 16 bits (§5.3.2.22)


class SubmitRefused(ValueError):
    """A submit_sm dialtone does not take: ``status`` is the command_status to answer."""

    def __init__(self, status: CommandStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Submission:
    """One submit_sm as dialtone reads it (TERMS M1: the text as its data_coding says).

    ``sender`` and ``recipient`` are as written, with ``+`` before an international
    number (TON 1) so that ``messages.normalise`` reads it as E.164. ``text`` is the whole
    message, or None for one ``part`` of a long one (its concatenation information and
    octets). ``registered_delivery`` is the field as sent (§5.2.17); ``client_reference``
    the user_message_reference TLV, as a decimal string."""

    sender: str
    recipient: str
    text: str | None
    part: tuple[ConcatInfo, Fragment] | None
    registered_delivery: int
    client_reference: str | None


def address(value: str, ton: int) -> str:
    """An address as dialtone reads it: an international number gets its ``+``."""
    value = value.strip()
    if ton == Ton.INTERNATIONAL and value and not value.startswith("+"):
        return "+" + value
    return value


def _content(body: SubmitSm) -> bytes:
    payload = tlv.message_payload(body.tlvs)
    if payload is not None and body.short_message:
        raise SubmitRefused(
            CommandStatus.ESME_RINVMSGLEN, "short_message and message_payload are both filled"
        )
    content = body.short_message if payload is None else payload
    if not content:
        raise SubmitRefused(CommandStatus.ESME_RINVMSGLEN, "the message is empty")
    return content


def _decode(data_coding: int, octets: bytes) -> str:
    try:
        text = decode_short_message(data_coding, octets)
    except SmsEncodingError as error:
        raise SubmitRefused(CommandStatus.ESME_RINVDCS, str(error)) from None
    if not text:
        raise SubmitRefused(CommandStatus.ESME_RINVMSGLEN, "the message is empty")
    return text


def read_submit(body: SubmitSm) -> Submission:
    """TERMS M1: what ``body`` asks dialtone to send, whole or one part.

    Raises ``SubmitRefused`` with the command_status that says what is wrong (module
    docstring). A part's octets are checked for their data_coding only when the message
    is whole (an escape or a surrogate pair may be split between parts)."""
    if body.esm_class & ESM_MESSAGE_TYPE_MASK:
        raise SubmitRefused(
            CommandStatus.ESME_RINVESMCLASS,
            f"esm_class 0x{body.esm_class:02X} is not a plain message",
        )
    if body.schedule_delivery_time:
        raise SubmitRefused(CommandStatus.ESME_RINVSCHED, "scheduled delivery is not offered")
    recipient = address(body.destination_addr, body.dest_addr_ton)
    if not recipient:
        raise SubmitRefused(CommandStatus.ESME_RINVDSTADR, "no destination_addr")
    sender = address(body.source_addr, body.source_addr_ton)
    if body.data_coding not in TEXT_CODINGS:
        raise SubmitRefused(
            CommandStatus.ESME_RINVDCS,
            f"data_coding 0x{body.data_coding:02X} is not a text coding dialtone sends",
        )
    content = _content(body)
    info: ConcatInfo | None = None
    if body.esm_class & ESM_UDHI:
        try:
            info, content = parse_udh(content)
        except SmsEncodingError as error:
            raise SubmitRefused(CommandStatus.ESME_RINVESMCLASS, str(error)) from None
    else:
        sar = tlv.sar(body.tlvs)
        if sar is not None:
            if sar.total < 1 or not 1 <= sar.sequence <= sar.total:
                raise SubmitRefused(
                    CommandStatus.ESME_RINVOPTPARAMVAL,
                    f"sar part {sar.sequence} of {sar.total} is no part of a message",
                )
            info = ConcatInfo(sar.reference, sar.total, sar.sequence, SAR_REFERENCE_BITS)
    reference = tlv.user_message_reference(body.tlvs)
    client_reference = None if reference is None else str(reference)
    if info is not None and info.total > 1:
        part = (info, Fragment(body.data_coding, content))
        return Submission(sender, recipient, None, part, body.registered_delivery, client_reference)
    return Submission(
        sender,
        recipient,
        _decode(body.data_coding, content),
        None,
        body.registered_delivery,
        client_reference,
    )
