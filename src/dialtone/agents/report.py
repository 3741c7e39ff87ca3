"""What the agent did on one call, kept after it (the issue's "report per call").

Built by the call application as the conversation goes, filed once when the call ends
(the runtime stores it; the API serves it, linked from the CDR). Everything in it that
the agent produced is labelled AI-generated (A4; V9 for the caller's transcribed words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dialtone.agents.turns import Outcome

Speaker = Literal["caller", "agent"]


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the transcript: who, what, when (seconds from the answer)."""

    speaker: Speaker
    text: str
    at: float


@dataclass(frozen=True, slots=True)
class TurnTiming:
    """One answer's latency, each stage in seconds on the call's clock from the answer:
    when the caller's words were recognised (``heard``), when the dialog had decided
    (``decided``), when the reply's first sentence was synthesised (``spoken``).
    ``speech_ended`` is the end of the caller's speech as the endpointer judged it,
    when the runtime knows it."""

    heard: float
    decided: float
    spoken: float | None = None
    speech_ended: float | None = None


@dataclass(frozen=True, slots=True)
class CallReport:
    """The report: the agent, the call, the outcome, a summary, the transcript, the
    turns' timings, and the rules that answered instead of the dialog (``guarded``:
    "emergency", "advice", "identity")."""

    agent_id: str
    account_id: str
    record_id: str
    caller: str
    number: str
    outcome: Outcome
    summary: str
    lines: tuple[Line, ...]
    timings: tuple[TurnTiming, ...]
    guarded: tuple[str, ...] = ()
    ai_generated: bool = True
