"""A message's status callback in Twilio's shape (issue 16): the parameters Twilio POSTs
to a message's ``StatusCallback``, from our message.

Statuses map one to one but ``expired`` (Twilio has none): a message that never left
is ``failed``, one a carrier had is ``undelivered``, both with Twilio's 30036 (validity
period expired). A failure carries Twilio's ``ErrorCode`` for our reason code, and our
own reason and rule beside it (``DialtoneReason``, ``DialtoneRule``) so a refusal by the
terms still cites its rule.
"""

from __future__ import annotations

from dialtone.services.accounts.twilio_signing import API_VERSION, Params, as_params
from dialtone.store.messaging_models import Message

STATUS = {
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}

UNKNOWN_ERROR = 30008

# Our reason codes as Twilio's messaging error codes.
ERROR_CODES = {
    "sms.undelivered": 30003,  # unreachable destination handset (the carrier's receipt)
    "sms.expired": 30036,  # validity period expired
    "sms.no_carrier": 30006,  # landline or unreachable carrier: no route to it
    "sms.carrier_refused": 30007,  # filtered by the carrier
    "sms.invalid_encoding": 30008,
    "sms.opted_out": 21610,  # the recipient unsubscribed (STOP)
    "sms.premium": 30007,
    "sms.international": 21408,  # permission to send to this region not enabled
    "sms.too_long": 30019,  # content size exceeds carrier limit
    "sms.sender_not_owned": 21606,  # the From number is not the account's
    "quota.exhausted": 30001,  # queue overflow: the account may send no more now
}


def twilio_status(message: Message) -> str:
    """The message's status as Twilio names it."""
    if message.status == "expired":
        return "undelivered" if message.sent_at is not None else "failed"
    return STATUS.get(message.status, message.status)


def error_code(message: Message) -> int | None:
    """Twilio's error code for why the message failed (None when it did not): the
    terms' refusals with a rule Twilio has no code for are "filtered" (30007)."""
    if message.status not in ("undelivered", "failed", "expired"):
        return None
    if message.status == "expired":
        return ERROR_CODES["sms.expired"]
    if message.error_code is None:
        return UNKNOWN_ERROR
    if message.error_code in ERROR_CODES:
        return ERROR_CODES[message.error_code]
    return 30007 if message.error_rule else UNKNOWN_ERROR


def status_params(message: Message) -> Params:
    """The parameters of the message's status callback as Twilio sends them."""
    status = twilio_status(message)
    code = error_code(message)
    done = message.done_at if status in ("delivered", "undelivered") else None
    return as_params(
        [
            ("AccountSid", message.account_id),
            ("ApiVersion", API_VERSION),
            ("From", message.sender),
            ("MessageSid", message.id),
            ("MessageStatus", status),
            ("NumSegments", message.segments),
            ("SmsSid", message.id),
            ("SmsStatus", status),
            ("To", message.recipient),
            ("ErrorCode", code),
            # Twilio's form of the receipt's done date: YYMMDDhhmm (UTC).
            ("RawDlrDoneDate", done.strftime("%y%m%d%H%M") if done else None),
            ("DialtoneReason", message.error_code if code is not None else None),
            ("DialtoneRule", message.error_rule if code is not None else None),
        ]
    )
