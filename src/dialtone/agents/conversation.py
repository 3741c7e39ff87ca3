"""The agent on a call: the conversation loop as a call application (TERMS A1–A4).

The caller hears the disclosure first (A2), then each turn goes: listen (the caller's
speech recognised once they pause, ``Gather`` with ``Listen``) → the guard, then the
brain (``turns.Brain``) → the reply spoken (``Say`` synthesised, first sentence first)
while listening again, so the caller can talk over it (barge-in: a ``Gather``'s prompts
stop when the caller starts to speak) → its act carried out (a booking, a hand-over to a
human, a message recorded, a text sent, the end of the call), whose result is the
brain's next input. When the call ends the report is filed (``FileReport``).

Pure: no clock. The call's clock comes in the events (``Started.at``, ``Gathered.at``)
and the wall time the runtime gave at the start (``opened``) turns it into the local
time the brain needs for "tomorrow at ten".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialtone.agents import guard, summary
from dialtone.agents import tasks as t
from dialtone.agents.languages import language_for
from dialtone.agents.profile import AgentProfile, TransferTarget
from dialtone.agents.report import CallReport, Line, TurnTiming
from dialtone.agents.turns import (
    AskModel,
    BookAppointment,
    Booked,
    Brain,
    DialogState,
    EndCall,
    FollowUpSent,
    HandOver,
    HandOverFailed,
    Heard,
    Input,
    MessageTaken,
    ModelAnswered,
    NotBooked,
    Outcome,
    RecordMessage,
    Reply,
    SendFollowUp,
    Silence,
)
from dialtone.call import application as app

# How long the agent waits for the caller to say something after it spoke.
LISTEN_SECONDS = 8.0
# The longest message a caller may leave, and the silence that ends it (counted from the
# tone too: Twilio's <Record> default, time enough to start speaking after the tone).
MESSAGE_SECONDS = 120.0
MESSAGE_SILENCE = 5.0
# How long a human is rung before the hand-over counts as failed.
HAND_OVER_RING_SECONDS = 25.0
# The digit that asks for a human (callers press 0 for the operator).
OPERATOR_DIGIT = "0"
# A turn this close to the profile's time limit gets a goodbye instead of an answer
# (the call's own timer ends it at the limit in any case).
TIME_LIMIT_MARGIN = 20.0


class Conversation:
    """One call's agent. ``caller`` and ``number`` are E.164 (the caller's, the
    agent's); ``opened`` is the wall time when the call was set up (aware);
    ``message_path`` the file a message the caller leaves is recorded into; ``country``
    the agent number's country (ISO 3166), whose emergency number the caller is told to
    dial (A3)."""

    def __init__(
        self,
        profile: AgentProfile,
        brain: Brain,
        *,
        caller: str,
        number: str,
        record_id: str,
        opened: datetime,
        message_path: str | None = None,
        country: str | None = None,
    ) -> None:
        self.profile = profile
        self.brain = brain
        self.caller = caller
        self.number = number
        self.record_id = record_id
        self.opened = opened
        self.message_path = message_path  # where a message the caller leaves goes
        self.country = country  # the agent's number's (ISO 3166): its emergency number
        self.zone = ZoneInfo(profile.timezone)
        self.state = DialogState()
        self.t0: float | None = None  # the call's clock at Started
        self.last_at = 0.0  # the latest clock the events gave, from t0
        self.reply: Reply | None = None  # being synthesised
        self.outcome: Outcome | None = None
        self.lines: list[Line] = []
        self.timings: list[TurnTiming] = []
        self.guarded: list[str] = []
        self.heard_at: float | None = None  # the turn under way: recognised then
        self.speech_ended_at: float | None = None  # and judged over by the endpointer
        self.decided_at: float | None = None
        self.filed = False
        self.ended = False

    # -- the call's events -------------------------------------------------------------

    def on_event(self, event: app.AppEvent) -> Sequence[app.Command]:
        if self.ended:
            return []
        if isinstance(event, app.Started):
            self.t0 = event.at
            # Answered at once: the disclosure is the first thing the caller hears (A2).
            return [app.Answer(), *self._say(guard.opening(self.profile))]
        if isinstance(event, app.Gathered):
            return self._gathered(event)
        if isinstance(event, app.TaskDone):
            return self._task_done(event)
        if isinstance(event, app.RecordDone):
            return [
                app.RunTask(
                    t.SaveMessage(
                        self.profile,
                        event.path,
                        event.seconds,
                        self.caller,
                        self.number,
                        self.record_id,
                    )
                )
            ]
        if isinstance(event, app.BridgeResult):
            if event.status == 200:
                # The human has the caller: the agent's part is over.
                self.outcome = "transferred"
                return self._finish(hang_up=False)
            return self._hear(HandOverFailed(event.status, event.reason))
        if isinstance(event, app.FarEndHungUp):
            return self._finish(hang_up=False)
        return []

    def _gathered(self, event: app.Gathered) -> Sequence[app.Command]:
        self._clock(event.at)
        if event.speech:
            self.heard_at = self._since(event.heard_at) or self.last_at
            self.speech_ended_at = self._since(event.speech_ended_at)
            self.lines.append(Line("caller", event.speech, self.heard_at))
            return self._hear(Heard(event.speech, event.confidence or 0.0))
        if event.digits.startswith(OPERATOR_DIGIT):
            self.heard_at = self.last_at
            return self._hear(Heard("I'd like to speak to someone"))
        self.heard_at = None
        return self._hear(Silence())

    def _task_done(self, event: app.TaskDone) -> Sequence[app.Command]:
        task, result = event.task, event.result
        if isinstance(task, t.Say):
            reply, self.reply = self.reply, None
            if reply is None:
                return []
            said = result if isinstance(result, t.Said) else t.Said(())
            if event.error is not None:
                # No voice: the act still happens (a caller who hears nothing hangs up).
                said = t.Said(())
            self._timed(said.ready_at)
            self._said(reply)
            return self._act(reply, said.paths)
        if isinstance(task, t.Book):
            if isinstance(result, Booked | NotBooked):
                return self._hear(result)
            return self._hear(NotBooked(task.act.start, error=event.error or "no answer"))
        if isinstance(task, t.SaveMessage):
            if isinstance(result, MessageTaken):
                return self._hear(result)
            return self._hear(MessageTaken(None))
        if isinstance(task, t.TextCaller):
            if isinstance(result, FollowUpSent):
                return self._hear(result)
            return self._hear(FollowUpSent(refused=event.error or "failed"))
        if isinstance(task, t.Consult):
            if isinstance(result, ModelAnswered):
                return self._hear(result)
            return self._hear(ModelAnswered(error=event.error or "no answer"))
        return []

    # -- turns -------------------------------------------------------------------------

    def _hear(self, heard: Input) -> Sequence[app.Command]:
        """One input through the guard (A3, A4), else the brain; the reply spoken."""
        now = self._local_now()
        reply: Reply | None = None
        late = self.last_at >= self.profile.max_call_seconds - TIME_LIMIT_MARGIN
        if late and isinstance(heard, Heard | Silence):
            # A1: the call ends after the profile's duration, politely (an act's result,
            # a booking's, is still told to the caller).
            lang = language_for(self.profile)
            return self._say(Reply((lang.say.time_limit_goodbye,), act=EndCall()))
        if isinstance(heard, Heard):
            reply = guard.guard(self.profile, self.state, heard, now, country=self.country)
        if reply is not None:
            # The brains keep their own history; the guard's turns are added for them.
            self.guarded.append(reply.guarded or "guard")
            text = heard.text if isinstance(heard, Heard) else None
            self.state = summary.with_turn(self.state, text, reply)
        else:
            self.state, reply = self.brain.hear(self.profile, self.state, heard, now)
        self.decided_at = self.last_at
        return self._say(reply)

    def _say(self, reply: Reply) -> Sequence[app.Command]:
        reply = guard.check_reply(self.profile, reply)
        if reply.outcome not in (None, "transferred") and self.outcome != "booked":
            # A booking stays the call's outcome: what follows is courtesy. A transfer
            # is the outcome once the human has the caller (BridgeResult 200), not when
            # it is announced.
            self.outcome = reply.outcome
        if not reply.say:
            return self._act(reply, ())
        self.reply = reply
        return [
            app.RunTask(t.Say(reply.say, self.profile.voice, self.profile.language)),
        ]

    def _act(self, reply: Reply, paths: Sequence[str]) -> Sequence[app.Command]:
        """The reply's sentences played, then its act. Without an act the agent
        listens while it speaks (barge-in); with one it finishes speaking first."""
        act = reply.act
        if act is None:
            return [self._listen(paths)]
        plays: list[app.Command] = [app.Play(p, beep=False) for p in paths]
        if isinstance(act, EndCall):
            return [*plays, *self._finish(hang_up=True)]
        if isinstance(act, BookAppointment):
            return [*plays, app.RunTask(t.Book(self.profile, act))]
        if isinstance(act, HandOver):
            target = act.target or self._first_target()
            if target is None:
                return [*plays, *self._hear(HandOverFailed(404, "agent.no_target"))]
            return [
                *plays,
                app.Bridge(
                    target=bridge_target(target),
                    timeout=HAND_OVER_RING_SECONDS,
                    note=act.summary,
                ),
            ]
        if isinstance(act, RecordMessage):
            return [
                *plays,
                app.Record(
                    max_seconds=MESSAGE_SECONDS,
                    finish_key="#",
                    silence=MESSAGE_SILENCE,
                    beep=True,
                    path=self.message_path,
                ),
            ]
        if isinstance(act, SendFollowUp):
            return [
                *plays,
                app.RunTask(t.TextCaller(self.profile, self.caller, self.number, act.text)),
            ]
        if isinstance(act, AskModel):
            return [*plays, app.RunTask(t.Consult(self.profile, act))]
        return plays

    def _listen(self, paths: Sequence[str]) -> app.Gather:
        return app.Gather(
            count=1,
            timeout=LISTEN_SECONDS,
            finish_key=None,
            speech=app.Listen(
                language=self.profile.language,
                end_silence=self.profile.end_silence_ms / 1000.0,
                conversation=True,
            ),
            prompts=tuple(app.Play(p, beep=False, barge_in=True) for p in paths),
        )

    def _said(self, reply: Reply) -> None:
        """The reply's sentences in the transcript, from when they start to play."""
        for sentence in reply.say:
            self.lines.append(Line("agent", sentence, self.last_at))

    def _finish(self, *, hang_up: bool) -> list[app.Command]:
        """The report filed (once), then the hang-up when the agent ends the call."""
        out: list[app.Command] = []
        if self.reply is not None:  # still being synthesised: never heard, but decided
            self._said(self.reply)
            self.reply = None
        if not self.filed:
            self.filed = True
            out.append(app.RunTask(t.FileReport(self.report())))
        if hang_up:
            out.append(app.HangUp(cause="agent"))
        self.ended = True
        return out

    def report(self) -> CallReport:
        """The call's report as it stands."""
        outcome: Outcome = self.outcome or "abandoned"
        return CallReport(
            agent_id=self.profile.id,
            account_id=self.profile.account_id,
            record_id=self.record_id,
            caller=self.caller,
            number=self.number,
            outcome=outcome,
            summary=summary.summarise(self.state, outcome),
            lines=tuple(self.lines),
            timings=tuple(self.timings),
            guarded=tuple(self.guarded),
        )

    # -- time --------------------------------------------------------------------------

    def _clock(self, at: float | None) -> None:
        since = self._since(at)
        if since is not None:
            self.last_at = max(self.last_at, since)

    def _since(self, at: float | None) -> float | None:
        if at is None or self.t0 is None:
            return None
        return at - self.t0

    def _timed(self, ready_at: float | None) -> None:
        """A reply is ready to play: the turn's timings are complete."""
        spoken = self._since(ready_at)
        if spoken is not None:
            self.last_at = max(self.last_at, spoken)
        if self.heard_at is not None and self.decided_at is not None:
            self.timings.append(
                TurnTiming(self.heard_at, self.decided_at, spoken, self.speech_ended_at)
            )
        self.heard_at = self.decided_at = self.speech_ended_at = None

    def _local_now(self) -> datetime:
        return (self.opened + timedelta(seconds=self.last_at)).astimezone(self.zone)

    def _first_target(self) -> TransferTarget | None:
        return self.profile.transfer_targets[0] if self.profile.transfer_targets else None


def bridge_target(target: TransferTarget) -> str:
    """The call core's name for a hand-over target: "user:<id>", "group:<id>", a number."""
    if target.kind == "number":
        return target.ref
    return f"{target.kind}:{target.ref}"
