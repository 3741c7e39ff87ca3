"""The answering machine: a number's greeting with the caller recorded, and voicemail.

Ringing before voicemail is ``ringing.RingThenVoicemail``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dialtone.call.application import (
    Answer,
    AppEvent,
    Command,
    Play,
    Started,
    TakeMessage,
    VoicemailBox,
)


@dataclass(slots=True)
class Greeting:
    """Ring ``ring_seconds``, answer, play ``greeting``; the call records the caller from
    the start to its end (the file is the call's recording)."""

    greeting: str
    ring_seconds: float = 0.0

    def on_event(self, event: AppEvent) -> Sequence[Command]:
        if isinstance(event, Started):
            return [Answer(self.ring_seconds), Play(self.greeting)]
        return []


@dataclass(slots=True)
class Voicemail:
    """Take a message in ``box`` at once (no ringing)."""

    box: VoicemailBox

    def on_event(self, event: AppEvent) -> Sequence[Command]:
        if isinstance(event, Started):
            return [TakeMessage(self.box)]
        return []
