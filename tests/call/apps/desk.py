"""A reception desk: play a prompt, gather one digit, transfer the caller to a user on 1
(blind: the desk leaves the call once connected); a failed transfer is heard as its
``TransferResult``, and the desk says goodbye with the status in the hang-up cause."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dialtone.call.application import (
    Answer,
    AppEvent,
    Command,
    Gather,
    Gathered,
    HangUp,
    Play,
    Started,
    Transfer,
    TransferResult,
)


@dataclass
class Desk:
    prompt: str
    target: str  # "user:<id>", "group:<id>" or a number, resolved by the runtime
    heard: list[str] = field(default_factory=list)  # the digits pressed
    results: list[TransferResult] = field(default_factory=list)  # the transfers' outcomes

    def on_event(self, event: AppEvent) -> Sequence[Command]:
        if isinstance(event, Started):
            return [Answer(), Play(self.prompt), Gather(count=1, timeout=5.0, finish_key=None)]
        if isinstance(event, Gathered):
            self.heard.append(event.digits)
            if event.digits == "1":
                return [Transfer(target=self.target)]
            return [HangUp(cause="desk-no-choice")]
        if isinstance(event, TransferResult):
            self.results.append(event)
            if event.status != 200:
                return [Play(self.prompt, beep=False), HangUp(cause=f"transfer-{event.status}")]
        return []
