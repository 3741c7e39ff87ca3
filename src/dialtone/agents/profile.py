"""An agent's profile (TERMS A1): who it is, what it knows, what it may do.

One profile per agent; a number whose route kind is ``agent`` is answered by it. These
are plain values the services build from the database; the dialog and the call
application read them and never change them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Literal

Purpose = Literal["sales", "marketing", "customer_service", "technical_support", "custom"]
TargetKind = Literal["user", "group", "number"]
DialogEngine = Literal["rules", "llm"]

# The call ends after this long whatever is said (A1's "end the call after a set
# duration"); a profile may shorten or lengthen it.
DEFAULT_MAX_CALL_SECONDS = 600
# An appointment's length when the profile gives none.
DEFAULT_APPOINTMENT_MINUTES = 30
# Endpointing: the caller's turn ends after this much silence (the 300–500 ms).
DEFAULT_END_SILENCE_MS = 400


@dataclass(frozen=True, slots=True)
class KnowledgeEntry:
    """One question the agent can answer, with its answer (A1's knowledge base; bulk
    CSV import of ``question,answer`` rows)."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class OpenHours:
    """One window of a week day: ``weekday`` 0 = Monday … 6 = Sunday, local times,
    ``closes`` exclusive (a slot must end by then)."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """Someone the agent may hand a caller to: a user, a ring group or an outside
    number (checked by the decision path like any transfer). ``label`` is how the
    caller may ask for it ("sales", "Alice")."""

    kind: TargetKind
    ref: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class CalendarRef:
    """The booking calendar: a CalDAV collection URL and its credentials (the password
    is unsealed by the services only for the calendar task)."""

    url: str
    username: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True)
class ModelRef:
    """An OpenAI-compatible chat endpoint (may be a local server) for ``dialog="llm"``."""

    url: str
    model: str
    api_key: str = ""
    timeout_seconds: float = 4.0


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """Everything an agent is (A1). ``greeting`` follows the fixed AI disclosure (A2),
    which no greeting can replace; ``instructions`` are the behaviour prompt (used by
    the language model; the rules dialog reads the knowledge and targets instead);
    ``timezone`` is an IANA name for ``hours`` and appointments."""

    id: str
    account_id: str
    name: str
    greeting: str = "How can I help you today?"
    purpose: Purpose = "customer_service"
    instructions: str = ""
    languages: tuple[str, ...] = ("en-US",)
    voice: str = "heart"
    knowledge: tuple[KnowledgeEntry, ...] = ()
    hours: tuple[OpenHours, ...] = ()
    timezone: str = "UTC"
    calendar: CalendarRef | None = None
    appointment_minutes: int = DEFAULT_APPOINTMENT_MINUTES
    transfer_targets: tuple[TransferTarget, ...] = ()
    take_messages: bool = True
    sms_template: str | None = None
    max_call_seconds: int = DEFAULT_MAX_CALL_SECONDS
    end_silence_ms: int = DEFAULT_END_SILENCE_MS
    dialog: DialogEngine = "rules"
    model: ModelRef | None = None
    business_name: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def language(self) -> str:
        """The language the agent speaks first."""
        return self.languages[0] if self.languages else "en-US"
