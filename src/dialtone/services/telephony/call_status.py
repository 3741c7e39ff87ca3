"""Call status callbacks in Twilio's shape (issue 16): the parameters Twilio sends a
call's ``StatusCallback`` as the call progresses, owed as webhooks in the transaction
of the change (:func:`dialtone.services.accounts.webhooks.enqueue_twilio`).

A call's status is one of Twilio's: queued, initiated, ringing, in-progress, completed,
busy, failed, no-answer, canceled. Each falls under one of the four events a
``StatusCallbackEvent`` filter names: initiated (queued, initiated), ringing, answered
(in-progress) and completed (every final status). Without a filter only ``completed``
is sent, as Twilio does. ``SequenceNumber`` counts the callbacks sent for the call, from
0: the caller (the call's lifecycle) keeps the count, adding one each time a callback
is owed (:func:`enqueue_call_status` returns None when the filter left it out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import webhooks
from dialtone.services.accounts.twilio_signing import API_VERSION, Params, as_params
from dialtone.store.messaging_models import WebhookDelivery

STATUSES = (
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
)
FINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
EVENTS = ("initiated", "ringing", "answered", "completed")
DIRECTIONS = ("inbound", "outbound-api", "outbound-dial")
DEFAULT_EVENTS = frozenset({"completed"})


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What every callback of one call says about it."""

    call_sid: str
    account_sid: str
    from_: str
    to: str
    direction: str  # inbound | outbound-api | outbound-dial
    parent_call_sid: str | None = None
    caller_name: str | None = None
    forwarded_from: str | None = None


def event_of(status: str) -> str:
    """The ``StatusCallbackEvent`` a call status falls under."""
    if status not in STATUSES:
        raise ValueError(f"not a call status: {status!r}")
    if status in FINAL:
        return "completed"
    return {"queued": "initiated", "in-progress": "answered"}.get(status, status)


def parse_events(value: str | Iterable[str] | None) -> frozenset[str]:
    """A ``StatusCallbackEvent`` filter as Twilio takes it (names separated by spaces,
    or repeated); none given: completed only. Raises ``request.invalid`` for a name
    Twilio does not know."""
    if value is None:
        return DEFAULT_EVENTS
    names = value.split() if isinstance(value, str) else [n for v in value for n in v.split()]
    unknown = [n for n in names if n not in EVENTS]
    if unknown:
        raise DialtoneError(
            "request.invalid",
            f"StatusCallbackEvent: {', '.join(unknown)} is not one of {', '.join(EVENTS)}.",
        )
    return frozenset(names) or DEFAULT_EVENTS


def call_status_params(
    facts: CallFacts,
    status: str,
    *,
    sequence: int,
    now: datetime,
    duration: int | None = None,
    sip_response_code: int | None = None,
) -> Params:
    """The parameters of one call status callback; ``duration`` (whole seconds) is sent
    with a final status only, as ``CallDuration``."""
    event = event_of(status)
    final = status in FINAL
    return as_params(
        [
            ("AccountSid", facts.account_sid),
            ("ApiVersion", API_VERSION),
            ("CallSid", facts.call_sid),
            ("CallStatus", status),
            ("Called", facts.to),
            ("Caller", facts.from_),
            ("CallerName", facts.caller_name),
            ("Direction", facts.direction),
            ("ForwardedFrom", facts.forwarded_from),
            ("From", facts.from_),
            ("ParentCallSid", facts.parent_call_sid),
            ("To", facts.to),
            ("CallbackSource", "call-progress-events"),
            ("SequenceNumber", sequence),
            ("StatusCallbackEvent", event),
            # Twilio's RFC 2822 form: Wed, 12 Apr 2023 20:13:17 +0000.
            ("Timestamp", format_datetime(now.astimezone(UTC))),
            ("CallDuration", max(0, duration) if final and duration is not None else None),
            ("SipResponseCode", sip_response_code),
        ]
    )


def enqueue_call_status(
    session: Session,
    account_id: str,
    *,
    url: str,
    method: str = "POST",
    facts: CallFacts,
    status: str,
    events: frozenset[str] = DEFAULT_EVENTS,
    sequence: int,
    now: datetime,
    duration: int | None = None,
    sip_response_code: int | None = None,
) -> WebhookDelivery | None:
    """Owe the call's status to its ``StatusCallback`` if ``events`` asks for the event
    it falls under (None when it does not: nothing is owed and the sequence stays)."""
    event = event_of(status)
    if event not in events:
        return None
    if facts.direction not in DIRECTIONS:
        raise ValueError(f"not a call direction: {facts.direction!r}")
    params = call_status_params(
        facts,
        status,
        sequence=sequence,
        now=now,
        duration=duration,
        sip_response_code=sip_response_code,
    )
    return webhooks.enqueue_twilio(
        session,
        account_id,
        url=url,
        method=method,
        params=params,
        event=f"call.{event}",
        now=now,
    )
