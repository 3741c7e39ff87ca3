"""The dialog's contract: what the caller said (or did not) in, what to say and do out.

A dialog manager (a ``Brain``) is pure: it takes the ``DialogState`` it returned last,
one ``Input`` and the local time ``now``, and returns the next state and a ``Reply``
(sentences to speak, at most one ``Act``). The rules brain decides alone; the language
model brain asks for ``AskModel`` and hears back ``ModelAnswered``. Either way the acts
are the same values, carried out by the same code (the call application and the
runtime's task handlers), and the ``guard`` sees every input first (A2–A4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from dialtone.agents.profile import AgentProfile, TransferTarget

Outcome = Literal["booked", "message", "transferred", "answered", "abandoned"]
HandOverReason = Literal["asked", "emergency", "unsure"]

# Every text the agent produces for people to read is labelled with this (A4, V9).
AI_LABEL = "[AI-generated]"

# -- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Heard:
    """The caller's turn as the speech-to-text engine heard it (0–1 confidence)."""

    text: str
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Silence:
    """The caller said nothing within the wait."""


@dataclass(frozen=True, slots=True)
class Booked:
    """``BookAppointment`` done: the event is in the calendar from ``start``."""

    start: datetime
    minutes: int


@dataclass(frozen=True, slots=True)
class NotBooked:
    """``BookAppointment`` refused: the time is closed or taken (``alternatives`` are
    the nearest free starts), or the calendar failed (``error``)."""

    wanted: datetime
    alternatives: tuple[datetime, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HandOverFailed:
    """Nobody took the caller (busy, no answer, refused by a rule)."""

    status: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MessageTaken:
    """The caller's message is recorded (and transcribed when ``transcript``)."""

    transcript: str | None = None


@dataclass(frozen=True, slots=True)
class FollowUpSent:
    """``SendFollowUp`` done (``refused``: the rule code that refused it, e.g. M3)."""

    refused: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call a language model asked for (``arguments`` is its JSON text)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ModelAnswered:
    """A language model's answer to ``AskModel`` (``error`` when there was none)."""

    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    error: str | None = None


Input = (
    Heard
    | Silence
    | Booked
    | NotBooked
    | HandOverFailed
    | MessageTaken
    | FollowUpSent
    | ModelAnswered
)

# -- acts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookAppointment:
    """Book ``start`` (local, timezone-aware) for ``minutes`` in the profile's calendar,
    if within business hours and free. ``Booked`` or ``NotBooked`` follows."""

    start: datetime
    minutes: int
    caller_name: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class HandOver:
    """Bridge the caller to a human (``target`` None: the profile's first target), the
    ``summary`` shown to the human; the agent's part of the call ends when connected.
    ``HandOverFailed`` follows otherwise."""

    target: TransferTarget | None
    summary: str
    reason: HandOverReason = "asked"


@dataclass(frozen=True, slots=True)
class RecordMessage:
    """Record the caller's message (after the reply, with a tone) into a voicemail
    entry with its transcript. ``MessageTaken`` follows."""

    about: str = ""


@dataclass(frozen=True, slots=True)
class SendFollowUp:
    """Text the caller ``text`` (the profile's template filled), through messaging and
    its consent rules. ``FollowUpSent`` follows."""

    text: str


@dataclass(frozen=True, slots=True)
class AskModel:
    """Ask the profile's language model: ``messages`` as (role, content) pairs, the
    tools it may call named in ``tools``. ``ModelAnswered`` follows."""

    messages: tuple[tuple[str, str], ...]
    tools: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EndCall:
    """Say the reply, then hang up."""


Act = BookAppointment | HandOver | RecordMessage | SendFollowUp | AskModel | EndCall

# -- the turn ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """What the agent says (sentences, spoken in order, the first synthesised first)
    and the act to carry out after saying it (``AskModel`` before: the reply is then
    usually empty). ``outcome`` marks what the call achieved, for the report."""

    say: tuple[str, ...] = ()
    act: Act | None = None
    outcome: Outcome | None = None
    # Why the guard answered instead of the brain ("emergency", "advice", "identity").
    guarded: str | None = None


@dataclass(frozen=True, slots=True)
class DialogState:
    """What a brain remembers between turns. ``intent`` is the task under way
    ("booking", "message", …), ``slots`` what it has gathered (name → text), ``history``
    the conversation as (speaker, text) pairs, ``misses`` turns not understood in a row.
    ``pending`` holds a model conversation's tool call awaiting its result, as
    (tool call id, tool name)."""

    intent: str | None = None
    slots: tuple[tuple[str, str], ...] = ()
    history: tuple[tuple[str, str], ...] = ()
    misses: int = 0
    pending: tuple[tuple[str, str], ...] = field(default=())
    # The language model failed on this call (an error or a timeout): the rules brain
    # answers every input from then on (``ModelBrain``'s fallback).
    rules_only: bool = False

    def slot(self, name: str) -> str | None:
        """The value gathered for ``name``, if any."""
        for key, value in self.slots:
            if key == name:
                return value
        return None


class Brain(Protocol):
    """A dialog manager: pure, one input at a time."""

    def hear(
        self, profile: AgentProfile, state: DialogState, heard: Input, now: datetime
    ) -> tuple[DialogState, Reply]: ...
