"""Call applications: the small interface for what runs on a call we answer or bridge.

An application is an object with one method, ``on_event(event) -> commands``. The call
gives it ``Started`` first, then one event per finished command (``PlayDone``,
``Gathered``, ``RecordDone``, ``BridgeResult``, ``TransferResult``, ``Paused``,
``TaskDone``, ``StreamEnded``), ``BridgeEnded`` when a bridged callee leaves a caller
the application keeps, and ``FarEndHungUp``; it answers with commands, queued and run in
order. ``Play``, ``SendDigits``, ``Gather``, ``Record``, ``Bridge``, ``Transfer``,
``Pause``, ``RunTask`` and a connected ``Stream`` hold the queue until they finish (as
TwiML verbs do); ``Answer``, ``TakeMessage``, ``HangUp``, a forked ``Stream`` and
``StopStream`` do not wait. With nothing queued the call simply goes on (a greeting
played, the caller still recorded) until a party hangs up.

The applications are pure (no I/O): what they need from outside (a TwiML document over
HTTP, speech synthesised, a calendar booked) is a ``RunTask``: the runtime runs the task
with the handler registered for its type and gives the result back in ``TaskDone``. The
Twilio-compatible TwiML interpreter and the AI receptionist are applications of this kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dialtone.call.audio_uses import Listen as Listen  # noqa: PLC0414  (re-exported)
from dialtone.call.audio_uses import Stream as Stream  # noqa: PLC0414
from dialtone.call.dialer import Step

# -- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the caller: at once, or after a 180 and ``ring_seconds`` of ringing (even
    0: a caller's phone then shows it rang)."""

    ring_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Play:
    """Play ``prompt`` (a WAV file's path: speech is synthesised to a file by a task
    first) to the caller ``loop`` times (0: until something interrupts it, as TwiML's
    ``loop="0"``), then the tone when ``beep``. With ``barge_in`` a digit (kept for the
    next ``Gather``) or the caller starting to speak stops it: ``PlayDone(False)``."""

    prompt: str
    beep: bool = True
    loop: int = 1
    barge_in: bool = False


