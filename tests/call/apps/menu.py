"""The example call application of issue 14: play a prompt, gather two digits, bridge to
a user on 1, record a message on 2 (anything else: the prompt again, then goodbye)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dialtone.call.application import (
    Answer,
    AppEvent,
    Bridge,
    BridgeResult,
    Command,
    Gather,
    Gathered,
    HangUp,
    Play,
    Record,
    RecordDone,
    Started,
)
from dialtone.call.dialer import Step


@dataclass
class Menu:
    prompt: str
    user: tuple[Step, ...] | str  # ready steps, or a target the runtime resolves
    tries: int = 2
    heard: list[str] = field(default_factory=list)  # what the caller pressed, in order

    def on_event(self, event: AppEvent) -> Sequence[Command]:
        if isinstance(event, Started):
            return [Answer(), *self._ask()]
        if isinstance(event, Gathered):
            self.heard.append(event.digits)
            choice = event.digits[:1]
            if choice == "1":
                if isinstance(self.user, str):
                    return [Bridge(target=self.user)]
                return [Bridge(steps=self.user)]
            if choice == "2":
                return [Record(max_seconds=30, finish_key="#")]
            self.tries -= 1
            return self._ask() if self.tries > 0 else [HangUp(cause="menu-no-choice")]
        if isinstance(event, RecordDone):
            return [HangUp(cause="message-left")]
        if isinstance(event, BridgeResult) and event.status >= 300:
            return [HangUp(cause=f"bridge-{event.status}")]
        return []

    def _ask(self) -> list[Command]:
        return [Play(self.prompt), Gather(count=2, timeout=3.0, finish_key="#")]
