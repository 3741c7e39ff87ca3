"""Connect: "reach someone for relay side S through these steps".

Each step's destinations ring in parallel, the steps in turn; a step has a timeout (a
timer) and a failover rule: a trunk's 408/5xx/timeout moves on to the next trunk, its
486/603 does not (``trunk_failover``); devices move on after any failure
(``ring_failover``). Parallel failures merge, busy winning (``merge_status``). The first
2xx the call accepts wins and the others are CANCELled; a late 2xx gets ACK and BYE (the
leg does that). One mechanism serves the inbound B2BUA, both sides of click-to-call,
REFER and an application's bridge.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from dialtone.call.actions import Action, CancelTimer, SetTimer
from dialtone.call.context import Ids
from dialtone.call.leg import Destination, InviteResult, OutgoingLeg
from dialtone.sip.message import Response


def trunk_failover(status: int) -> bool:
    """Whether a trunk's final answer moves on to the next trunk (408, 5xx, timeout), or
    goes back to the caller (486 Busy, 603 Decline and every other refusal)."""
    return status == 408 or 500 <= status < 600


def ring_failover(status: int) -> bool:
    """Ringing devices: any failure moves on (busy and no answer go to the next step or
    to voicemail)."""
    return True


def merge_status(previous: int | None, status: int) -> int:
    """The status to give the caller when parallel destinations all failed: busy (486,
    6xx) wins over no answer (RFC 3261 §16.7 picks the "best" response in that spirit)."""
    if previous is None:
        return status
    if 600 <= previous < 700 or previous == 486:
        return previous
    if 600 <= status < 700 or status == 486:
        return status
    return status


@dataclass(frozen=True, slots=True)
class Step:
    """Destinations rung together, for ``timeout`` seconds (None: until they answer)."""

    destinations: tuple[Destination, ...]
    timeout: float | None
    failover: Callable[[int], bool] = ring_failover


class ConnectState(enum.Enum):
    IDLE = "idle"
    RINGING = "ringing"
    ANSWERED = "answered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Outcome(enum.Enum):
    """What a connect tells its call after an input."""

    NOTHING = "nothing"
    PROVISIONAL = "provisional"  # a leg rings (or sends early media): ``leg``, ``response``
    ANSWER = "answer"  # a leg answered: the call accepts it (``won``) or not (``reject``)
    LEG_FAILED = "leg-failed"  # one leg failed, others still ring (for the leg chain)
    FAILED = "failed"  # every step failed: ``status`` (and the last ``response``)


@dataclass(slots=True)
class Update:
    """A connect's answer to one input: the actions to run and what happened."""

    actions: list[Action] = field(default_factory=list)
    outcome: Outcome = Outcome.NOTHING
    leg: OutgoingLeg | None = None
    response: Response | None = None
    status: int = 0


