"""TwiML's verbs and nouns as frozen values, each attribute with Twilio's default.

``parse`` makes them (and checks them); ``interpreter`` and ``messaging`` run them.
Attributes that dialtone reads but does not act on are kept (so a document reads the
same here as at Twilio) and listed as such in docs/twiml.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Method = Literal["GET", "POST"]
Track = Literal["inbound_track", "outbound_track", "both_tracks"]

# -- voice ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Say:
    """Speak ``text`` (``loop`` times; 0: until interrupted, bounded by the interpreter)."""

    text: str
    voice: str | None = None
    language: str = "en-US"
    loop: int = 1


@dataclass(frozen=True, slots=True)
class Play:
    """Play the audio at ``url`` ``loop`` times, or send ``digits`` as DTMF (``w``: half a
    second's wait); with both, the digits first."""

    url: str | None = None
    loop: int = 1
    digits: str | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    length: int = 1


Prompt = Say | Play | Pause


@dataclass(frozen=True, slots=True)
class Gather:
    """Collect digits and/or speech while the nested prompts play.

    ``num_digits`` None: unlimited (until ``finish_on_key`` or ``timeout``);
    ``finish_on_key`` "": none; ``speech_timeout`` None: "auto" (the engine's end of
    turn), else seconds (default: ``timeout``)."""

    children: tuple[Prompt, ...] = ()
    input: frozenset[str] = frozenset({"dtmf"})
    num_digits: int | None = None
    timeout: int = 5
    finish_on_key: str = "#"
    action: str | None = None
    method: Method = "POST"
    speech_timeout: float | None = 5.0
    language: str = "en-US"
    hints: tuple[str, ...] = ()
    action_on_empty_result: bool = False
    barge_in: bool = True
    # Read, not acted on.
    partial_result_callback: str | None = None
    profanity_filter: bool = True
    speech_model: str | None = None
    enhanced: bool = False


@dataclass(frozen=True, slots=True)
class Number:
    number: str
    send_digits: str | None = None
    url: str | None = None
    method: Method = "POST"
    status_callback: str | None = None
    status_callback_event: frozenset[str] = frozenset()
    status_callback_method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Sip:
    uri: str
    username: str | None = None
    password: str | None = None
    url: str | None = None
    method: Method = "POST"
    status_callback: str | None = None
    status_callback_event: frozenset[str] = frozenset()
    status_callback_method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Client:
    identity: str
    url: str | None = None
    method: Method = "POST"
    status_callback: str | None = None
    status_callback_event: frozenset[str] = frozenset()
    status_callback_method: Method = "POST"
    parameters: tuple[tuple[str, str], ...] = ()


Noun = Number | Sip | Client


@dataclass(frozen=True, slots=True)
class Dial:
    """Connect the caller to the first of ``nouns`` (a plain-text number is a
    ``Number``). ``record`` is Twilio's record mode reduced to record-or-not."""

    nouns: tuple[Noun, ...]
    action: str | None = None
    method: Method = "POST"
    timeout: int = 30
    caller_id: str | None = None
    record: bool = False
    record_mode: str = "do-not-record"
    hangup_on_star: bool = False
    answer_on_bridge: bool = False
    time_limit: int = 14400
    trim: str = "do-not-trim"
    recording_status_callback: str | None = None
    recording_status_callback_method: Method = "POST"
    recording_status_callback_event: frozenset[str] = frozenset({"completed"})
    ring_tone: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller. ``timeout`` is the silence that ends it (0: none);
    ``finish_on_key`` the keys that end it ("" none)."""

    action: str | None = None
    method: Method = "POST"
    timeout: int = 5
    finish_on_key: str = "1234567890*#"
    max_length: int = 3600
    play_beep: bool = True
    trim: str = "trim-silence"
    recording_status_callback: str | None = None
    recording_status_callback_method: Method = "POST"
    recording_status_callback_event: frozenset[str] = frozenset({"completed"})
    transcribe: bool = False
    transcribe_callback: str | None = None


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


@dataclass(frozen=True, slots=True)
class Reject:
    reason: Literal["rejected", "busy"] = "rejected"


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str
    method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Stream:
    """A media stream (``<Stream>`` inside ``<Connect>``, ``<Start>`` or ``<Stop>``)."""

    url: str | None = None
    name: str = ""
    track: Track = "inbound_track"
    parameters: tuple[tuple[str, str], ...] = ()
    status_callback: str | None = None
    status_callback_method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Connect:
    """The caller talks to the stream until it closes; then ``action`` or the next verb."""

    stream: Stream
    action: str | None = None
    method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Start:
    """A stream forked alongside what runs next."""

    stream: Stream
    action: str | None = None
    method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop the forked stream called ``name``."""

    name: str


VoiceVerb = (
    Say
    | Play
    | Pause
    | Gather
    | Dial
    | Record
    | Hangup
    | Reject
    | Redirect
    | Connect
    | Start
    | Stop
)


@dataclass(frozen=True, slots=True)
class VoiceResponse:
    verbs: tuple[VoiceVerb, ...]


# -- messaging --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """A reply. ``media`` is read but not sent: dialtone sends SMS, not MMS."""

    body: str
    to: str | None = None
    from_: str | None = None
    action: str | None = None
    method: Method = "POST"
    status_callback: str | None = None
    media: tuple[str, ...] = ()


MessagingVerb = Message | Redirect


@dataclass(frozen=True, slots=True)
class MessagingResponse:
    verbs: tuple[MessagingVerb, ...]
