"""The deliver_sm dialtone's SMPP server sends to a customer's bind: delivery receipts
for the messages it submitted (SMPP 3.4 §4.6.1, Appendix B) and the messages its numbers
received (TERMS M1: split as ``core.sms_parts`` splits, the parts counted and billed).

A receipt says a final state three ways, as SMSCs do and clients read: esm_class 0x04,
the Appendix B text (``receipt.format_receipt``) and the receipted_message_id and
message_state TLVs (§5.3.2.12, §5.3.2.35). Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialtone.core.sms_parts import ESM_CLASS_UDHI, split_message
from dialtone.smpp import tlv
from dialtone.smpp.constants import (
    ESM_DELIVERY_RECEIPT,
    REGISTERED_DELIVERY_FAILURE,
    REGISTERED_DELIVERY_RECEIPT,
    MessageState,
    Npi,
    TlvTag,
    Ton,
)
from dialtone.smpp.pdu import DeliverSm
from dialtone.smpp.receipt import Receipt, format_receipt, format_receipt_date

# A message's final status (services.messaging.messages.FINAL_STATES) as SMPP states it.
STATE_OF_STATUS: dict[str, MessageState] = {
    "delivered": MessageState.DELIVERED,
    "undelivered": MessageState.UNDELIVERABLE,
    "expired": MessageState.EXPIRED,
    "failed": MessageState.REJECTED,
}
# Appendix B's err: is "network and SMSC specific"; dialtone's reason code goes to status
# callbacks, so here only whether it went.
_ERROR_OF_STATE = {MessageState.DELIVERED: "000"}
_OTHER_ERROR = "001"
_REGISTERED_MASK = 0x03  # §5.2.17 bits 1-0: which SMSC receipt is asked for


def wants_receipt(registered_delivery: int, state: MessageState) -> bool:
    """Whether ``registered_delivery`` (§5.2.17) asks for a receipt of final ``state``:
    bits 1-0 at 1 for any final state, at 2 for a failure only."""
    asked = registered_delivery & _REGISTERED_MASK
    if asked == REGISTERED_DELIVERY_RECEIPT:
        return True
    return asked == REGISTERED_DELIVERY_FAILURE and state is not MessageState.DELIVERED


@dataclass(frozen=True, slots=True)
class Address:
    """An address field with its TON and NPI (§5.2.5, §5.2.6)."""

    value: str
    ton: int
    npi: int


def address_of(value: str) -> Address:
    """How dialtone writes an address: E.164 as international digits, a name as
    alphanumeric, anything else as written (unknown TON)."""
    if value.startswith("+") and value[1:].isdigit():
        return Address(value[1:], Ton.INTERNATIONAL, Npi.ISDN)
    if value.isdigit():
        return Address(value, Ton.UNKNOWN, Npi.ISDN)
    return Address(value, Ton.ALPHANUMERIC, Npi.UNKNOWN)


def _deliver(
    source: Address,
    destination: Address,
    short_message: bytes,
    *,
    esm_class: int,
    data_coding: int = 0,
    tlvs: tuple[tlv.Tlv, ...] = (),
) -> DeliverSm:
    return DeliverSm(
        source_addr=source.value,
        destination_addr=destination.value,
        short_message=short_message,
        source_addr_ton=source.ton,
        source_addr_npi=source.npi,
        dest_addr_ton=destination.ton,
        dest_addr_npi=destination.npi,
        esm_class=esm_class,
        data_coding=data_coding,
        tlvs=tlvs,
    )


def receipt_pdu(
    *,
    message_id: str,
    sender: str,
    recipient: str,
    state: MessageState,
    parts: int,
    text: str,
    submitted_at: datetime,
    done_at: datetime,
) -> DeliverSm:
    """The delivery receipt of message ``message_id``, from its recipient back to its
    sender (as SMSCs send them): esm_class 0x04, the Appendix B text in ASCII (a
    character outside it reads ``?``), and the receipted_message_id and message_state
    TLVs. ``sub`` and ``dlvrd`` count the parts."""
    receipt = Receipt(
        message_id=message_id,
        state=state,
        submitted=parts,
        delivered=parts if state is MessageState.DELIVERED else 0,
        submit_date=format_receipt_date(submitted_at),
        done_date=format_receipt_date(done_at),
        error=_ERROR_OF_STATE.get(state, _OTHER_ERROR),
        text=text,
    )
    body = format_receipt(receipt).encode("ascii", errors="replace")
    return _deliver(
        address_of(recipient),
        address_of(sender),
        body,
        esm_class=ESM_DELIVERY_RECEIPT,
        tlvs=(
            tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, message_id),
            tlv.integer(TlvTag.MESSAGE_STATE, state, 1),
        ),
    )


def message_pdus(*, sender: str, recipient: str, text: str, reference: int) -> list[DeliverSm]:
    """TERMS M1: an inbound message as the deliver_sm to send, one a part: GSM 7-bit
    (unpacked, data_coding 0) when the text fits its alphabet, else UCS-2, a long text
    in parts with a user data header carrying ``reference`` (8 bits)."""
    split = split_message(text, reference & 0xFF)
    source, destination = address_of(sender), address_of(recipient)
    return [
        _deliver(
            source,
            destination,
            part.short_message,
            esm_class=ESM_CLASS_UDHI if part.udhi else 0,
            data_coding=split.data_coding,
        )
        for part in split.parts
    ]
