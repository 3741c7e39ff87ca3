"""Media Streams messages: ours as Twilio's published examples show them, the client's
read or refused with a reason, and nothing but StreamProtocolError on bad input."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.streams.messages import (
    ClientClear,
    ClientMark,
    ClientMedia,
    StreamInfo,
    StreamProtocolError,
    Unknown,
    connected,
    dtmf,
    mark,
    media,
    parse_client_message,
    start,
    stop,
    tracks_of,
)

SID = "MZ" + "a" * 32
INFO = StreamInfo(
    account_sid="AC" + "1" * 32,
    call_sid="CA" + "2" * 32,
    stream_sid=SID,
    tracks=("inbound",),
    parameters=(("FirstName", "Jane"), ("LastName", "Doe"), ("FirstName", "Ann")),
)


def test_connected_is_the_protocol_and_its_version() -> None:
    assert json.loads(connected()) == {"event": "connected", "protocol": "Call", "version": "1.0.0"}


def test_start_carries_the_stream_metadata() -> None:
    assert json.loads(start(1, INFO)) == {
        "event": "start",
        "sequenceNumber": "1",
        "start": {
            "accountSid": INFO.account_sid,
            "streamSid": SID,
            "callSid": INFO.call_sid,
            "tracks": ["inbound"],
            "customParameters": {"FirstName": "Ann", "LastName": "Doe"},  # last one wins
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
        "streamSid": SID,
    }


def test_media_dtmf_mark_and_stop_have_twilios_shapes() -> None:
    assert json.loads(media(3, SID, "outbound", chunk=1, timestamp_ms=5, ulaw=b"\xff\x7f")) == {
        "event": "media",
        "sequenceNumber": "3",
        "media": {"track": "outbound", "chunk": "1", "timestamp": "5", "payload": "/38="},
        "streamSid": SID,
    }
    assert json.loads(dtmf(5, SID, "1")) == {
        "event": "dtmf",
        "streamSid": SID,
        "sequenceNumber": "5",
        "dtmf": {"track": "inbound_track", "digit": "1"},
    }
    assert json.loads(mark(4, SID, "my label")) == {
        "event": "mark",
        "sequenceNumber": "4",
        "streamSid": SID,
        "mark": {"name": "my label"},
    }
    assert json.loads(stop(6, INFO)) == {
        "event": "stop",
        "sequenceNumber": "6",
        "stop": {"accountSid": INFO.account_sid, "callSid": INFO.call_sid},
        "streamSid": SID,
    }


@pytest.mark.parametrize(
    ("attribute", "tracks"),
    [
        ("inbound_track", ("inbound",)),
        ("outbound_track", ("outbound",)),
        ("both_tracks", ("inbound", "outbound")),
    ],
)
def test_track_attribute(attribute: str, tracks: tuple[str, ...]) -> None:
    assert tracks_of(attribute) == tracks


@pytest.mark.parametrize("attribute", ["", "inbound", "both", "INBOUND_TRACK"])
def test_unknown_track_attribute(attribute: str) -> None:
    with pytest.raises(ValueError, match="inbound_track, outbound_track or both_tracks"):
        tracks_of(attribute)


@pytest.mark.parametrize(
    ("tracks", "bidirectional", "error"),
    [
        ((), False, "not empty"),
        (("inbound", "inbound"), False, "distinct"),
        (("inbound", "outbound"), True, "inbound track only"),
        (("outbound",), True, "inbound track only"),
    ],
)
def test_stream_info_checks(tracks: tuple[str, ...], bidirectional: bool, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        StreamInfo("AC", "CA", SID, tracks, bidirectional=bidirectional)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            json.dumps({"event": "media", "streamSid": SID, "media": {"payload": "/38="}}),
            ClientMedia(b"\xff\x7f", SID),
        ),
        (json.dumps({"event": "media", "media": {"payload": ""}}), ClientMedia(b"")),
        (
            json.dumps({"event": "mark", "streamSid": SID, "mark": {"name": "my label"}}),
            ClientMark("my label", SID),
        ),
        (json.dumps({"event": "mark", "mark": {"name": ""}}), ClientMark("")),
        (json.dumps({"event": "clear", "streamSid": SID}), ClientClear(SID)),
        # Extra fields are tolerated, as are events we do not take.
        (json.dumps({"event": "clear", "extra": [1, 2]}), ClientClear()),
        (json.dumps({"event": "transcript", "text": "hi"}), Unknown("transcript")),
        (json.dumps({"event": "connected", "streamSid": SID}), Unknown("connected", SID)),
    ],
)
def test_client_messages_read(text: str, message: object) -> None:
    assert parse_client_message(text) == message


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"event": "clear"}', "binary frame"),
        ("", "malformed JSON"),
        ("{event: media}", "malformed JSON"),
        ('{"event": "clear"', "malformed JSON"),
        ("[]", "JSON object, not list"),
        ('"media"', "JSON object, not str"),
        ("{}", "string 'event'"),
        ('{"event": 5}', "string 'event'"),
        ('{"event": "clear", "streamSid": 7}', "'streamSid' must be a string"),
        ('{"event": "media"}', "'media.payload'"),
        ('{"event": "media", "media": "AAAA"}', "'media.payload'"),
        ('{"event": "media", "media": {"payload": 5}}', "'media.payload'"),
        ('{"event": "media", "media": {"payload": "not base64!"}}', "not base64"),
        ('{"event": "media", "media": {"payload": "AAA"}}', "not base64"),
        ('{"event": "media", "media": {"payload": "\\u00e9\\u00e9\\u00e9\\u00e9"}}', "not base64"),
        ('{"event": "mark"}', "'mark.name'"),
        ('{"event": "mark", "mark": {"name": 3}}', "'mark.name'"),
        ('{"event": "mark", "mark": ["x"]}', "'mark.name'"),
    ],
)
def test_unreadable_client_messages_say_why(data: str | bytes, reason: str) -> None:
    with pytest.raises(StreamProtocolError, match=reason.replace("(", r"\(")):
        parse_client_message(data)


@given(st.text() | st.binary())
def test_anything_is_read_or_refused_with_a_reason(data: str | bytes) -> None:
    with contextlib.suppress(StreamProtocolError):
        parse_client_message(data)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_any_json_is_read_or_refused_with_a_reason(value: object) -> None:
    for event in ("media", "mark", "clear", "other"):
        message = {"event": event, "media": value, "mark": value, "streamSid": SID}
        with contextlib.suppress(StreamProtocolError):
            parse_client_message(json.dumps(message))


@given(st.binary(max_size=2000))
def test_media_payloads_come_back_byte_exact(ulaw: bytes) -> None:
    ours = json.loads(media(1, SID, "inbound", chunk=1, timestamp_ms=0, ulaw=ulaw))
    text = json.dumps({"event": "media", "media": {"payload": ours["media"]["payload"]}})
    assert parse_client_message(text) == ClientMedia(ulaw)
    assert base64.b64decode(ours["media"]["payload"]) == ulaw
