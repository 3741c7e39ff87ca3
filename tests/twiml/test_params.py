"""Webhook parameters against Twilio's documented lists."""

from __future__ import annotations

from dialtone.twiml import params as p

CALL = p.CallParams(
    account_sid="AC1",
    call_sid="CA1",
    from_="+33612345678",
    to="+33187654321",
    from_country="FR",
    to_country="FR",
    caller_name="ACME",
    forwarded_from="+33100000000",
)

# Twilio's "Twilio's request" for voice: always sent.
VOICE_ALWAYS = {
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "CallStatus",
    "ApiVersion",
    "Direction",
    "Caller",
    "Called",
}
# Sent when known.
VOICE_WHEN_KNOWN = {
    "ForwardedFrom",
    "CallerName",
    "ParentCallSid",
    "FromCity",
    "FromState",
    "FromZip",
    "FromCountry",
    "ToCity",
    "ToState",
    "ToZip",
    "ToCountry",
    "CallerCity",
    "CallerState",
    "CallerZip",
    "CallerCountry",
    "CalledCity",
    "CalledState",
    "CalledZip",
    "CalledCountry",
}
# Twilio's messaging request.
MESSAGE_ALWAYS = {
    "MessageSid",
    "SmsSid",
    "SmsMessageSid",
    "AccountSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "NumSegments",
    "SmsStatus",
    "ApiVersion",
}
MESSAGE_WHEN_KNOWN = {
    "MessagingServiceSid",
    "FromCity",
    "FromState",
    "FromZip",
    "FromCountry",
    "ToCity",
    "ToState",
    "ToZip",
    "ToCountry",
}


def test_voice_request_names_are_twilios() -> None:
    bare = p.voice_request(p.CallParams("AC1", "CA1", "+1", "+2"), "ringing")
    assert set(bare) == VOICE_ALWAYS
    full = p.voice_request(CALL, "in-progress")
    assert VOICE_ALWAYS <= set(full) <= VOICE_ALWAYS | VOICE_WHEN_KNOWN
    assert full["CallerCountry"] == full["FromCountry"] == "FR"
    assert full["Caller"] == full["From"]
    assert full["Called"] == full["To"]
    assert full["ApiVersion"] == "2010-04-01"
    assert full["CallerName"] == "ACME"


def test_every_voice_field_has_a_place() -> None:
    every = p.CallParams(
        "AC1",
        "CA1",
        "+1",
        "+2",
        "outbound-api",
        "n",
        "+3",
        "CA0",
        "US",
        "US",
        "SF",
        "NY",
        "CA",
        "NY",
        "94105",
        "10001",
    )
    assert set(p.voice_request(every, "completed")) == VOICE_ALWAYS | VOICE_WHEN_KNOWN


def test_action_parameters() -> None:
    assert p.gather_result("12#") == {"Digits": "12#"}
    assert p.gather_result("", "yes please", 0.5) == {
        "SpeechResult": "yes please",
        "Confidence": "0.50000000",
    }
    assert p.gather_result("") == {}
    assert p.dial_result("completed", 12.5, "CA9") == {
        "DialCallStatus": "completed",
        "DialCallDuration": "12",
        "DialCallSid": "CA9",
    }
    assert p.record_result("https://r", "RE1", 3.6, None) == {
        "RecordingUrl": "https://r",
        "RecordingSid": "RE1",
        "RecordingDuration": "4",
    }


def test_recording_status_callback() -> None:
    params = p.recording_status(
        CALL, "completed", recording_sid="RE1", recording_url="https://r", seconds=7
    )
    assert set(params) == {
        "AccountSid",
        "CallSid",
        "RecordingSid",
        "RecordingUrl",
        "RecordingStatus",
        "RecordingDuration",
        "RecordingChannels",
        "RecordingSource",
    }
    assert p.recording_status(CALL, "absent")["ErrorCode"] == "0"


def test_call_status_callback() -> None:
    params = p.call_status(
        CALL, "completed", timestamp="Tue, 10 Jun 2025 12:00:00 +0000", sequence=3, seconds=42
    )
    assert set(params) >= VOICE_ALWAYS
    assert params["CallDuration"] == "42"
    assert params["SequenceNumber"] == "3"
    assert params["CallbackSource"] == "call-progress-events"


def test_message_request_names_are_twilios() -> None:
    bare = p.message_request(p.MessageParams("SM1", "AC1", "+1", "+2", "hi", 2))
    assert set(bare) == MESSAGE_ALWAYS
    assert bare["NumSegments"] == "2"
    assert bare["NumMedia"] == "0"
    full = p.message_request(
        p.MessageParams("SM1", "AC1", "+1", "+2", "hi", 1, "MG1", "FR", "FR", "a", "b", "c", "d")
    )
    assert MESSAGE_ALWAYS <= set(full) <= MESSAGE_ALWAYS | MESSAGE_WHEN_KNOWN


def test_message_status_callback() -> None:
    params = p.message_status(
        message_sid="SM1",
        account_sid="AC1",
        from_="+1",
        to="+2",
        status="undelivered",
        error_code=30003,
    )
    assert params["MessageStatus"] == params["SmsStatus"] == "undelivered"
    assert params["ErrorCode"] == "30003"


def test_dial_leg_status() -> None:
    params = p.dial_leg_status(CALL, "+15551234567", None, "ringing")
    assert params["ParentCallSid"] == "CA1"
    assert params["Direction"] == "outbound-dial"
    assert params["From"] == CALL.from_
    assert "CallSid" not in params
