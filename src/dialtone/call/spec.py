"""What a call is about and the small pieces its parts share: its states, its spec
(what the record will say), the command holding the application's queue, and readers of
SIP and SDP (a record's outcome, a DTMF INFO, the codecs of an offer)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from dialtone.call import application as app
from dialtone.call.context import SignallingPath, Trace
from dialtone.sip.endpoint import RequestReceived
from dialtone.sip.errors import SipParseError
from dialtone.sip.message import Request, Response, make_response
from dialtone.sip.sdp import SessionDescription

if TYPE_CHECKING:
    from dialtone.call.call import Call

# A party answered with no codec (or no audio stream) we offered: nothing can be relayed.
CODEC_MISMATCH = "media.codec_mismatch"


class CallState(enum.Enum):
    SETTING_UP = "setting-up"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDING = "ending"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class RecordingPlan:
    """TERMS V8 for a bridged call: the file, the account's policy ("notice" or
    "one_party") and the notice prompt."""

    path: str
    policy: str
    notice: str


@dataclass(frozen=True, slots=True)
class CallSpec:
    """Who and what a call is about: what its record will say, decided before it starts."""

    record_id: str
    account_id: str
    direction: str
    from_number: str
    to_number: str
    started_at: datetime
    legs: tuple[Trace, ...] = ()
    # The user the record names (the callee, a box's owner); set when a member answers.
    user_id: str | None = None
    # The user whose device placed the call (or who clicked to call), counted by V2.
    caller_user_id: str | None = None
    trunk_id: str | None = None
    # Everyone V2 counts this call against (devices rung are added as they are).
    users: frozenset[str] = frozenset()
    # The caller recorded from the start into this file (the answering machine).
    record_path: str | None = None
    voicemail: tuple[str | None, str] | None = None
    max_seconds: float | None = None
    recording: RecordingPlan | None = None
    # A refused offer (488) or no media (503) writes a record (the answering machine
    # does; the B2BUA refuses before anything is set up and writes none).
    record_refusals: bool = True
    # The wall-clock time of the ``now`` the call is made at, when that is not its start
    # (voicemail after ringing: the call started when the INVITE arrived).
    created_at: datetime | None = None
    # The application acts on digits (RFC 4733 on the relay's sides; a one-sided
    # session always reports them, it costs one comparison a packet).
    listen_digits: bool = False


def outcome_name(sip_status: int) -> str:
    """The record's status for a call that was never answered."""
    if sip_status in (486, 600):
        return "busy"
    if sip_status in (408, 480):
        return "no-answer"
    if sip_status == 487:
        return "canceled"
    return "failed"


def dtmf_digit(request: Request) -> str | None:
    """The digit of a SIP INFO in application/dtmf-relay ("Signal=5")."""
    content_type = (request.headers.get("Content-Type") or "").lower()
    if not content_type.startswith("application/dtmf-relay"):
        return None
    for line in request.body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and value.strip():
            return value.strip()[:1]
    return None


@dataclass(slots=True)
class Busy:
    """The application command holding the queue."""

    # "answer", "play", "gather", "record", "bridge", "transfer", "pause", "resolve",
    # "media", "task", "stream"
    kind: str
    ref: int = 0
    digits: str = ""
    command: app.Command | None = None
    started: float = 0.0  # when a Record began (its length)
    path: str | None = None  # the file a Record writes
    # A Gather's prompts still to play, and the one playing (its Play's ref; -1 a
    # pause; 0 none: the Gather waits for input).
    prompts: list[app.Play | app.Pause] = field(default_factory=list)
    prompt_ref: int = 0
    playing: app.Play | None = None  # the prompt whose Play is prompt_ref
    # The prompts the caller's speech stopped (the one playing first): a noise that
    # turns out to be no words gives them back.
    interrupted: list[app.Play | app.Pause] = field(default_factory=list)


class Idle:
    """The application of a call that needs none (click-to-call)."""

    def on_event(self, event: app.AppEvent) -> Sequence[app.Command]:
        return []


def codecs_of(body: bytes) -> str:
    """The audio codecs an SDP body lists, for a log line ("PCMU", "PCMA, PCMU")."""
    try:
        sdp = SessionDescription.parse(body)
    except SipParseError:
        return "an unreadable SDP"
    names = [
        rtpmap.encoding
        for media in sdp.media
        if media.media == "audio"
        for rtpmap in media.rtpmaps().values()
        if rtpmap.encoding.lower() != "telephone-event"
    ]
    return ", ".join(dict.fromkeys(names)) or "no audio codec"


def passed_headers(response: Response | None) -> tuple[tuple[str, str], ...]:
    """A callee's refusal goes back to the caller with why (Reason, Warning, Retry-After)."""
    if response is None:
        return ()
    return tuple(
        (name, value)
        for name, value in response.headers
        if name in ("Reason", "Warning", "Retry-After")
    )


def response_to(event: RequestReceived, status: int) -> Response:
    return make_response(event.request, status)


def path_of(call: Call, event: RequestReceived) -> SignallingPath:
    leg = call.a or call.b
    assert leg is not None
    return leg.path
