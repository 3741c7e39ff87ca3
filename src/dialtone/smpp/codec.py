"""PDUs to bytes and back (SMPP 3.4 §3): ``encode``, ``decode`` for one whole PDU, and
``PduReader``, which frames PDUs out of a TCP stream.

Decoding is strict about what the spec bounds, so a bad PDU is answered with the status
the spec names rather than acted on: every C-octet string has a maximum length (its NUL
included), the times are empty or exactly 16 characters, short_message has at most 254
octets, the body must end where command_length says. ``SmppDecodeError`` is the only
exception decode lets out (fuzzed in the tests); it carries the status to answer with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dialtone.smpp.constants import HEADER_LENGTH, CommandId, CommandStatus
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
from dialtone.smpp.tlv import Tlv, decode_tlvs, encode_tlvs

DEFAULT_MAX_LENGTH = 64 * 1024
MAX_SHORT_MESSAGE = 254  # sm_length's range (§4.4.1)
_U32 = 0xFFFFFFFF
S = CommandStatus


@dataclass(frozen=True, slots=True)
class CString:
    """A C-octet string field (§3.1): its most octets with the NUL, the status a longer
    one is refused with, and whether it must be empty or exactly full (the times, §7.1)."""

    name: str
    max_octets: int
    status: CommandStatus
    empty_or_full: bool = False


SYSTEM_ID = CString("system_id", 16, S.ESME_RINVSYSID)
PASSWORD = CString("password", 9, S.ESME_RINVPASWD)
SYSTEM_TYPE = CString("system_type", 13, S.ESME_RINVSYSTYP)
# The ESME's own addresses: refused like a source address.
ADDRESS_RANGE = CString("address_range", 41, S.ESME_RINVSRCADR)
SERVICE_TYPE = CString("service_type", 6, S.ESME_RINVSERTYP)
SOURCE_ADDR = CString("source_addr", 21, S.ESME_RINVSRCADR)
DESTINATION_ADDR = CString("destination_addr", 21, S.ESME_RINVDSTADR)
DATA_SM_SOURCE_ADDR = CString("source_addr", 65, S.ESME_RINVSRCADR)  # §4.7.1: 65
DATA_SM_DESTINATION_ADDR = CString("destination_addr", 65, S.ESME_RINVDSTADR)
SCHEDULE_DELIVERY_TIME = CString("schedule_delivery_time", 17, S.ESME_RINVSCHED, True)
VALIDITY_PERIOD = CString("validity_period", 17, S.ESME_RINVEXPIRY, True)
FINAL_DATE = CString("final_date", 17, S.ESME_RINVCMDLEN, True)
MESSAGE_ID = CString("message_id", 65, S.ESME_RINVMSGID)


# --- encoding -------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def cstring(self, value: str, field: CString) -> None:
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raise SmppEncodeError(f"{field.name} has characters outside one octet") from None
        if b"\0" in raw:
            raise SmppEncodeError(f"{field.name} contains NUL")
        if len(raw) + 1 > field.max_octets:
            raise SmppEncodeError(f"{field.name} is over {field.max_octets - 1} characters")
        if field.empty_or_full and len(raw) not in (0, field.max_octets - 1):
            raise SmppEncodeError(f"{field.name} is neither empty nor 16 characters")
        self.out += raw + b"\0"

    def u8(self, value: int, name: str) -> None:
        if not 0 <= value <= 0xFF:
            raise SmppEncodeError(f"{name} is not an octet: {value}")
        self.out.append(value)


def _encode_body(body: Body) -> bytes:
    w = _Writer()
    match body:
        case Bind():
            w.cstring(body.system_id, SYSTEM_ID)
            w.cstring(body.password, PASSWORD)
            w.cstring(body.system_type, SYSTEM_TYPE)
            w.u8(body.interface_version, "interface_version")
            w.u8(body.addr_ton, "addr_ton")
            w.u8(body.addr_npi, "addr_npi")
            w.cstring(body.address_range, ADDRESS_RANGE)
        case BindResp():
            w.cstring(body.system_id, SYSTEM_ID)
            w.out += encode_tlvs(body.tlvs)
        case Outbind():
            w.cstring(body.system_id, SYSTEM_ID)
            w.cstring(body.password, PASSWORD)
        case SubmitSm() | DeliverSm():
            w.cstring(body.service_type, SERVICE_TYPE)
            w.u8(body.source_addr_ton, "source_addr_ton")
            w.u8(body.source_addr_npi, "source_addr_npi")
            w.cstring(body.source_addr, SOURCE_ADDR)
            w.u8(body.dest_addr_ton, "dest_addr_ton")
            w.u8(body.dest_addr_npi, "dest_addr_npi")
            w.cstring(body.destination_addr, DESTINATION_ADDR)
            w.u8(body.esm_class, "esm_class")
            w.u8(body.protocol_id, "protocol_id")
            w.u8(body.priority_flag, "priority_flag")
            w.cstring(body.schedule_delivery_time, SCHEDULE_DELIVERY_TIME)
            w.cstring(body.validity_period, VALIDITY_PERIOD)
            w.u8(body.registered_delivery, "registered_delivery")
            w.u8(body.replace_if_present_flag, "replace_if_present_flag")
            w.u8(body.data_coding, "data_coding")
            w.u8(body.sm_default_msg_id, "sm_default_msg_id")
            if len(body.short_message) > MAX_SHORT_MESSAGE:
                raise SmppEncodeError("short_message is over 254 octets: use message_payload")
            w.u8(len(body.short_message), "sm_length")
            w.out += body.short_message
            w.out += encode_tlvs(body.tlvs)
        case SubmitSmResp() | DeliverSmResp() | DataSmResp():
            w.cstring(body.message_id, MESSAGE_ID)
            w.out += encode_tlvs(body.tlvs)
        case DataSm():
            w.cstring(body.service_type, SERVICE_TYPE)
            w.u8(body.source_addr_ton, "source_addr_ton")
            w.u8(body.source_addr_npi, "source_addr_npi")
            w.cstring(body.source_addr, DATA_SM_SOURCE_ADDR)
            w.u8(body.dest_addr_ton, "dest_addr_ton")
            w.u8(body.dest_addr_npi, "dest_addr_npi")
            w.cstring(body.destination_addr, DATA_SM_DESTINATION_ADDR)
            w.u8(body.esm_class, "esm_class")
            w.u8(body.registered_delivery, "registered_delivery")
            w.u8(body.data_coding, "data_coding")
            w.out += encode_tlvs(body.tlvs)
        case QuerySm():
            w.cstring(body.message_id, MESSAGE_ID)
            w.u8(body.source_addr_ton, "source_addr_ton")
            w.u8(body.source_addr_npi, "source_addr_npi")
            w.cstring(body.source_addr, SOURCE_ADDR)
        case QuerySmResp():
            w.cstring(body.message_id, MESSAGE_ID)
            w.cstring(body.final_date, FINAL_DATE)
            w.u8(body.message_state, "message_state")
            w.u8(body.error_code, "error_code")
        case EnquireLink() | EnquireLinkResp() | Unbind() | UnbindResp() | GenericNack():
            pass
    return bytes(w.out)


# The spec has these responses carry no body at all when command_status is not zero
# (§4.1.2, §4.4.2, §4.8.2); the others keep theirs (data_sm_resp's TLVs say why).
_NO_BODY_ON_ERROR = (BindResp, SubmitSmResp, QuerySmResp)


def encode(pdu: Pdu) -> bytes:
    """The wire form of ``pdu`` (SMPP 3.4 §3.2). A failed bind_resp, submit_sm_resp or
    query_sm_resp is sent without its body, as §4.1.2 / §4.4.2 / §4.8.2 say.
    Raises ``SmppEncodeError`` for a field over its length or range."""
    if not 0 <= pdu.sequence_number <= _U32 or not 0 <= pdu.command_status <= _U32:
        raise SmppEncodeError("sequence_number and command_status are 32-bit unsigned")
    failed = pdu.command_status != CommandStatus.ESME_ROK
    body = b"" if failed and isinstance(pdu.body, _NO_BODY_ON_ERROR) else _encode_body(pdu.body)
    header = (
        (HEADER_LENGTH + len(body)).to_bytes(4, "big")
        + int(pdu.command_id).to_bytes(4, "big")
        + pdu.command_status.to_bytes(4, "big")
        + pdu.sequence_number.to_bytes(4, "big")
    )
    return header + body


# --- decoding -------------------------------------------------------------------------


class _Reader:
    """Reads one body's fields in order; every failure names the header it came with."""

    def __init__(self, data: bytes, command_id: int, sequence_number: int) -> None:
        self.data = data
        self.pos = 0
        self.command_id = command_id
        self.sequence_number = sequence_number

    def fail(self, message: str, status: CommandStatus) -> SmppDecodeError:
        return SmppDecodeError(
            message, status, command_id=self.command_id, sequence_number=self.sequence_number
        )

    def cstring(self, field: CString) -> str:
        window = self.data[self.pos : self.pos + field.max_octets]
        end = window.find(b"\0")
        if end < 0:
            if len(window) < field.max_octets:
                raise self.fail(f"{field.name} runs past the PDU", S.ESME_RINVCMDLEN)
            raise self.fail(f"{field.name} is over {field.max_octets} octets", field.status)
        if field.empty_or_full and end not in (0, field.max_octets - 1):
            raise self.fail(f"{field.name} is neither empty nor 16 characters", field.status)
        self.pos += end + 1
        return window[:end].decode("latin-1")

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("the body ends early", S.ESME_RINVCMDLEN)
        self.pos += 1
        return self.data[self.pos - 1]

    def short_message(self) -> bytes:
        length = self.u8()
        if length > MAX_SHORT_MESSAGE:
            raise self.fail(f"sm_length {length} is over 254", S.ESME_RINVMSGLEN)
        if len(self.data) - self.pos < length:
            raise self.fail("short_message is shorter than sm_length", S.ESME_RINVMSGLEN)
        self.pos += length
        return self.data[self.pos - length : self.pos]

    def tlvs(self) -> tuple[Tlv, ...]:
        rest = self.data[self.pos :]
        self.pos = len(self.data)
        try:
            return decode_tlvs(rest)
        except SmppDecodeError as error:
            raise self.fail(str(error), error.status) from None

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.fail("octets after the body", S.ESME_RINVCMDLEN)


