"""Twilio's Media Streams messages (protocol "Call", version 1.0.0), both ways.

What we send, as JSON text: ``connected`` (first, without a sequence number), ``start``,
``media``, ``dtmf``, ``mark`` (a client's mark, echoed once its audio has played),
``stop``. Every message after ``connected`` carries ``sequenceNumber`` (a string counting
from "1") and ``streamSid``. The audio is µ-law at 8000 Hz, mono, base64, no header.

What a client may send on a bidirectional stream: ``media`` (``media.payload``: base64
µ-law 8000 Hz), ``mark`` (``mark.name``), ``clear``. Anything else that is a JSON object
with a string ``event`` is read as ``Unknown`` and ignored by the session; what cannot be
read (a binary frame, broken JSON, a ``media`` without a base64 payload, a ``mark``
without a name) raises ``StreamProtocolError`` with the reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

PROTOCOL = "Call"
VERSION = "1.0.0"
ENCODING = "audio/x-mulaw"
SAMPLE_RATE = 8000
CHANNELS = 1

Track = Literal["inbound", "outbound"]
TRACKS: dict[str, tuple[Track, ...]] = {
    "inbound_track": ("inbound",),
    "outbound_track": ("outbound",),
    "both_tracks": ("inbound", "outbound"),
}
DIGITS = frozenset("0123456789*#ABCD")


class StreamProtocolError(ValueError):
    """A client's message that is not one of the protocol (the reason is the text)."""


def tracks_of(track: str) -> tuple[Track, ...]:
    """The tracks of a ``<Stream track=…>`` value: ``inbound_track`` (the default: what
    the caller says), ``outbound_track`` (what the caller hears) or ``both_tracks``.

    Raises ValueError for anything else."""
    try:
        return TRACKS[track]
    except KeyError:
        raise ValueError(
            f"track must be inbound_track, outbound_track or both_tracks, not {track!r}"
        ) from None


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a stream's ``start`` says: who it is for, which tracks follow, the
    ``<Parameter>`` values (in order; a repeated name keeps its last value), and whether
    the client may speak back (``<Connect><Stream>``)."""

    account_sid: str
    call_sid: str
    stream_sid: str
    tracks: tuple[Track, ...] = ("inbound",)
    parameters: tuple[tuple[str, str], ...] = ()
    bidirectional: bool = False

    def __post_init__(self) -> None:
        if not self.tracks or len(set(self.tracks)) != len(self.tracks):
            raise ValueError(f"tracks must be distinct and not empty, not {self.tracks!r}")
        # Twilio's rule: a bidirectional stream carries the caller's audio only (what
        # the caller hears comes from the client itself).
        if self.bidirectional and self.tracks != ("inbound",):
            raise ValueError("a bidirectional stream has the inbound track only")


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def connected() -> str:
    """The first message: the protocol and its version."""
    return _dump({"event": "connected", "protocol": PROTOCOL, "version": VERSION})


def start(sequence: int, info: StreamInfo) -> str:
    """The stream's metadata, sent once right after ``connected``."""
    return _dump(
        {
            "event": "start",
            "sequenceNumber": str(sequence),
            "start": {
                "accountSid": info.account_sid,
                "streamSid": info.stream_sid,
                "callSid": info.call_sid,
                "tracks": list(info.tracks),
                "customParameters": dict(info.parameters),
                "mediaFormat": {
                    "encoding": ENCODING,
                    "sampleRate": SAMPLE_RATE,
                    "channels": CHANNELS,
                },
            },
            "streamSid": info.stream_sid,
        }
    )


def media(
    sequence: int, stream_sid: str, track: Track, *, chunk: int, timestamp_ms: int, ulaw: bytes
) -> str:
    """One chunk of a track's audio (µ-law), ``timestamp_ms`` after the stream began."""
    return _dump(
        {
            "event": "media",
            "sequenceNumber": str(sequence),
            "media": {
                "track": track,
                "chunk": str(chunk),
                "timestamp": str(timestamp_ms),
                "payload": base64.b64encode(ulaw).decode("ascii"),
            },
            "streamSid": stream_sid,
        }
    )


def dtmf(sequence: int, stream_sid: str, digit: str) -> str:
    """A key the caller pressed."""
    return _dump(
        {
            "event": "dtmf",
            "streamSid": stream_sid,
            "sequenceNumber": str(sequence),
            "dtmf": {"track": "inbound_track", "digit": digit},
        }
    )


def mark(sequence: int, stream_sid: str, name: str) -> str:
    """A client's mark, answered: the audio sent before it has played (or was cleared)."""
    return _dump(
        {
            "event": "mark",
            "sequenceNumber": str(sequence),
            "streamSid": stream_sid,
            "mark": {"name": name},
        }
    )


def stop(sequence: int, info: StreamInfo) -> str:
    """The last message: the stream stopped or the call ended."""
    return _dump(
        {
            "event": "stop",
            "sequenceNumber": str(sequence),
            "stop": {"accountSid": info.account_sid, "callSid": info.call_sid},
            "streamSid": info.stream_sid,
        }
    )


# -- what a client sends -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientMedia:
    """Audio to play to the caller (µ-law 8000 Hz, decoded from base64)."""

    ulaw: bytes
    stream_sid: str | None = None


@dataclass(frozen=True, slots=True)
class ClientMark:
    """Tell me when the audio sent so far has played."""

    name: str
    stream_sid: str | None = None


@dataclass(frozen=True, slots=True)
class ClientClear:
    """Drop the audio sent and not yet played."""

    stream_sid: str | None = None


@dataclass(frozen=True, slots=True)
class Unknown:
    """A well-formed message of an event the protocol does not take from a client."""

    event: str
    stream_sid: str | None = None


ClientMessage = ClientMedia | ClientMark | ClientClear | Unknown


def parse_client_message(data: str | bytes) -> ClientMessage:
    """Read one WebSocket message from the client.

    Raises StreamProtocolError when it cannot be read: a binary frame, text that is not
    JSON, JSON that is not an object with a string ``event``, a ``media`` without a
    base64 ``media.payload``, a ``mark`` without a string ``mark.name``, a ``streamSid``
    that is not a string."""
    if not isinstance(data, str):
        raise StreamProtocolError(
            "binary frame: Media Streams messages are JSON text (audio goes base64 in a "
            "media message)"
        )
    try:
        message = json.loads(data)
    except ValueError as exc:
        raise StreamProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(message, dict):
        raise StreamProtocolError(f"a message is a JSON object, not {type(message).__name__}")
    event = message.get("event")
    if not isinstance(event, str):
        raise StreamProtocolError("a message needs a string 'event'")
    stream_sid = message.get("streamSid")
    if stream_sid is not None and not isinstance(stream_sid, str):
        raise StreamProtocolError("'streamSid' must be a string")
    if event == "media":
        return ClientMedia(_payload(message.get("media")), stream_sid)
    if event == "mark":
        body = message.get("mark")
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str):
            raise StreamProtocolError("a mark message needs a string 'mark.name'")
        return ClientMark(name, stream_sid)
    if event == "clear":
        return ClientClear(stream_sid)
    return Unknown(event, stream_sid)


def _payload(body: object) -> bytes:
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, str):
        raise StreamProtocolError("a media message needs a string 'media.payload'")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise StreamProtocolError("'media.payload' is not base64") from None
