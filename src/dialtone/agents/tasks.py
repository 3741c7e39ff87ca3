"""What the agent's call application asks of the runtime, as ``RunTask(task)``.

Frozen values; the runtime keeps a handler per type (``runtime/agent_calls.py``) and
gives the result back in ``TaskDone``. The application decides; the handlers do the
I/O: speech synthesis, the calendar, the voicemail box and its transcript, the text
message, the language model, the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialtone.agents.profile import AgentProfile
from dialtone.agents.report import CallReport
from dialtone.agents.turns import AskModel, BookAppointment


@dataclass(frozen=True, slots=True)
class Say:
    """Sentences to speak, in order. The handler answers (``Said``) as soon as the
    first is synthesised: the others are made while it plays."""

    sentences: tuple[str, ...]
    voice: str
    language: str


@dataclass(frozen=True, slots=True)
class Said:
    """The sentences' WAV files, in order; ``ready_at`` is when the first was ready
    (the call's clock: the reply's "TTS first frame")."""

    paths: tuple[str, ...]
    ready_at: float | None = None


@dataclass(frozen=True, slots=True)
class Book:
    """``BookAppointment`` in ``profile``'s calendar. Result: ``Booked`` or
    ``NotBooked`` (turns.py)."""

    profile: AgentProfile
    act: BookAppointment


@dataclass(frozen=True, slots=True)
class SaveMessage:
    """The caller's recorded message (``path``, None when nothing was recorded) into
    the voicemail box of ``profile``'s number, transcribed and labelled AI-generated
    (A4, V9). Result: ``MessageTaken``."""

    profile: AgentProfile
    path: str | None
    seconds: float
    caller: str
    number: str
    record_id: str
    about: str = ""


@dataclass(frozen=True, slots=True)
class TextCaller:
    """Text ``to`` from the agent's number, through messaging and its consent rules.
    Result: ``FollowUpSent``."""

    profile: AgentProfile
    to: str
    from_number: str
    text: str


@dataclass(frozen=True, slots=True)
class Consult:
    """Ask the profile's language model. Result: ``ModelAnswered``."""

    profile: AgentProfile
    act: AskModel


@dataclass(frozen=True, slots=True)
class FileReport:
    """Keep the call's report (idempotent by call). No result."""

    report: CallReport
