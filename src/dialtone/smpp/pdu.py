"""SMPP 3.4 PDUs as values: one frozen dataclass per body (§4), and the ``Pdu`` envelope
that carries a body with its header's status and sequence number (§3.2).

Text fields (C-octet strings, §3.1) are ``str``: octets map one to one onto code points
(Latin-1), so whatever arrives round-trips. short_message and TLV values stay bytes: their
coding is data_coding's business. Integer fields keep the raw value, so a TON or
data_coding this code does not name still passes through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dialtone.smpp.constants import (
    INTERFACE_VERSION,
    RESPONSE_BIT,
    CommandId,
    CommandStatus,
)
from dialtone.smpp.tlv import Tlv


class BindKind(enum.Enum):
    """The three binds (§4.1): what the ESME may do on the session."""

    RECEIVER = CommandId.BIND_RECEIVER
    TRANSMITTER = CommandId.BIND_TRANSMITTER
    TRANSCEIVER = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True)
class Bind:
    """bind_transmitter / bind_receiver / bind_transceiver (§4.1.1, §4.1.3, §4.1.5)."""

    kind: BindKind
    system_id: str
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    @property
    def command_id(self) -> CommandId:
        return self.kind.value


@dataclass(frozen=True, slots=True)
class BindResp:
    """The response to a bind (§4.1.2): the SMSC's system_id, sc_interface_version."""

    kind: BindKind
    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()

    @property
    def command_id(self) -> CommandId:
        return CommandId(self.kind.value | RESPONSE_BIT)


@dataclass(frozen=True, slots=True)
class Outbind:
    """outbind (§4.1.7): the SMSC asks the ESME to bind as a receiver."""

    system_id: str
    password: str = ""
    command_id = CommandId.OUTBIND


@dataclass(frozen=True, slots=True)
class _ShortMessage:
    """The body shared by submit_sm (§4.4.1) and deliver_sm (§4.6.1)."""

    source_addr: str
    destination_addr: str
    short_message: bytes = b""
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitSm(_ShortMessage):
    """submit_sm (§4.4.1): an ESME sends a short message."""

    command_id = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True)
class DeliverSm(_ShortMessage):
    """deliver_sm (§4.6.1): the SMSC delivers a message or a delivery receipt. The
    scheduling fields are NULL in a deliver_sm (§4.6.1), but keep their place."""

    command_id = CommandId.DELIVER_SM


@dataclass(frozen=True, slots=True)
class SubmitSmResp:
    """submit_sm_resp (§4.4.2): the SMSC's id for the message. TLVs are SMPP 5.0's,
    accepted so a 5.0 SMSC's answer still reads."""

    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_id = CommandId.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True)
class DeliverSmResp:
    """deliver_sm_resp (§4.6.2): message_id is unused and NULL."""

    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_id = CommandId.DELIVER_SM_RESP


@dataclass(frozen=True, slots=True)
class DataSm:
    """data_sm (§4.7.1): a message either way, its content in TLVs (message_payload)."""

    source_addr: str
    destination_addr: str
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: tuple[Tlv, ...] = ()
    command_id = CommandId.DATA_SM


@dataclass(frozen=True, slots=True)
class DataSmResp:
    """data_sm_resp (§4.7.2): a message id, and TLVs that say why a delivery failed."""

    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_id = CommandId.DATA_SM_RESP


@dataclass(frozen=True, slots=True)
class QuerySm:
    """query_sm (§4.8.1): the state of a message submitted earlier."""

    message_id: str
    source_addr: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    command_id = CommandId.QUERY_SM


@dataclass(frozen=True, slots=True)
class QuerySmResp:
    """query_sm_resp (§4.8.2)."""

    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0
    command_id = CommandId.QUERY_SM_RESP


@dataclass(frozen=True, slots=True)
class EnquireLink:
    """enquire_link (§4.11.1): is the peer there?"""

    command_id = CommandId.ENQUIRE_LINK


@dataclass(frozen=True, slots=True)
class EnquireLinkResp:
    """enquire_link_resp (§4.11.2)."""

    command_id = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True)
class Unbind:
    """unbind (§4.2.1): the sender ends the session."""

    command_id = CommandId.UNBIND


@dataclass(frozen=True, slots=True)
class UnbindResp:
    """unbind_resp (§4.2.2)."""

    command_id = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True)
class GenericNack:
    """generic_nack (§4.3.1): a PDU whose header could not be acted on."""

    command_id = CommandId.GENERIC_NACK


RequestBody = Bind | Outbind | SubmitSm | DeliverSm | DataSm | QuerySm | EnquireLink | Unbind
ResponseBody = (
    BindResp
    | SubmitSmResp
    | DeliverSmResp
    | DataSmResp
    | QuerySmResp
    | EnquireLinkResp
    | UnbindResp
    | GenericNack
)
Body = RequestBody | ResponseBody


@dataclass(frozen=True, slots=True)
class Pdu:
    """One PDU (§3.2): the body, with the header's command_status and sequence_number.
    command_id and command_length follow from the body, so they cannot disagree with it."""

    body: Body
    sequence_number: int
    command_status: int = CommandStatus.ESME_ROK

    @property
    def command_id(self) -> CommandId:
        return self.body.command_id

    @property
    def is_response(self) -> bool:
        return self.command_id.is_response


def response_to(request: RequestBody) -> ResponseBody:
    """The empty response body of ``request``'s command (what an error answer carries).
    outbind has no response (§4.1.7)."""
    match request:
        case Bind(kind=kind):
            return BindResp(kind)
        case SubmitSm():
            return SubmitSmResp()
        case DeliverSm():
            return DeliverSmResp()
        case DataSm():
            return DataSmResp()
        case QuerySm():
            return QuerySmResp()
        case EnquireLink():
            return EnquireLinkResp()
        case Unbind():
            return UnbindResp()
        case Outbind():
            raise ValueError("outbind has no response (SMPP 3.4 §4.1.7)")


_ERROR_RESPONSES: dict[int, ResponseBody] = {
    CommandId.BIND_RECEIVER: BindResp(BindKind.RECEIVER),
    CommandId.BIND_TRANSMITTER: BindResp(BindKind.TRANSMITTER),
    CommandId.BIND_TRANSCEIVER: BindResp(BindKind.TRANSCEIVER),
    CommandId.SUBMIT_SM: SubmitSmResp(),
    CommandId.DELIVER_SM: DeliverSmResp(),
    CommandId.DATA_SM: DataSmResp(),
    CommandId.QUERY_SM: QuerySmResp(),
    CommandId.ENQUIRE_LINK: EnquireLinkResp(),
    CommandId.UNBIND: UnbindResp(),
}


def error_response_for(command_id: int) -> ResponseBody | None:
    """The empty response body to a request of ``command_id`` that could not be read,
    or None when the command has no response of its own (a generic_nack answers)."""
    return _ERROR_RESPONSES.get(command_id)