def _bind(kind: BindKind) -> Callable[[_Reader], Body]:
    def read(r: _Reader) -> Body:
        body = Bind(
            kind,
            system_id=r.cstring(SYSTEM_ID),
            password=r.cstring(PASSWORD),
            system_type=r.cstring(SYSTEM_TYPE),
            interface_version=r.u8(),
            addr_ton=r.u8(),
            addr_npi=r.u8(),
            address_range=r.cstring(ADDRESS_RANGE),
        )
        r.end()
        return body

    return read


def _bind_resp(kind: BindKind) -> Callable[[_Reader], Body]:
    def read(r: _Reader) -> Body:
        return BindResp(kind, r.cstring(SYSTEM_ID), r.tlvs())

    return read


def _outbind(r: _Reader) -> Body:
    body = Outbind(r.cstring(SYSTEM_ID), r.cstring(PASSWORD))
    r.end()
    return body


def _short_message(cls: type[SubmitSm] | type[DeliverSm]) -> Callable[[_Reader], Body]:
    def read(r: _Reader) -> Body:
        service_type = r.cstring(SERVICE_TYPE)
        source_ton, source_npi, source = r.u8(), r.u8(), r.cstring(SOURCE_ADDR)
        dest_ton, dest_npi, dest = r.u8(), r.u8(), r.cstring(DESTINATION_ADDR)
        esm_class, protocol_id, priority_flag = r.u8(), r.u8(), r.u8()
        schedule, validity = r.cstring(SCHEDULE_DELIVERY_TIME), r.cstring(VALIDITY_PERIOD)
        registered, replace, coding, default_id = r.u8(), r.u8(), r.u8(), r.u8()
        return cls(
            source_addr=source,
            destination_addr=dest,
            short_message=r.short_message(),
            service_type=service_type,
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            esm_class=esm_class,
            protocol_id=protocol_id,
            priority_flag=priority_flag,
            schedule_delivery_time=schedule,
            validity_period=validity,
            registered_delivery=registered,
            replace_if_present_flag=replace,
            data_coding=coding,
            sm_default_msg_id=default_id,
            tlvs=r.tlvs(),
        )

    return read