@dataclass(frozen=True, slots=True)
class Gather:
    """Play ``prompts`` (TwiML's nested ``<Say>``, ``<Play>``, ``<Pause>``), then collect
    up to ``count`` digits; stop on ``finish_key`` or after ``timeout`` seconds without
    one. With ``speech``, what the caller says is recognised too (the first of digits or
    speech wins), listened for from the first prompt. A digit, or the caller starting to
    speak, stops the prompts. ``Gathered(digits, timed_out, speech)`` follows."""

    count: int
    timeout: float = 5.0
    finish_key: str | None = "#"
    speech: Listen | None = None
    prompts: tuple[Play | Pause, ...] = ()


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller for at most ``max_seconds`` (or until one of the keys in
    ``finish_key``, or ``silence`` seconds without speech when set) into ``path`` (None:
    the call's own message file), the tone first when ``beep``; ``RecordDone(path,
    seconds, digit)`` follows."""

    max_seconds: float
    finish_key: str | None = "#"
    silence: float | None = None
    beep: bool = False
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the caller to ``target`` ("user:<id>", "group:<id>", a number, resolved
    by the runtime through the policy decision path) or to ready ``steps``;
    ``BridgeResult(status)`` follows (200 when connected, else the failure).

    ``timeout`` bounds the ringing; ``caller_id`` is shown to the callee (TERMS V10: a
    number the account holds, checked by the decision path); ``record`` records both
    parties from the answer. With ``keep_caller`` the caller stays when the callee hangs
    up: ``BridgeEnded`` follows and the application goes on (TwiML's ``<Dial>``);
    without it the call ends with either party. ``note`` is shown to the callee before
    they answer: the INVITE's ``Subject`` (RFC 3261 §20.36, which phones display), the
    AI receptionist's summary of what the caller wants."""

    target: str | None = None
    steps: tuple[Step, ...] = ()
    timeout: float | None = None
    caller_id: str | None = None
    record: bool = False
    keep_caller: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand the caller to ``target`` ("user:<id>", "group:<id>", a number, resolved by the
    runtime through the policy decision path as a REFER's target is) or to ready
    ``steps``, and leave: a blind transfer made by the application. Connected, the
    application hears ``TransferResult(200)`` as its last event (what it answers is
    dropped, as is what it had queued); failed, ``TransferResult(status, reason)`` and
    the call goes on with it, as a failed REFER leaves the call as it was."""

    target: str | None = None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class VoicemailBox:
    """A box to leave a message in: its owner (None: the number's box), the number, the
    file the message goes to, the greeting, the longest message."""

    user_id: str | None
    number: str
    record_path: str
    greeting: str
    max_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class TakeMessage:
    """Voicemail: answer now, play the box's greeting and record the caller into it;
    the message is saved with the call's record (one record for the whole call)."""

    box: VoicemailBox


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call (``status`` is the SIP answer when the caller is not answered yet)."""

    status: int = 480
    cause: str = "application"


@dataclass(frozen=True, slots=True)
class Redirect:
    """The application is done with a caller it has not answered: the runtime decides
    what runs next (the route's voicemail, as before the core), or the caller hears
    ``status``. Like TwiML's ``<Redirect>``, without the URL."""

    status: int


@dataclass(frozen=True, slots=True)
class SendDigits:
    """Send ``digits`` (0-9, *, #, A-D) to the caller as RFC 4733 events, ``w`` waiting
    half a second (TwiML's ``<Play digits>``); ``PlayDone`` follows."""

    digits: str


@dataclass(frozen=True, slots=True)
class RunTask:
    """Have the runtime run ``task`` (a frozen dataclass whose type has a handler
    registered with the runtime: fetch a TwiML document, synthesise speech, book a
    slot); ``TaskDone(task, result, error)`` follows. The application stays pure."""

    task: Any  # a frozen dataclass the runtime has a handler for


@dataclass(frozen=True, slots=True)
class StopStream:
    """Stop the forked stream called ``name``."""

    name: str


Command = (
    Answer
    | Play
    | Gather
    | Record
    | Bridge
    | Transfer
    | TakeMessage
    | Pause
    | HangUp
    | Redirect
    | SendDigits
    | RunTask
    | Stream
    | StopStream
)

# -- events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    """The call is set up (media ready) and waits for the application; ``at`` is the
    call's clock then (the runtime's monotonic seconds: later events' ``at`` are
    measured on it; not part of the event's equality)."""

    at: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PlayDone:
    completed: bool = True


@dataclass(frozen=True, slots=True)
class Gathered:
    """What a ``Gather`` collected: digits, or (with ``Listen``) the words recognised and
    the engine's confidence (0 to 1). ``timed_out``: the caller gave neither."""

    digits: str
    timed_out: bool
    speech: str | None = None
    confidence: float | None = None
    # When the Gather ended, and when the speech-to-text engine gave its text (the
    # call's clock; for the AI receptionist's per-turn timings).
    at: float | None = field(default=None, compare=False)
    heard_at: float | None = field(default=None, compare=False)
    speech_ended_at: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class RecordDone:
    """A ``Record`` finished: the file (None when nothing was recorded), its length, and
    the key that ended it ("" for silence, ``max_seconds`` or the caller hanging up)."""

    path: str | None
    seconds: float = 0.0
    digit: str = ""


@dataclass(frozen=True, slots=True)
class BridgeResult:
    """200 when the bridge connected; else the status it failed with and the reason
    code when the target was refused."""

    status: int
    reason: str | None = None
    # The callee's own refusal that a step's rule sends back to the caller (a trunk's
    # 486/603): no fallback hides it.
    callee_refused: bool = False


@dataclass(frozen=True, slots=True)
class TransferResult:
    """How a ``Transfer`` went: 200 when the caller is connected to the target (the
    application is then done with the call); else the failure's status (486 busy, 408 or
    480 no answer, 404 nobody there) and the reason code when the target was refused."""

    status: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class BridgeEnded:
    """The callee of a ``Bridge(keep_caller=True)`` hung up after ``seconds`` connected;
    the caller is still there."""

    seconds: float


@dataclass(frozen=True, slots=True)
class TaskDone:
    """A ``RunTask`` finished: ``result`` is what its handler returned, or ``error`` says
    why it failed (the handler raised, or no handler knows the task's type)."""

    task: Any  # a frozen dataclass the runtime has a handler for
    result: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """A connected ``Stream`` closed (``error`` when it failed or never opened)."""

    name: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Paused:
    pass


@dataclass(frozen=True, slots=True)
class DigitPressed:
    """A digit outside a ``Gather`` (an application may act on it at once)."""

    digit: str


@dataclass(frozen=True, slots=True)
class FarEndHungUp:
    pass


AppEvent = (
    Started
    | PlayDone
    | Gathered
    | RecordDone
    | BridgeResult
    | BridgeEnded
    | TransferResult
    | Paused
    | TaskDone
    | StreamEnded
    | DigitPressed
    | FarEndHungUp
)


class Application(Protocol):
    """What runs on a call: events in, commands out."""

    def on_event(self, event: AppEvent) -> Sequence[Command]: ...