@dataclass(eq=False, slots=True)
class Connect:
    """Ring ``steps`` for relay side ``side``; ``offer(side)`` builds each INVITE's SDP."""

    name: str
    side: int
    steps: tuple[Step, ...]
    offer: Callable[[int], bytes]
    ids: Ids
    # The status a step's timeout counts as: 480 for the inbound call's own steps (the
    # caller hears "temporarily unavailable"), 408 for a transfer or click-to-call.
    timeout_status: int = 480
    allow: str | None = None
    state: ConnectState = ConnectState.IDLE
    step: int = -1
    legs: list[OutgoingLeg] = field(default_factory=list)
    status: int | None = None
    winner: OutgoingLeg | None = None

    @property
    def timer(self) -> str:
        return f"step:{self.name}"

    @property
    def ringing(self) -> list[OutgoingLeg]:
        return [leg for leg in self.legs if leg.ringing]

    def start(self, now: float) -> Update:
        """Ring the first step (or the next one after a failure)."""
        self.state = ConnectState.RINGING
        return self._next_step(now, Update())

    def _next_step(self, now: float, update: Update) -> Update:
        while True:
            self.step += 1
            if self.step >= len(self.steps):
                return self._fail(update)
            step = self.steps[self.step]
            if step.destinations:
                break
        self.legs = []
        self.status = None
        for destination in step.destinations:
            offer = self.offer(self.side)
            leg, actions = OutgoingLeg.dial(
                destination, side=self.side, ids=self.ids, offer=offer, allow=self.allow
            )
            self.legs.append(leg)
            update.actions.extend(actions)
        if step.timeout is not None:
            update.actions.append(SetTimer(self.timer, now + step.timeout))
        return update

    def _fail(self, update: Update) -> Update:
        self.state = ConnectState.FAILED
        update.outcome = Outcome.FAILED
        update.status = self.status if self.status is not None else self.timeout_status
        return update

    def owns(self, leg: OutgoingLeg) -> bool:
        return leg in self.legs

    def on_response(self, leg: OutgoingLeg, response: Response, now: float) -> Update:
        """A response to one of this connect's INVITEs."""
        result, actions = leg.on_invite_response(response, self.ids)
        update = Update(actions=actions, leg=leg, response=response)
        if self.state is not ConnectState.RINGING:
            if result is InviteResult.ANSWERED:
                # Answered after the connect was settled (a second device): hang it up.
                update.actions.extend(leg.bye())
            return update
        if result is InviteResult.PROVISIONAL:
            update.outcome = Outcome.PROVISIONAL
        elif result is InviteResult.ANSWERED:
            update.outcome = Outcome.ANSWER
        elif result is InviteResult.FAILED:
            return self._leg_failed(leg, response.status, now, update)
        return update

    def on_timeout(self, leg: OutgoingLeg, now: float) -> Update:
        """The INVITE's transaction timed out (Timer B): the leg counts as a 408."""
        update = Update(leg=leg)
        if leg.timed_out() and self.state is ConnectState.RINGING:
            return self._leg_failed(leg, 408, now, update)
        return update

    def reject(self, leg: OutgoingLeg, status: int, now: float) -> Update:
        """The call refused a leg that answered (e.g. a codec it did not offer): the leg
        is hung up and counts as failed with ``status``."""
        update = Update(actions=leg.bye(), leg=leg)
        return self._leg_failed(leg, status, now, update)

    def _leg_failed(self, leg: OutgoingLeg, status: int, now: float, update: Update) -> Update:
        self.status = merge_status(self.status, status)
        update.status = status
        if self.ringing:
            update.outcome = Outcome.LEG_FAILED
            return update
        step = self.steps[self.step]
        update.actions.append(CancelTimer(self.timer))
        final = self.status
        if not step.failover(final):
            self.state = ConnectState.FAILED
            update.outcome = Outcome.FAILED
            update.status = final
            return update
        update.outcome = Outcome.LEG_FAILED
        more = self._next_step(now, Update())
        update.actions.extend(more.actions)
        if more.outcome is Outcome.FAILED:
            update.outcome = Outcome.FAILED
            update.status = final
        return update

    def won(self, leg: OutgoingLeg) -> list[Action]:
        """The call took ``leg``: the connect is done, every other leg is CANCELled."""
        self.state = ConnectState.ANSWERED
        self.winner = leg
        actions: list[Action] = [CancelTimer(self.timer)]
        for other in self.legs:
            if other is not leg:
                actions.extend(other.cancel())
        return actions

    def on_step_timer(self, now: float) -> Update:
        """The step rang for its timeout: its legs are CANCELled, the next step rings."""
        update = Update()
        if self.state is not ConnectState.RINGING:
            return update
        for leg in self.legs:
            update.actions.extend(leg.cancel())
        self.status = self.timeout_status
        step = self.steps[self.step]
        if not step.failover(self.timeout_status):
            return self._fail(update)
        update.outcome = Outcome.LEG_FAILED
        more = self._next_step(now, Update())
        update.actions.extend(more.actions)
        if more.outcome is Outcome.FAILED:
            update.outcome = Outcome.FAILED
            update.status = self.timeout_status
        return update

    def cancel(self) -> list[Action]:
        """Give up: every ringing leg is CANCELled."""
        if self.state is not ConnectState.RINGING:
            return []
        self.state = ConnectState.CANCELLED
        actions: list[Action] = [CancelTimer(self.timer)]
        for leg in self.legs:
            actions.extend(leg.cancel())
        return actions