def _message_id_resp(
    cls: type[SubmitSmResp] | type[DeliverSmResp] | type[DataSmResp],
) -> Callable[[_Reader], Body]:
    def read(r: _Reader) -> Body:
        return cls(r.cstring(MESSAGE_ID), r.tlvs())

    return read


def _data_sm(r: _Reader) -> Body:
    service_type = r.cstring(SERVICE_TYPE)
    source_ton, source_npi, source = r.u8(), r.u8(), r.cstring(DATA_SM_SOURCE_ADDR)
    dest_ton, dest_npi, dest = r.u8(), r.u8(), r.cstring(DATA_SM_DESTINATION_ADDR)
    esm_class, registered, coding = r.u8(), r.u8(), r.u8()
    return DataSm(
        source_addr=source,
        destination_addr=dest,
        service_type=service_type,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        esm_class=esm_class,
        registered_delivery=registered,
        data_coding=coding,
        tlvs=r.tlvs(),
    )


def _query_sm(r: _Reader) -> Body:
    message_id = r.cstring(MESSAGE_ID)
    ton, npi, source = r.u8(), r.u8(), r.cstring(SOURCE_ADDR)
    r.end()
    return QuerySm(message_id, source_addr=source, source_addr_ton=ton, source_addr_npi=npi)


