"""Twilio's webhook parameters, built in one place for every request dialtone sends.

Names and values follow Twilio's documented lists ("Twilio's request" for voice and
for messaging, the verbs' action parameters, the status callbacks); a field we do not
know is left out rather than sent empty, as Twilio leaves out what it cannot look up.
Values are strings: they go into a form body or a query string as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

API_VERSION = "2010-04-01"

Direction = Literal["inbound", "outbound-api", "outbound-dial"]
CallStatus = Literal[
    "queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"
]
DialCallStatus = Literal["completed", "answered", "busy", "no-answer", "failed", "canceled"]


@dataclass(frozen=True, slots=True)
class CallParams:
    """The call as Twilio's voice requests describe it. ``from_`` and ``to`` are E.164
    numbers or ``client:<identity>``; geographic fields when known (the countries from
    the numbers' metadata)."""

    account_sid: str
    call_sid: str
    from_: str
    to: str
    direction: Direction = "inbound"
    caller_name: str | None = None
    forwarded_from: str | None = None
    parent_call_sid: str | None = None
    from_country: str | None = None
    to_country: str | None = None
    from_city: str | None = None
    to_city: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    from_zip: str | None = None
    to_zip: str | None = None


def voice_request(call: CallParams, status: CallStatus) -> dict[str, str]:
    """The parameters of every voice webhook (the first document, Redirect, every
    verb's action): Twilio's list, with ``Caller``/``Called`` repeating From/To and each
    geographic field given for both names (``FromCountry`` and ``CallerCountry``)."""
    params = {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.call_sid,
        "CallStatus": status,
        "Called": call.to,
        "Caller": call.from_,
        "Direction": call.direction,
        "From": call.from_,
        "To": call.to,
    }
    for side, twin, value in (
        ("FromCountry", "CallerCountry", call.from_country),
        ("ToCountry", "CalledCountry", call.to_country),
        ("FromCity", "CallerCity", call.from_city),
        ("ToCity", "CalledCity", call.to_city),
        ("FromState", "CallerState", call.from_state),
        ("ToState", "CalledState", call.to_state),
        ("FromZip", "CallerZip", call.from_zip),
        ("ToZip", "CalledZip", call.to_zip),
    ):
        if value:
            params[side] = params[twin] = value
    for name, value in (
        ("CallerName", call.caller_name),
        ("ForwardedFrom", call.forwarded_from),
        ("ParentCallSid", call.parent_call_sid),
    ):
        if value:
            params[name] = value
    return params


def gather_result(
    digits: str | None, speech: str | None = None, confidence: float | None = None
) -> dict[str, str]:
    """``<Gather>``'s action parameters: ``Digits``, or ``SpeechResult`` and
    ``Confidence`` (0 to 1)."""
    params: dict[str, str] = {}
    if digits:
        params["Digits"] = digits
    if speech:
        params["SpeechResult"] = speech
        params["Confidence"] = f"{confidence if confidence is not None else 0.0:.8f}"
    return params


def dial_result(
    status: DialCallStatus, seconds: float = 0.0, dial_call_sid: str | None = None
) -> dict[str, str]:
    """``<Dial>``'s action parameters."""
    params = {"DialCallStatus": status, "DialCallDuration": str(round(seconds))}
    if dial_call_sid:
        params["DialCallSid"] = dial_call_sid
    return params


def record_result(
    recording_url: str, recording_sid: str, seconds: float, digits: str | None
) -> dict[str, str]:
    """``<Record>``'s action parameters; ``Digits`` is the key that ended it or
    ``hangup``."""
    params = {
        "RecordingUrl": recording_url,
        "RecordingSid": recording_sid,
        "RecordingDuration": str(round(seconds)),
    }
    if digits:
        params["Digits"] = digits
    return params


def recording_status(
    call: CallParams,
    status: Literal["in-progress", "completed", "absent"],
    *,
    recording_sid: str | None = None,
    recording_url: str | None = None,
    seconds: float | None = None,
    source: str = "RecordVerb",
) -> dict[str, str]:
    """A ``recordingStatusCallback``'s parameters."""
    params = {
        "AccountSid": call.account_sid,
        "CallSid": call.call_sid,
        "RecordingStatus": status,
        "RecordingSource": source,
        "RecordingChannels": "1",
    }
    if recording_sid:
        params["RecordingSid"] = recording_sid
    if recording_url:
        params["RecordingUrl"] = recording_url
    if seconds is not None:
        params["RecordingDuration"] = str(round(seconds))
    if status == "absent":
        params["ErrorCode"] = "0"
    return params


def call_status(
    call: CallParams,
    status: CallStatus,
    *,
    timestamp: str,
    sequence: int,
    seconds: float | None = None,
) -> dict[str, str]:
    """A call's ``StatusCallback`` (initiated, ringing, answered, completed):
    the voice parameters with ``Timestamp`` (RFC 2822, given: no clock here),
    ``CallbackSource``, ``SequenceNumber`` and, at the end, ``CallDuration``."""
    params = voice_request(call, status)
    params["Timestamp"] = timestamp
    params["CallbackSource"] = "call-progress-events"
    params["SequenceNumber"] = str(sequence)
    if seconds is not None:
        params["CallDuration"] = str(round(seconds))
    return params


def dial_leg_status(
    call: CallParams,
    target: str,
    caller_id: str | None,
    status: str,
    *,
    seconds: float | None = None,
) -> dict[str, str]:
    """A ``<Dial>`` noun's ``statusCallback``: the dialled leg (``outbound-dial``) from
    the caller ID to ``target``, ``ParentCallSid`` the call that dialled. ``status`` is
    the leg's: initiated, ringing, in-progress, then completed, busy, no-answer,
    failed or canceled."""
    caller = caller_id or call.from_
    params = {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "ParentCallSid": call.call_sid,
        "CallStatus": status,
        "Direction": "outbound-dial",
        "From": caller,
        "Caller": caller,
        "To": target,
        "Called": target,
        "CallbackSource": "call-progress-events",
    }
    if seconds is not None:
        params["CallDuration"] = str(round(seconds))
    return params


@dataclass(frozen=True, slots=True)
class MessageParams:
    """An inbound message as Twilio's messaging request describes it."""

    message_sid: str
    account_sid: str
    from_: str
    to: str
    body: str
    num_segments: int = 1
    messaging_service_sid: str | None = None
    from_country: str | None = None
    to_country: str | None = None
    from_city: str | None = None
    to_city: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    from_zip: str | None = None
    to_zip: str | None = None


def message_request(message: MessageParams) -> dict[str, str]:
    """The parameters of an inbound message's webhook (``SmsUrl``): Twilio's list;
    ``NumMedia`` is always 0 (SMS only)."""
    params = {
        "MessageSid": message.message_sid,
        "SmsSid": message.message_sid,
        "SmsMessageSid": message.message_sid,
        "AccountSid": message.account_sid,
        "From": message.from_,
        "To": message.to,
        "Body": message.body,
        "NumMedia": "0",
        "NumSegments": str(message.num_segments),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    for name, value in (
        ("FromCountry", message.from_country),
        ("ToCountry", message.to_country),
        ("FromCity", message.from_city),
        ("ToCity", message.to_city),
        ("FromState", message.from_state),
        ("ToState", message.to_state),
        ("FromZip", message.from_zip),
        ("ToZip", message.to_zip),
    ):
        if value:
            params[name] = value
    return params


MessageStatus = Literal[
    "accepted",
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "received",
    "read",
]


def message_status(
    *,
    message_sid: str,
    account_sid: str,
    from_: str,
    to: str,
    status: MessageStatus,
    error_code: int | None = None,
    messaging_service_sid: str | None = None,
) -> dict[str, str]:
    """A message's ``StatusCallback``: ``MessageStatus`` (and ``SmsStatus``, its old
    name), ``ErrorCode`` when it failed."""
    params = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    return params
