"""Call applications: the small interface for what runs on a call we answer or bridge.

An application is an object with one method, ``on_event(event) -> commands``. The call
gives it ``Started`` first, then one event per finished command (``PlayDone``,
``Gathered``, ``RecordDone``, ``BridgeResult``, ``TransferResult``, ``Paused``) and
``FarEndHungUp``; it answers with commands, queued and run in order. ``Play``, ``Gather``,
``Record``, ``Bridge``, ``Transfer`` and ``Pause`` hold the queue until they finish (as
TwiML verbs do); ``Answer``,
``TakeMessage`` and ``HangUp`` do not wait. With nothing queued the call simply goes on
(a greeting played, the caller still recorded) until a party hangs up.

The applications are pure (no I/O): the Twilio-compatible TwiML interpreter and the AI
receptionist are applications that fetch their next commands elsewhere and return them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dialtone.call.dialer import Step

# -- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the caller: at once, or after a 180 and ``ring_seconds`` of ringing (even
    0: a caller's phone then shows it rang)."""

    ring_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Play:
    """Play ``prompt`` to the caller (a file path; text once a speech engine exists)."""

    prompt: str
    beep: bool = True


@dataclass(frozen=True, slots=True)
class Gather:
    """Collect up to ``count`` digits; stop on ``finish_key`` or after ``timeout``
    seconds without one. ``Gathered(digits, timed_out)`` follows."""

    count: int
    timeout: float = 5.0
    finish_key: str | None = "#"


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller for at most ``max_seconds`` (or until ``finish_key``);
    ``RecordDone(path)`` follows."""

    max_seconds: float
    finish_key: str | None = "#"


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the caller to ``target`` ("user:<id>", "group:<id>", a number, resolved
    by the runtime through the policy decision path) or to ready ``steps``;
    ``BridgeResult(status)`` follows (200 when connected, else the failure)."""

    target: str | None = None
    steps: tuple[Step, ...] = ()


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


Command = (
    Answer | Play | Gather | Record | Bridge | Transfer | TakeMessage | Pause | HangUp | Redirect
)

# -- events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    """The call is set up (media ready) and waits for the application."""


@dataclass(frozen=True, slots=True)
class PlayDone:
    completed: bool = True


@dataclass(frozen=True, slots=True)
class Gathered:
    digits: str
    timed_out: bool


@dataclass(frozen=True, slots=True)
class RecordDone:
    path: str | None


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
    | TransferResult
    | Paused
    | DigitPressed
    | FarEndHungUp
)


class Application(Protocol):
    """What runs on a call: events in, commands out."""

    def on_event(self, event: AppEvent) -> Sequence[Command]: ...