def _query_sm_resp(r: _Reader) -> Body:
    body = QuerySmResp(r.cstring(MESSAGE_ID), r.cstring(FINAL_DATE), r.u8(), r.u8())
    r.end()
    return body


def _empty(body: Body) -> Callable[[_Reader], Body]:
    def read(r: _Reader) -> Body:
        r.end()
        return body

    return read


C = CommandId
_DECODERS: dict[int, Callable[[_Reader], Body]] = {
    C.BIND_RECEIVER: _bind(BindKind.RECEIVER),
    C.BIND_TRANSMITTER: _bind(BindKind.TRANSMITTER),
    C.BIND_TRANSCEIVER: _bind(BindKind.TRANSCEIVER),
    C.BIND_RECEIVER_RESP: _bind_resp(BindKind.RECEIVER),
    C.BIND_TRANSMITTER_RESP: _bind_resp(BindKind.TRANSMITTER),
    C.BIND_TRANSCEIVER_RESP: _bind_resp(BindKind.TRANSCEIVER),
    C.OUTBIND: _outbind,
    C.SUBMIT_SM: _short_message(SubmitSm),
    C.SUBMIT_SM_RESP: _message_id_resp(SubmitSmResp),
    C.DELIVER_SM: _short_message(DeliverSm),
    C.DELIVER_SM_RESP: _message_id_resp(DeliverSmResp),
    C.DATA_SM: _data_sm,
    C.DATA_SM_RESP: _message_id_resp(DataSmResp),
    C.QUERY_SM: _query_sm,
    C.QUERY_SM_RESP: _query_sm_resp,
    C.ENQUIRE_LINK: _empty(EnquireLink()),
    C.ENQUIRE_LINK_RESP: _empty(EnquireLinkResp()),
    C.UNBIND: _empty(Unbind()),
    C.UNBIND_RESP: _empty(UnbindResp()),
    C.GENERIC_NACK: _empty(GenericNack()),
}
# Responses whose body may be missing: any failed one (§3.3), and deliver_sm_resp always,
# since its one field is unused and some SMSCs' ESMEs leave it out.
_EMPTY_BODIES: dict[int, Body] = {
    C.BIND_RECEIVER_RESP: BindResp(BindKind.RECEIVER),
    C.BIND_TRANSMITTER_RESP: BindResp(BindKind.TRANSMITTER),
    C.BIND_TRANSCEIVER_RESP: BindResp(BindKind.TRANSCEIVER),
    C.SUBMIT_SM_RESP: SubmitSmResp(),
    C.DELIVER_SM_RESP: DeliverSmResp(),
    C.DATA_SM_RESP: DataSmResp(),
    C.QUERY_SM_RESP: QuerySmResp(),
}


