"""SMSC delivery receipts in their text form (SMPP 3.4 Appendix B), read and written:

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E text:...

The appendix is informative and SMSCs vary, so reading is tolerant: keys in any case,
fields missing, runs of spaces, seconds on the dates, full state names. ``stat`` and the
message_state TLV (§5.2.28) map onto one enum, ``MessageState``; when a deliver_sm
carries the receipted_message_id and message_state TLVs, they win over the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from dialtone.smpp import tlv
from dialtone.smpp.constants import MessageState, is_delivery_receipt
from dialtone.smpp.pdu import DataSm, DeliverSm

# The seven-letter forms of Appendix B, and the full names some SMSCs write instead.
_STAT_NAMES = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}
_STATES = {name: state for state, name in _STAT_NAMES.items()} | {
    "DELIVERED": MessageState.DELIVERED,
    "UNDELIVERABLE": MessageState.UNDELIVERABLE,
    "UNDELIVERED": MessageState.UNDELIVERABLE,
    "ACCEPTED": MessageState.ACCEPTED,
    "REJECTED": MessageState.REJECTED,
}
_KEY = re.compile(
    r"(?:^|(?<=\s))(id|sub|dlvrd|submit\s*date|done\s*date|stat|err|text)\s*:", re.IGNORECASE
)
_DATE_FORMATS = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}
TEXT_LENGTH = 20  # Appendix B: the first 20 characters of the short message


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery receipt. ``stat`` is the text as written; ``state`` its meaning
    (None when the text names no known state). Dates stay as written (YYMMDDhhmm, the
    SMSC's local time: the receipt carries no offset); see ``parse_receipt_date``."""

    message_id: str
    state: MessageState | None = None
    submitted: int | None = None
    delivered: int | None = None
    submit_date: str | None = None
    done_date: str | None = None
    error: str | None = None
    text: str | None = None
    stat: str | None = None


def stat_name(state: MessageState) -> str:
    """The seven-letter ``stat:`` of ``state`` (DELIVRD, UNDELIV, ...)."""
    return _STAT_NAMES[state]


def state_of_stat(stat: str) -> MessageState | None:
    """The state a ``stat:`` value names, in any case; None for an unknown one."""
    return _STATES.get(stat.strip().upper())


def _number(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def parse_receipt(text: str | bytes) -> Receipt | None:
    """Read a receipt's text; None when it has no ``id:`` (not a receipt).

    Bytes are read as Latin-1 (receipts are ASCII; no octet can fail). Everything after
    ``text:`` is the text, whatever keys it seems to hold.
    """
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    fields: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        key = re.sub(r"\s+", " ", match.group(1).lower())
        if key == "text":
            fields.setdefault(key, text[match.end() :].strip())
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end() : end].strip())
    message_id = fields.get("id")
    if not message_id:
        return None
    stat = fields.get("stat")
    return Receipt(
        message_id=message_id,
        state=None if stat is None else state_of_stat(stat),
        submitted=_number(fields.get("sub")),
        delivered=_number(fields.get("dlvrd")),
        submit_date=fields.get("submit date"),
        done_date=fields.get("done date"),
        error=fields.get("err"),
        text=fields.get("text"),
        stat=stat,
    )


def format_receipt(receipt: Receipt) -> str:
    """The Appendix B text of ``receipt``: counts in three digits, the state's
    seven-letter name (or ``stat`` as given), the text cut to 20 characters."""
    if receipt.state is not None:
        stat = stat_name(receipt.state)
    else:
        stat = receipt.stat or stat_name(MessageState.UNKNOWN)
    error = receipt.error if receipt.error is not None else "000"
    return (
        f"id:{receipt.message_id} sub:{receipt.submitted or 0:03d}"
        f" dlvrd:{receipt.delivered or 0:03d}"
        f" submit date:{receipt.submit_date or ''} done date:{receipt.done_date or ''}"
        f" stat:{stat} err:{error} text:{(receipt.text or '')[:TEXT_LENGTH]}"
    )


def format_receipt_date(moment: datetime) -> str:
    """A receipt date, YYMMDDhhmm (whatever zone ``moment`` is in: the text has none)."""
    return moment.strftime("%y%m%d%H%M")


def parse_receipt_date(value: str) -> datetime | None:
    """A receipt date (YYMMDDhhmm, or with seconds) as a naive datetime, or None."""
    value = value.strip()
    pattern = _DATE_FORMATS.get(len(value))
    if pattern is None or not (value.isascii() and value.isdigit()):
        return None
    try:
        return datetime.strptime(value, pattern)
    except ValueError:
        return None


def receipt_of(body: DeliverSm | DataSm) -> Receipt | None:
    """The delivery receipt a deliver_sm or data_sm carries, or None if it is a message.

    esm_class says whether it is one (§5.2.12); the receipted_message_id and
    message_state TLVs, when present, win over the text (§5.3.2.12, §5.3.2.35).
    """
    if not is_delivery_receipt(body.esm_class):
        return None
    content = body.short_message if isinstance(body, DeliverSm) else b""
    content = content or tlv.message_payload(body.tlvs) or b""
    parsed = parse_receipt(content)
    message_id = tlv.receipted_message_id(body.tlvs)
    raw_state = tlv.message_state(body.tlvs)
    state = raw_state if isinstance(raw_state, MessageState) else None
    if parsed is None:
        if not message_id:
            return None
        return Receipt(message_id=message_id, state=state)
    return Receipt(
        message_id=message_id or parsed.message_id,
        state=state if state is not None else parsed.state,
        submitted=parsed.submitted,
        delivered=parsed.delivered,
        submit_date=parsed.submit_date,
        done_date=parsed.done_date,
        error=parsed.error,
        text=parsed.text,
        stat=parsed.stat,
    )
