"""The answering machine: a number's greeting with the caller recorded, and voicemail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dialtone.call.application import (
    Answer,
    AppEvent,
    Bridge,
    BridgeResult,
    Command,
    HangUp,
    Play,
    Started,
    TakeMessage,
    VoicemailBox,
)
from dialtone.call.dialer import Step


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


@dataclass(slots=True)
class RingThenVoicemail:
    """Ring ``steps`` (a user's devices, a ring group); when nobody takes the call, the
    message goes to ``box`` (None: the caller hears the failure). One call record covers
    the ringing and the message, its leg chain listing the devices that declined."""

    steps: tuple[Step, ...]
    box: VoicemailBox | None

    def on_event(self, event: AppEvent) -> Sequence[Command]:
        if isinstance(event, Started):
            if not self.steps:
                return self._fallback(480)
            return [Bridge(steps=self.steps)]
        if isinstance(event, BridgeResult) and event.callee_refused:
            return [HangUp(event.status, f"callee-{event.status}")]
        if isinstance(event, BridgeResult) and event.status >= 300:
            return self._fallback(event.status)
        return []

    def _fallback(self, status: int) -> Sequence[Command]:
        if self.box is None:
            return [HangUp(status, f"no-answer-{status}")]
        return [TakeMessage(self.box)]
