"""Call status callbacks in Twilio's shape: the parameters of each status, the events a
StatusCallbackEvent filter lets through, and the deliveries owed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import twilio_signing
from dialtone.services.telephony import call_status
from dialtone.services.telephony.call_status import CallFacts
from dialtone.store.messaging_models import WebhookDelivery
from tests.services.conftest import T0

FACTS = CallFacts(
    call_sid="CA" + "a" * 32,
    account_sid="AC" + "b" * 32,
    from_="+15551230000",
    to="+15559870000",
    direction="outbound-api",
)


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("queued", "initiated"),
        ("initiated", "initiated"),
        ("ringing", "ringing"),
        ("in-progress", "answered"),
        ("completed", "completed"),
        ("busy", "completed"),
        ("failed", "completed"),
        ("no-answer", "completed"),
        ("canceled", "completed"),
    ],
)
def test_each_status_falls_under_one_event(status: str, event: str) -> None:
    assert call_status.event_of(status) == event


def test_an_unknown_status_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="answered"):
        call_status.event_of("answered")  # an event, not a status


@pytest.mark.parametrize(
    ("value", "events"),
    [
        (None, {"completed"}),
        ("", {"completed"}),
        ("initiated ringing answered completed", set(call_status.EVENTS)),
        (["ringing", "answered"], {"ringing", "answered"}),
        (["ringing answered"], {"ringing", "answered"}),
    ],
)
def test_status_callback_event_filters(value: str | list[str] | None, events: set[str]) -> None:
    assert call_status.parse_events(value) == events


def test_an_unknown_event_is_refused() -> None:
    with pytest.raises(DialtoneError) as refused:
        call_status.parse_events("ringing hangup")
    assert refused.value.code == "request.invalid"
    assert "hangup" in refused.value.message


def test_the_parameters_of_a_completed_call() -> None:
    params = dict(
        call_status.call_status_params(
            FACTS, "completed", sequence=3, now=T0, duration=42, sip_response_code=200
        )
    )
    assert params == {
        "AccountSid": FACTS.account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": FACTS.call_sid,
        "CallStatus": "completed",
        "Called": FACTS.to,
        "Caller": FACTS.from_,
        "Direction": "outbound-api",
        "From": FACTS.from_,
        "To": FACTS.to,
        "CallbackSource": "call-progress-events",
        "SequenceNumber": "3",
        "StatusCallbackEvent": "completed",
        "Timestamp": "Mon, 02 Nov 2026 09:00:00 +0000",
        "CallDuration": "42",
        "SipResponseCode": "200",
    }


def test_a_call_in_progress_has_no_duration() -> None:
    params = dict(
        call_status.call_status_params(FACTS, "in-progress", sequence=1, now=T0, duration=5)
    )
    assert "CallDuration" not in params
    assert params["StatusCallbackEvent"] == "answered"


def test_only_the_events_asked_for_are_owed(session: Session, account: str) -> None:
    events = call_status.parse_events("ringing completed")
    sequence = 0
    for n, status in enumerate(["initiated", "ringing", "in-progress", "completed"]):
        owed = call_status.enqueue_call_status(
            session,
            account,
            url="https://app.example/status",
            facts=FACTS,
            status=status,
            events=events,
            sequence=sequence,
            now=T0 + timedelta(seconds=n),
            duration=30,
        )
        sequence += owed is not None
    rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    assert [(r.event, r.format, r.method) for r in rows] == [
        ("call.ringing", "twilio", "POST"),
        ("call.completed", "twilio", "POST"),
    ]
    sent = [dict(twilio_signing.decode(r.body)) for r in rows]
    assert [(p["CallStatus"], p["SequenceNumber"]) for p in sent] == [
        ("ringing", "0"),
        ("completed", "1"),
    ]
    assert sent[1]["CallDuration"] == "30"


def test_by_default_only_the_end_is_owed_and_get_is_kept(session: Session, account: str) -> None:
    for status in ["initiated", "ringing", "in-progress", "no-answer"]:
        call_status.enqueue_call_status(
            session,
            account,
            url="https://app.example/status?x=1",
            method="GET",
            facts=FACTS,
            status=status,
            sequence=0,
            now=T0,
        )
    [row] = session.scalars(select(WebhookDelivery)).all()
    assert (row.event, row.method, row.url) == (
        "call.completed",
        "GET",
        "https://app.example/status?x=1",
    )
    assert dict(twilio_signing.decode(row.body))["CallStatus"] == "no-answer"
