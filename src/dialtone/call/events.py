"""What the runtime feeds a call (besides the SIP endpoint's own events, passed as they
are: ``RequestReceived``, ``AckReceived``, ``CancelReceived``, ``ResponseReceived``,
``TransactionTimedOut``, ``StraySuccess``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialtone.call import application as app
from dialtone.call.dialer import Step
from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    RequestReceived,
    StraySuccess,
)
from dialtone.sip.transaction import ResponseReceived, TransactionTimedOut


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer the call set with ``SetTimer(name, at)`` is due."""

    name: str


@dataclass(frozen=True, slots=True)
class MediaOpened:
    """The media asked for by ``OpenMedia`` is ready: its local RTP port per side."""

    ports: tuple[int, ...]


# Why media was not opened: no RTP port left (the record's hangup cause), or rtpengine.
PORTS_EXHAUSTED = "rtp-ports-exhausted"
ENGINE_UNAVAILABLE = "media.engine_unavailable"


@dataclass(frozen=True, slots=True)
class MediaUnavailable:
    """``OpenMedia`` could not be served: the call is refused 503. ``reason``: no RTP
    port left (the default), or ``media.engine_unavailable`` (rtpengine did not answer
    or refused; the 503 carries it in a Reason header)."""

    reason: str = "rtp-ports-exhausted"  # PORTS_EXHAUSTED


@dataclass(frozen=True, slots=True)
class PlayDone:
    """The prompt started by ``Play(..., ref)`` has played in full (or was stopped)."""

    ref: int
    completed: bool = True


@dataclass(frozen=True, slots=True)
class Digit:
    """A DTMF digit from the party on relay side ``side``: an RFC 4733 end-of-event
    (deduplicated by the media side) or a SIP INFO (application/dtmf-relay)."""

    side: int
    digit: str


@dataclass(frozen=True, slots=True)
class RecordWritten:
    """The call record asked for by ``WriteRecord(..., ref)`` was committed (``ok``) or
    could not be (the store failed)."""

    ref: int
    ok: bool


@dataclass(frozen=True, slots=True)
class Refusal:
    """A target that may not be called: the SIP status and the reason code (TERMS)."""

    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class TargetResolved:
    """The answer to ``ResolveTarget(..., ref)``: the steps that reach it, or a refusal
    (the same codes the policy decision path gives a direct call)."""

    ref: int
    steps: tuple[Step, ...] = ()
    refusal: Refusal | None = None


@dataclass(frozen=True, slots=True)
class HangUp:
    """An application command from outside (the API): end the call from our side; a
    caller not answered yet hears ``status``."""

    cause: str = "api-hangup"
    status: int = 480


@dataclass(frozen=True, slots=True)
class Redirected:
    """The answer to ``Redirect(status, ref)``: ``taken`` when something else took the
    caller (this call then ends without a record: the next one writes it), else the
    caller hears the status."""

    ref: int
    taken: bool


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """The answer to ``RunTask(task, ref)``: what the handler returned, or why it
    failed."""

    ref: int
    result: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The caller began to speak during ``Listen(ref)``."""

    ref: int


@dataclass(frozen=True, slots=True)
class SpeechHeard:
    """What the caller said during ``Listen(ref)`` ("" when nothing was recognised)."""

    ref: int
    text: str
    confidence: float | None = None
    # When the engine gave the text (the call's clock; not part of equality).
    heard_at: float | None = field(default=None, compare=False)
    # When the endpointer judged the speech over (the call's clock; not in equality).
    ended_at: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Silence:
    """``WatchSilence(ref, seconds)``: the caller has been silent that long."""

    ref: int


@dataclass(frozen=True, slots=True)
class StreamClosed:
    """The media stream ``name`` closed (``error`` when it failed or never opened)."""

    name: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Interrupt:
    """From outside (the API's live redirect, Calls.update with Url or Twiml): stop
    what the application is doing, drop its queue and run ``commands`` instead (the
    application, told by the runtime, made them)."""

    commands: tuple[app.Command, ...]


@dataclass(frozen=True, slots=True)
class ObjectToRecording:
    """TERMS V8: a party objects; the recording stops and what was recorded is deleted."""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """The platform stops: answered calls get BYE, ringing ones 480, records written."""


SipEvent = (
    RequestReceived
    | AckReceived
    | CancelReceived
    | ResponseReceived
    | TransactionTimedOut
    | StraySuccess
)

Event = (
    SipEvent
    | TimerFired
    | MediaOpened
    | MediaUnavailable
    | PlayDone
    | Digit
    | RecordWritten
    | TargetResolved
    | HangUp
    | Redirected
    | TaskFinished
    | SpeechStarted
    | SpeechHeard
    | Silence
    | StreamClosed
    | Interrupt
    | ObjectToRecording
    | Shutdown
)
