"""An SMPP client we did not write (smpplib, from PyPI), as a customer's software would
bind to dialtone's SMPP server.

``Esme(port, system_id, password).bind("trx")`` connects and binds; a thread then reads
every PDU the server sends, answering deliver_sm and enquire_link itself (smpplib's
own answers) and keeping what came: submit_sm_resp by sequence number, deliver_sm in
order (receipts and MO alike; ``Delivered.is_receipt`` tells them apart).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

from smpplib import client, consts, exceptions, gsm, smpp

Mode = Literal["tx", "rx", "trx"]
_BIND = {"tx": "bind_transmitter", "rx": "bind_receiver", "trx": "bind_transceiver"}
ENCODINGS = {"gsm7": consts.SMPP_ENCODING_DEFAULT, "ucs2": consts.SMPP_ENCODING_ISO10646}


@dataclass(frozen=True)
class Submitted:
    """The answer to one submit_sm: its status and the SMSC's message_id ("" on error)."""

    status: int
    message_id: str


@dataclass(frozen=True)
class Delivered:
    """One deliver_sm received."""

    source: str
    dest: str
    esm_class: int
    data_coding: int
    short_message: bytes
    receipted_message_id: str | None
    message_state: int | None

    @property
    def is_receipt(self) -> bool:
        """A delivery receipt (esm_class message type 0x04, SMPP 3.4 §5.2.12)."""
        return self.esm_class & 0x3C == 0x04

    @property
    def text(self) -> str:
        """The text: UCS-2 when data_coding says so, else read as GSM-7's ASCII part."""
        if self.data_coding == consts.SMPP_ENCODING_ISO10646:
            return self.short_message.decode("utf-16-be")
        return self.short_message.decode("latin-1")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


class Esme:
    """smpplib bound to an SMSC (or dialtone's SMPP server) on 127.0.0.1:``port``."""

    def __init__(self, port: int, system_id: str, password: str, host: str = "127.0.0.1"):
        self.client = client.Client(host, port, timeout=0.1, allow_unknown_opt_params=True)
        self.system_id = system_id
        self.password = password
        self._lock = threading.Lock()  # smpplib does not guard its socket's writes
        self._answers: dict[int, Submitted] = {}
        self._delivered: list[Delivered] = []
        self._others: list[str] = []
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self.closed_by_peer = threading.Event()
        logging.getLogger(self.client.logger.name).setLevel(logging.ERROR)

    def bind(self, mode: Mode = "trx") -> Self:
        """Connect and bind as ``mode``; raises smpplib's PDUError (its ``args[1]`` the
        status, e.g. ESME_RINVPASWD) when refused, ConnectionError when closed."""
        self.client.connect()
        # smpplib's _bind reads the answer with the socket's timeout: give it time.
        self.client._socket.settimeout(10)
        try:
            getattr(self.client, _BIND[mode])(system_id=self.system_id, password=self.password)
        except BaseException:
            self.client.disconnect()
            raise
        self.client._socket.settimeout(0.1)
        self._reader = threading.Thread(target=self._read, name="esme-reader", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                pdu = self.client.read_pdu()
            except TimeoutError:
                continue
            except (exceptions.ConnectionError, OSError):
                self.closed_by_peer.set()
                return
            self._dispatch(pdu)

    def _dispatch(self, pdu: Any) -> None:
        if pdu.command == "submit_sm_resp":
            message_id = _text(getattr(pdu, "message_id", None)) if not pdu.is_error() else ""
            self._answers[pdu.sequence] = Submitted(int(pdu.status), message_id)
        elif pdu.command == "deliver_sm":
            self._delivered.append(
                Delivered(
                    source=_text(pdu.source_addr),
                    dest=_text(pdu.destination_addr),
                    esm_class=int(pdu.esm_class or 0),
                    data_coding=int(pdu.data_coding or 0),
                    short_message=pdu.short_message or getattr(pdu, "message_payload", b""),
                    receipted_message_id=_text(pdu.receipted_message_id) or None,
                    message_state=pdu.message_state,
                )
            )
            self._respond("deliver_sm_resp", pdu.sequence)
        elif pdu.command == "enquire_link":
            self._respond("enquire_link_resp", pdu.sequence)
        else:
            self._others.append(pdu.command)

    def _respond(self, command: str, sequence: int) -> None:
        answer = smpp.make_pdu(command, client=self.client)
        answer.sequence = sequence
        with self._lock:
            self.client.send_pdu(answer)

    def submit(
        self,
        source: str,
        dest: str,
        text: str,
        *,
        encoding: Literal["gsm7", "ucs2"] = "gsm7",
        registered_delivery: bool = True,
    ) -> list[int]:
        """Submit ``text`` (multipart with a UDH when long: smpplib.gsm.make_parts;
        GSM-7 falls back to UCS-2 when the text needs it); the parts' sequence numbers."""
        parts, coding, esm_class = gsm.make_parts(text, encoding=ENCODINGS[encoding])
        sequences = []
        for part in parts:
            with self._lock:
                pdu = self.client.send_message(
                    source_addr_ton=consts.SMPP_TON_INTL,
                    source_addr_npi=consts.SMPP_NPI_ISDN,
                    source_addr=source,
                    dest_addr_ton=consts.SMPP_TON_INTL,
                    dest_addr_npi=consts.SMPP_NPI_ISDN,
                    destination_addr=dest,
                    short_message=part,
                    data_coding=coding,
                    esm_class=esm_class,
                    registered_delivery=registered_delivery,
                )
            sequences.append(pdu.sequence)
        return sequences

    def answers(self, sequences: list[int], timeout: float = 10.0) -> list[Submitted]:
        """The submit_sm_resp of each of ``sequences``, in order; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not all(s in self._answers for s in sequences):
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer to {sequences} in {timeout}s: {self._answers}")
            time.sleep(0.02)
        return [self._answers[s] for s in sequences]

    def answer(self, sequence: int) -> Submitted | None:
        """The submit_sm_resp to ``sequence`` if one came (None while none has)."""
        return self._answers.get(sequence)

    def enquire_link(self) -> None:
        """Send an enquire_link; its answer shows in ``others()``."""
        with self._lock:
            self.client.send_pdu(smpp.make_pdu("enquire_link", client=self.client))

    def others(self) -> list[str]:
        """The commands of the PDUs received that were neither submit_sm_resp nor
        deliver_sm nor enquire_link (enquire_link_resp, generic_nack, unbind...)."""
        return list(self._others)

    def delivered(self) -> list[Delivered]:
        """Every deliver_sm received so far, in order."""
        return list(self._delivered)

    def wait_delivered(
        self, count: int, *, receipts: bool | None = None, timeout: float = 10.0
    ) -> list[Delivered]:
        """The deliver_sm received (only receipts, or only MO, when ``receipts`` says),
        once there are ``count``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = [d for d in self._delivered if receipts in (None, d.is_receipt)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} deliver_sm of {count} after {timeout}s")
            time.sleep(0.02)

    def close(self) -> None:
        """Unbind (without waiting for the answer) and disconnect."""
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self.client._socket is not None:
            if not self.closed_by_peer.is_set():
                try:
                    with self._lock:
                        self.client.send_pdu(smpp.make_pdu("unbind", client=self.client))
                except (exceptions.ConnectionError, exceptions.PDUError, OSError):
                    pass
            self.client.disconnect()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
