"""deliver_sm from the carriers: delivery receipts and inbound messages (issue 15, item 7).

A receipt (esm_class's message type 0x04, or a receipted_message_id TLV) moves the part
it names (``delivery.record_receipt``): DELIVRD delivered; UNDELIV, REJECTD, DELETED
undelivered; EXPIRED expired; ENROUTE, ACCEPTD, UNKNOWN still sent. Any other deliver_sm
is a message to one of our numbers: its parts are put together (UDH or SAR), the whole
is stored and its keyword acted on (``inbound.receive``: STOP, START, HELP; the answer
is queued and the dispatcher woken). Either way the deliver_sm is answered only once the
database has committed what it said, with what the customer's SMPP bind is owed of it
(``bind_notices``: the hooks then hand it to the server), so a crash before the commit
leaves the SMSC to send it again and one after loses nothing.

Parts of a long message are held in memory until the last one comes (each part is
answered as it comes, as SMSCs expect): a restart loses the parts of a message not yet
whole. Parts that never complete are stored as what came after the reassembly timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from dialtone.core.sms_encoding import SmsEncodingError, decode_short_message
from dialtone.core.sms_parts import ConcatInfo, parse_udh
from dialtone.core.sms_reassembly import Fragment, Incomplete, Reassembler
from dialtone.services.messaging import delivery, inbound
from dialtone.services.messaging.rules import MessagingRules
from dialtone.smpp import tlv
from dialtone.smpp.constants import ESM_UDHI, CommandStatus, MessageState, Ton
from dialtone.smpp.outcome import part_state
from dialtone.smpp.pdu import DataSm, DeliverSm, Pdu
from dialtone.smpp.receipt import Receipt, receipt_of
from dialtone.store.messaging_models import Message

from . import message_writes as writes
from .db_work import DbWork
from .smpp_link import SmppLink
from .tasks import TaskSet

log = logging.getLogger("dialtone.smpp.inbound")

Hook = Callable[[Message], None]


def address(value: str, ton: int) -> str:
    """A number as the platform keeps it: international digits get their ``+``; an
    alphanumeric sender or a national number is kept as written."""
    digits = value.lstrip("+")
    if ton in (Ton.INTERNATIONAL, Ton.UNKNOWN) and digits.isdigit() and digits:
        return "+" + digits
    return value


def receipt_in(body: DeliverSm | DataSm) -> Receipt | None:
    """The receipt ``body`` carries: by its esm_class, or by a receipted_message_id TLV
    alone (some SMSCs leave the message type unset)."""
    found = receipt_of(body)
    if found is not None:
        return found
    message_id = tlv.receipted_message_id(body.tlvs)
    if not message_id:
        return None
    state = tlv.message_state(body.tlvs)
    return Receipt(message_id=message_id, state=state if isinstance(state, MessageState) else None)


class CarrierInbound:
    """Acts on the carriers' deliver_sm. ``wake`` is called when a keyword's answer was
    queued; ``on_receipt`` and ``on_inbound`` with the message a receipt moved or the
    message stored (read at each call, so they may be set after construction)."""

    def __init__(
        self,
        work: DbWork,
        rules: MessagingRules,
        *,
        wake: Callable[[], None],
        hooks: Hooks,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
        reassembly_timeout: float = 300.0,
    ) -> None:
        self.work = work
        self.rules = rules
        self.wake = wake
        self.hooks = hooks
        self.now = wallclock
        self.parts = Reassembler(reassembly_timeout)
        self.tasks = TaskSet(log, "inbound deliver_sm")

    def on_deliver(self, carrier_id: str, link: SmppLink, pdu: Pdu) -> None:
        """A carrier's deliver_sm or data_sm: acted on, then answered."""
        self.tasks.spawn(self._handle(carrier_id, link, pdu))

    async def _handle(self, carrier_id: str, link: SmppLink, pdu: Pdu) -> None:
        body = pdu.body
        assert isinstance(body, DeliverSm | DataSm)
        try:
            status = await self._act(carrier_id, body)
        except Exception:
            log.exception("carrier %s: deliver_sm not stored; the SMSC will retry", carrier_id)
            status = CommandStatus.ESME_RX_T_APPN
        link.respond(pdu, status)

    async def _act(self, carrier_id: str, body: DeliverSm | DataSm) -> int:
        receipt = receipt_in(body)
        if receipt is not None:
            return await self._receipt(carrier_id, receipt)
        sender = address(body.source_addr, body.source_addr_ton)
        recipient = address(body.destination_addr, body.dest_addr_ton)
        try:
            text = self._text(sender, recipient, body)
        except SmsEncodingError as exc:
            log.warning("carrier %s: unreadable message from %s: %s", carrier_id, sender, exc)
            return CommandStatus.ESME_RX_P_APPN
        if text is None:
            return CommandStatus.ESME_ROK  # a part: held until the message is whole
        return await self._store(carrier_id, sender, recipient, text)

    async def _receipt(self, carrier_id: str, receipt: Receipt) -> int:
        outcome = part_state(receipt.state)
        error = receipt.error if outcome != "delivered" else None
        got = delivery.ReceiptIn(carrier_id, receipt.message_id, outcome, error, self.now())
        message = await self.work.run_grouped(writes.RECEIPTS, got)
        if message is None:
            log.info("carrier %s: receipt for unknown id %s", carrier_id, receipt.message_id)
        else:
            self.hooks.on_receipt(message)
        return CommandStatus.ESME_ROK

    def _text(self, sender: str, recipient: str, body: DeliverSm | DataSm) -> str | None:
        """The whole text, or None while parts are missing. Raises SmsEncodingError."""
        short = body.short_message if isinstance(body, DeliverSm) else b""
        content = short or tlv.message_payload(body.tlvs) or b""
        info: ConcatInfo | None = None
        if body.esm_class & ESM_UDHI:
            info, content = parse_udh(content)
        else:
            sar = tlv.sar(body.tlvs)
            if sar is not None:
                info = ConcatInfo(sar.reference, sar.total, sar.sequence, 16)
        if info is None or info.total == 1:
            return decode_short_message(body.data_coding, content)
        loop = asyncio.get_running_loop()
        fragment = Fragment(body.data_coding, content)
        return self.parts.add(sender, recipient, info, fragment, loop.time())

    async def _store(self, carrier_id: str | None, sender: str, recipient: str, text: str) -> int:
        now = self.now()

        def write(session: Session) -> inbound.Received | None:
            return inbound.receive(
                session,
                sender=sender,
                recipient=recipient,
                body=text,
                carrier_id=carrier_id,
                rules=self.rules,
                now=now,
            )

        received = await self.work.run(write)
        if received is None:
            log.info("carrier %s: message to %s, a number nobody holds", carrier_id, recipient)
            return CommandStatus.ESME_RINVDSTADR
        self.hooks.on_inbound(received.message)
        if received.answer is not None:
            self.wake()
        return CommandStatus.ESME_ROK

    async def expire(self) -> None:
        """Store what came of long messages whose parts stopped coming."""
        loop = asyncio.get_running_loop()
        for incomplete in self.parts.expire(loop.time()):
            await self._store_incomplete(incomplete)

    async def _store_incomplete(self, incomplete: Incomplete) -> None:
        log.warning(
            "message from %s to %s: parts %s of %d never came; storing what did",
            incomplete.source,
            incomplete.destination,
            ",".join(map(str, incomplete.missing)),
            incomplete.total,
        )
        try:
            await self._store(None, incomplete.source, incomplete.destination, incomplete.text)
        except Exception:
            log.exception("an incomplete message was not stored")

    async def close(self) -> None:
        """Let the deliver_sm being acted on finish (their answers go out)."""
        await self.tasks.wait(2.0)
        self.tasks.cancel()


class Hooks:
    """What the rest of the platform hears of receipts and inbound messages: the SMPP
    server for customers passes DLRs and messages to the customer's bind; webhooks come
    later. Plain callables, no-ops by default; replace them on the instance."""

    def __init__(self, on_receipt: Hook | None = None, on_inbound: Hook | None = None) -> None:
        self.on_receipt: Hook = on_receipt or _ignore
        self.on_inbound: Hook = on_inbound or _ignore


def _ignore(message: Message) -> None:
    del message
