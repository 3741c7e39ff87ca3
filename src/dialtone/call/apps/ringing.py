"""Ringing people: a user's devices or a ring group's members, and what happens when
nobody takes the call (voicemail, or the caller hears why).

The engine only resolves who to ring (the steps) and the box a message would go to;
what a no answer, a busy or an unreachable callee becomes is decided here, on the call,
without I/O. One call record covers the ringing and the message, its leg chain keeping
the devices that declined (V11).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dialtone.call.application import (
    AppEvent,
    Bridge,
    BridgeResult,
    Command,
    HangUp,
    Started,
    TakeMessage,
    VoicemailBox,
)
from dialtone.call.dialer import Step


@dataclass(slots=True)
class RingThenVoicemail:
    """Ring ``steps`` (a user's devices, a ring group's members, a trunk); when nobody
    takes the call (no answer, busy, declined, nobody to ring), the message goes to
    ``box`` (None: the caller hears the failure). A callee's own refusal that its step
    passes back (a trunk's 486/603) goes to the caller: no voicemail hides it."""

    steps: tuple[Step, ...]
    box: VoicemailBox | None

    def on_event(self, event: AppEvent) -> Sequence[Command]:
        if isinstance(event, Started):
            if not self.steps:
                return self.no_answer(480)
            return [Bridge(steps=self.steps)]
        if isinstance(event, BridgeResult) and event.callee_refused:
            return [HangUp(event.status, f"callee-{event.status}")]
        if isinstance(event, BridgeResult) and event.status >= 300:
            return self.no_answer(event.status)
        return []

    def no_answer(self, status: int) -> Sequence[Command]:
        """Nobody took the call (``status`` says why): the box, else the caller hears it."""
        if self.box is None:
            return [HangUp(status, f"no-answer-{status}")]
        return [TakeMessage(self.box)]
