"""One media stream's state machine: what it sends, what it plays, marks, and how it
ends, step by step."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from dialtone.streams.messages import StreamInfo
from dialtone.streams.session import (
    Clear,
    Effect,
    End,
    Note,
    PlaceMark,
    Play,
    Send,
    State,
    StreamSession,
)

SID = "MZ" + "b" * 32
FORKED = StreamInfo("AC" + "1" * 32, "CA" + "2" * 32, SID, ("inbound", "outbound"))
CONNECTED = StreamInfo("AC" + "1" * 32, "CA" + "2" * 32, SID, ("inbound",), bidirectional=True)


def sent(effects: list[Effect]) -> list[dict[str, Any]]:
    assert all(isinstance(e, Send) for e in effects), effects
    return [json.loads(e.text) for e in effects if isinstance(e, Send)]


def opened(info: StreamInfo, now: float = 100.0) -> StreamSession:
    session = StreamSession(info)
    assert session.state is State.CONNECTING
    first = sent(session.open(now))
    assert [m["event"] for m in first] == ["connected", "start"]
    assert "sequenceNumber" not in first[0]
    assert first[1]["sequenceNumber"] == "1"
    assert session.streaming
    return session


def client(event: str, **body: Any) -> str:
    return json.dumps({"event": event, "streamSid": SID, **body})


def test_nothing_is_sent_before_open_and_open_happens_once() -> None:
    session = StreamSession(CONNECTED)
    assert session.audio("inbound", b"\xff" * 160, 1.0) == []
    assert session.digit("1") == []
    assert session.receive(client("clear")) == []
    assert session.mark_played("x") == []
    session.open(0.0)
    assert session.open(0.0) == []


def test_media_chunks_count_per_track_and_sequence_numbers_run_on() -> None:
    session = opened(FORKED, now=100.0)
    steps = [
        ("inbound", 100.020),
        ("outbound", 100.021),
        ("inbound", 100.040),
        ("inbound", 100.055),  # late (jitter): stays on the audio's own grid
        ("outbound", 100.041),
    ]
    messages = [sent(session.audio(track, b"\x01" * 160, now))[0] for track, now in steps]
    assert [m["sequenceNumber"] for m in messages] == ["2", "3", "4", "5", "6"]
    assert [
        (m["media"]["track"], m["media"]["chunk"], m["media"]["timestamp"]) for m in messages
    ] == [
        # The first frame's audio began when the stream did; each next one follows it.
        ("inbound", "1", "0"),
        ("outbound", "1", "0"),
        ("inbound", "2", "20"),
        ("inbound", "3", "40"),
        ("outbound", "2", "20"),
    ]
    assert base64.b64decode(messages[0]["media"]["payload"]) == b"\x01" * 160
    assert all(m["streamSid"] == SID for m in messages)


@pytest.mark.parametrize(
    ("arrivals", "timestamps"),
    [
        # On time: 20 ms apart.
        ([0.0, 0.02, 0.04], [0, 20, 40]),
        # A burst after a delay: each still 20 ms after the last (always increasing).
        ([0.0, 0.05, 0.05, 0.05], [0, 20, 40, 60]),
        # Silence shorter than GAP_MS after the audio's end: kept on the grid.
        ([0.0, 0.075], [0, 20]),
        # A longer silence (hold, lost packets): the timestamp moves to the clock.
        ([0.0, 0.5, 0.52], [0, 500, 520]),
    ],
)
def test_timestamps_follow_the_audio_and_jump_over_silences(
    arrivals: list[float], timestamps: list[int]
) -> None:
    session = opened(FORKED, now=10.0)
    got = [
        int(sent(session.audio("inbound", b"\xff" * 160, 10.0 + at))[0]["media"]["timestamp"])
        for at in arrivals
    ]
    assert got == timestamps


def test_a_track_not_asked_for_and_empty_audio_send_nothing() -> None:
    session = opened(CONNECTED)
    assert session.audio("outbound", b"\xff" * 160, 100.02) == []
    assert session.audio("inbound", b"", 100.02) == []


def test_the_clients_audio_marks_and_clear_on_a_connected_stream() -> None:
    session = opened(CONNECTED)
    payload = base64.b64encode(b"\x10" * 320).decode()
    assert session.receive(client("media", media={"payload": payload})) == [Play(b"\x10" * 320)]
    assert session.receive(client("media", media={"payload": ""})) == []
    assert session.receive(client("mark", mark={"name": "greeting"})) == [PlaceMark("greeting")]
    assert session.receive(client("clear")) == [Clear()]
    # Without streamSid too (some clients leave it out).
    assert session.receive('{"event": "clear"}') == [Clear()]
    (echo,) = sent(session.mark_played("greeting"))
    assert echo == {
        "event": "mark",
        "sequenceNumber": "2",
        "streamSid": SID,
        "mark": {"name": "greeting"},
    }


def test_digits_go_to_a_connected_stream_only() -> None:
    connected = opened(CONNECTED)
    (message,) = sent(connected.digit("#"))
    assert message["dtmf"] == {"track": "inbound_track", "digit": "#"}
    with pytest.raises(ValueError, match="not a DTMF digit"):
        connected.digit("x")
    assert opened(FORKED).digit("1") == []


@pytest.mark.parametrize(
    ("info", "text", "note"),
    [
        (CONNECTED, client("transcript", text="hi"), "unknown event 'transcript' ignored"),
        (CONNECTED, json.dumps({"event": "clear", "streamSid": "MZ" + "0" * 32}), "another stream"),
        (FORKED, client("media", media={"payload": "AAAA"}), "only listens"),
        (FORKED, client("mark", mark={"name": "x"}), "only listens"),
        (FORKED, client("clear"), "only listens"),
    ],
)
def test_ignored_messages_are_noted_once(info: StreamInfo, text: str, note: str) -> None:
    session = opened(info)
    (first,) = session.receive(text)
    assert isinstance(first, Note)
    assert note in first.text
    assert session.receive(text) == []  # once per kind
    assert session.streaming


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("not json", "protocol error: malformed JSON"),
        (b"\x00\x01", "protocol error: binary frame"),
        (
            '{"event": "media", "media": {"payload": "@@@@"}}',
            "protocol error: 'media.payload' is not base64",
        ),
        ('{"event": "mark", "mark": {}}', "protocol error: a mark message needs"),
    ],
)
def test_an_unreadable_message_ends_the_stream_with_stop_and_a_reason(
    data: str | bytes, reason: str
) -> None:
    session = opened(CONNECTED)
    *messages, end = session.receive(data)
    assert [m["event"] for m in sent(messages)] == ["stop"]
    assert isinstance(end, End)
    assert end.error is not None
    assert end.error.startswith(reason)
    assert session.state is State.CLOSED
    assert session.error == end.error
    # Closed: nothing more goes out, whatever comes.
    assert session.audio("inbound", b"\xff", 200.0) == []
    assert session.receive(client("clear")) == []
    assert session.mark_played("x") == []
    assert session.stop() == []
    assert session.closed(1000) == []


def test_stop_sends_stop_with_the_call_and_ends_normally() -> None:
    session = opened(FORKED)
    session.audio("inbound", b"\xff" * 160, 100.02)
    *messages, end = session.stop()
    (message,) = sent(messages)
    assert message == {
        "event": "stop",
        "sequenceNumber": "3",
        "stop": {"accountSid": FORKED.account_sid, "callSid": FORKED.call_sid},
        "streamSid": SID,
    }
    assert end == End(None)
    assert session.stop() == []


def test_stop_before_open_ends_without_a_message() -> None:
    session = StreamSession(FORKED)
    assert session.stop() == [End(None)]


@pytest.mark.parametrize(
    ("code", "reason", "error"),
    [
        (1000, "", None),
        (1001, "going away", None),
        (1005, "", None),
        (1011, "internal error", "the client closed with 1011 internal error"),
        (4000, "", "the client closed with 4000"),
        (None, "", "the client connection lost"),
    ],
)
def test_the_client_closing(code: int | None, reason: str, error: str | None) -> None:
    session = opened(CONNECTED)
    assert session.closed(code, reason) == [End(error)]
    assert session.state is State.CLOSED


def test_a_failed_connection_ends_with_its_reason() -> None:
    session = StreamSession(CONNECTED)
    assert session.failed("connect timeout after 5 s") == [End("connect timeout after 5 s")]
    assert session.open(1.0) == []
    assert session.failed("again") == []