@dataclass(frozen=True, slots=True)
class Header:
    """The four header fields (§3.2)."""

    command_length: int
    command_id: int
    command_status: int
    sequence_number: int


def read_header(data: bytes) -> Header:
    """The header at the start of ``data`` (at least 16 octets)."""
    return Header(*(int.from_bytes(data[i : i + 4], "big") for i in range(0, 16, 4)))


def decode(data: bytes) -> Pdu:
    """Decode exactly one PDU (SMPP 3.4 §3.2, §4). Raises ``SmppDecodeError`` only:
    ``ESME_RINVCMDLEN`` when command_length is not the length of ``data``,
    ``ESME_RINVCMDID`` for a command this core does not read (replace_sm, cancel_sm,
    submit_multi, alert_notification, or no command at all), a field's own status for
    a field over its limit."""
    if len(data) < HEADER_LENGTH:
        raise SmppDecodeError("shorter than a header", S.ESME_RINVCMDLEN, framing_lost=True)
    header = read_header(data)
    if header.command_length != len(data):
        raise SmppDecodeError(
            f"command_length {header.command_length} but {len(data)} octets",
            S.ESME_RINVCMDLEN,
            command_id=header.command_id,
            sequence_number=header.sequence_number,
            framing_lost=True,
        )
    reader = _Reader(bytes(data[HEADER_LENGTH:]), header.command_id, header.sequence_number)
    read = _DECODERS.get(header.command_id)
    if read is None:
        raise reader.fail(f"command_id 0x{header.command_id:08X} is not read", S.ESME_RINVCMDID)
    empty = _EMPTY_BODIES.get(header.command_id)
    may_be_empty = header.command_status != 0 or header.command_id == C.DELIVER_SM_RESP
    body = empty if empty is not None and may_be_empty and not reader.data else read(reader)
    return Pdu(body, header.sequence_number, header.command_status)


class PduReader:
    """Frames PDUs out of a byte stream: ``feed`` what arrives, then take ``next_pdu``
    until it returns None.

    A command_length under 16 or over ``max_length`` loses the framing: ``next_pdu``
    raises an ``SmppDecodeError`` with ``framing_lost`` set, and again on every later
    call (the connection must close). Any other decode error costs one PDU only: it
    is raised once, with the header's sequence number, and the stream reads on.
    """

    def __init__(self, *, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.max_length = max_length
        self._buffer = bytearray()
        self._broken: SmppDecodeError | None = None

    @property
    def pending(self) -> int:
        """Octets held that do not yet make a whole PDU."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Append bytes read from the stream (ignored once the framing is lost)."""
        if self._broken is None:
            self._buffer += data

    def next_pdu(self) -> Pdu | None:
        """The next whole PDU, or None until more bytes come."""
        if self._broken is not None:
            raise self._broken
        if len(self._buffer) < HEADER_LENGTH:
            return None
        header = read_header(bytes(self._buffer[:HEADER_LENGTH]))
        if not HEADER_LENGTH <= header.command_length <= self.max_length:
            self._broken = SmppDecodeError(
                f"command_length {header.command_length} is out of bounds",
                S.ESME_RINVCMDLEN,
                command_id=header.command_id,
                sequence_number=header.sequence_number,
                framing_lost=True,
            )
            self._buffer.clear()
            raise self._broken
        if len(self._buffer) < header.command_length:
            return None
        frame = bytes(self._buffer[: header.command_length])
        del self._buffer[: header.command_length]
        return decode(frame)

    def __iter__(self) -> Iterator[Pdu]:
        """Every whole PDU held (stops at the first decode error, raising it)."""
        while (pdu := self.next_pdu()) is not None:
            yield pdu
