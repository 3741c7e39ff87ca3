"""What a call asks the runtime to do: frozen values, executed in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialtone.call.audio_uses import Listen as ListenTo
from dialtone.call.audio_uses import Stream
from dialtone.call.context import Address, SignallingPath, Trace
from dialtone.sip.message import Request, Response
from dialtone.sip.sdp import NegotiatedAudio
from dialtone.sip.transaction import ServerTransaction


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Send ``request`` to ``peer`` on ``path`` (a client transaction, or an ACK)."""

    path: SignallingPath
    request: Request
    peer: Address


@dataclass(frozen=True, slots=True)
class SendResponse:
    """Answer ``transaction`` (a request received on ``path``) with ``response``."""

    path: SignallingPath
    transaction: ServerTransaction
    response: Response


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Feed ``TimerFired(name)`` at ``at`` (the clock ``now`` is read on); replaces a
    timer of the same name."""

    name: str
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What the call record (CDR) says, and the crash note beside a recording (TERMS D5)
    while the call lasts. Times are wall-clock, derived from the call's start."""

    record_id: str
    account_id: str
    direction: str
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    sip_call_id: str
    sip_local_tag: str
    legs: tuple[Trace, ...] = ()
    user_id: str | None = None
    caller_user_id: str | None = None
    trunk_id: str | None = None
    # Set on the final record only.
    ended_at: datetime | None = None
    status: str = ""
    hangup_cause: str = ""
    recording_path: str | None = None
    # A voicemail box's message: (box owner or None for the number's box, the number).
    voicemail: tuple[str | None, str] | None = None


@dataclass(frozen=True, slots=True)
class OpenMedia:
    """Open the call's media: one RTP session facing the caller (``sides`` = 1; it
    records the caller into ``record_path`` from the start when given), or a two-socket
    relay (``sides`` = 2). Answered by ``MediaOpened`` or ``MediaUnavailable``."""

    sides: int
    audio: NegotiatedAudio
    record_path: str | None = None
    facts: CallRecord | None = None
    # Report RFC 4733 digits (``Digit`` events): for calls an application runs.
    digits: bool = False


@dataclass(frozen=True, slots=True)
class SetRemote:
    """Where relay side ``side`` sends (a new party there: its old one is ignored)."""

    side: int
    address: Address
    new_party: bool = False


@dataclass(frozen=True, slots=True)
class Play:
    """Play the WAV file ``prompt`` to ``sides`` ``loop`` times (0: until stopped);
    ``PlayDone(ref)`` follows. ``beep``: a short tone after it."""

    sides: tuple[int, ...]
    prompt: str
    ref: int
    beep: bool = True
    loop: int = 1


@dataclass(frozen=True, slots=True)
class StopPlay:
    """Stop what ``Play(ref)`` or ``SendDigits(ref)`` is sending (its ``PlayDone`` is
    no longer awaited)."""

    ref: int


@dataclass(frozen=True, slots=True)
class SendDigits:
    """Send ``digits`` to ``side`` as RFC 4733 events (``w``: half a second's wait);
    ``PlayDone(ref)`` follows."""

    side: int
    digits: str
    ref: int


@dataclass(frozen=True, slots=True)
class Listen:
    """Recognise what the caller (side 0) says: ``SpeechStarted(ref)`` once speech
    begins, ``SpeechHeard(ref, …)`` at its end."""

    ref: int
    speech: ListenTo


@dataclass(frozen=True, slots=True)
class StopListening:
    ref: int


@dataclass(frozen=True, slots=True)
class WatchSilence:
    """``Silence(ref)`` once the caller has not spoken for ``seconds`` (a ``Record``'s
    end on silence)."""

    ref: int
    seconds: float


@dataclass(frozen=True, slots=True)
class StopWatching:
    ref: int


@dataclass(frozen=True, slots=True)
class RunTask:
    """Run an application's ``task`` with the handler registered for its type;
    ``TaskFinished(ref, …)`` follows, unless ``ref`` is 0 (the call has ended: the task
    runs, nobody waits for it)."""

    task: Any  # a frozen dataclass the runtime has a handler for
    ref: int


@dataclass(frozen=True, slots=True)
class StartStream:
    """Open the media stream ``stream`` on the call's audio; ``StreamClosed(name, …)``
    follows when it closes."""

    stream: Stream


@dataclass(frozen=True, slots=True)
class StopStream:
    name: str


@dataclass(frozen=True, slots=True)
class StartRecording:
    """Record the relay's two sides to ``path`` (stereo), with the crash note; the tone
    to the caller first when ``beep``."""

    path: str
    audio: NegotiatedAudio
    facts: CallRecord
    beep: bool = False


@dataclass(frozen=True, slots=True)
class StopRecording:
    """Stop recording; ``discard`` deletes what was recorded (an objection, V8)."""

    discard: bool


@dataclass(frozen=True, slots=True)
class NoteFacts:
    """The crash note beside the running recording says this now (D5)."""

    facts: CallRecord


@dataclass(frozen=True, slots=True)
class CloseMedia:
    """Stop media; ``discard_recording``: the call was never answered, drop its file."""

    discard_recording: bool = False


@dataclass(frozen=True, slots=True)
class WriteRecord:
    """Commit the call record (and the voicemail message with it, when ``record.voicemail``
    and ``record.recording_path``); ``RecordWritten(ref, ok)`` follows. The recording is
    synced to disk first."""

    record: CallRecord
    ref: int


@dataclass(frozen=True, slots=True)
class ResolveTarget:
    """Resolve ``target`` (a REFER's Refer-To URI, a user, a group, a number) to steps
    through the policy decision path; ``TargetResolved(ref, ...)`` follows. An
    application's ``caller_id`` is checked there too (TERMS V10)."""

    target: str
    ref: int
    kind: str = "refer"
    caller_id: str | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    """The application let go of a caller not yet answered: hand the INVITE to what
    comes next (voicemail), then feed ``Redirected(ref, taken)``."""

    status: int
    ref: int


@dataclass(frozen=True, slots=True)
class Warn:
    """Something an operator should read in the log (rare: a party hung up at once for
    a codec we did not offer); the core logs nothing itself."""

    text: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over: the runtime forgets it (its record is written)."""

    record_id: str


Action = (
    SendRequest
    | SendResponse
    | SetTimer
    | CancelTimer
    | OpenMedia
    | SetRemote
    | Play
    | StopPlay
    | SendDigits
    | Listen
    | StopListening
    | WatchSilence
    | StopWatching
    | RunTask
    | StartStream
    | StopStream
    | StartRecording
    | StopRecording
    | NoteFacts
    | CloseMedia
    | WriteRecord
    | ResolveTarget
    | Redirect
    | Warn
    | CallEnded
)
