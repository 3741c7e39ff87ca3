"""The agent's call application, driven event by event with a scripted brain: what it
asks of the call core and of the runtime, in order (the rules' own tests are in
test_guard.py; the real engines in tests/interop/test_agent_calls.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialtone.agents import tasks as t
from dialtone.agents.conversation import Conversation, bridge_target
from dialtone.agents.profile import AgentProfile, TransferTarget
from dialtone.agents.turns import (
    AI_LABEL,
    BookAppointment,
    Booked,
    DialogState,
    EndCall,
    HandOver,
    HandOverFailed,
    Heard,
    Input,
    MessageTaken,
    NotBooked,
    RecordMessage,
    Reply,
    Silence,
)
from dialtone.call import application as app

OPENED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PROFILE = AgentProfile(
    id="AG1",
    account_id="AC1",
    name="Robin",
    business_name="Acme Dental",
    timezone="Europe/Paris",
    transfer_targets=(TransferTarget("user", "US1", "reception"),),
)


@dataclass
class ScriptedBrain:
    """Answers each input with the next scripted reply and remembers what it heard."""

    replies: list[Reply]
    heard: list[tuple[Input, datetime]] = field(default_factory=list)

    def hear(
        self, profile: AgentProfile, state: DialogState, heard: Input, now: datetime
    ) -> tuple[DialogState, Reply]:
        self.heard.append((heard, now))
        return replace(state, misses=state.misses + 1), self.replies.pop(0)


def conversation(
    *replies: Reply, profile: AgentProfile = PROFILE
) -> tuple[Conversation, ScriptedBrain]:
    brain = ScriptedBrain(list(replies))
    return (
        Conversation(
            profile,
            brain,
            caller="+33612345678",
            number="+33123456789",
            record_id="CR1",
            opened=OPENED,
            message_path="/rec/CR1-message.wav",
        ),
        brain,
    )


def said(
    conv: Conversation, commands: Sequence[app.Command], *paths: str, at: float = 0.0
) -> Sequence[app.Command]:
    """The Say task the commands ask for, done: its files ready at ``at``."""
    (run,) = [c for c in commands if not isinstance(c, app.Answer)]
    assert isinstance(run, app.RunTask)
    assert isinstance(run.task, t.Say)
    return conv.on_event(app.TaskDone(run.task, t.Said(paths, at)))


def test_the_call_opens_with_the_disclosure_and_listens_while_it_speaks() -> None:
    conv, _ = conversation()
    commands = conv.on_event(app.Started(100.0))
    answer, run = commands
    assert answer == app.Answer()  # at once: the disclosure is the first thing heard
    assert isinstance(run, app.RunTask)
    assert isinstance(run.task, t.Say)
    assert "AI" in run.task.sentences[0]  # A2: the first sentence
    assert run.task.voice == PROFILE.voice
    (gather,) = said(conv, commands, "/p/1.wav", "/p/2.wav", at=100.3)
    assert isinstance(gather, app.Gather)
    assert [p.prompt for p in gather.prompts] == ["/p/1.wav", "/p/2.wav"]
    assert all(isinstance(p, app.Play) and p.barge_in for p in gather.prompts)
    assert gather.speech is not None
    assert gather.speech.end_silence == pytest.approx(0.4)


def test_what_the_caller_says_reaches_the_brain_at_local_time() -> None:
    conv, brain = conversation(Reply(("Sure.",)))
    said(conv, conv.on_event(app.Started(100.0)), "/p/1.wav", at=100.2)
    commands = conv.on_event(
        app.Gathered("", False, "what are your hours", 0.9, at=107.0, heard_at=106.9)
    )
    ((heard, now),) = brain.heard
    assert heard == Heard("what are your hours", 0.9)
    assert now == datetime(2026, 12, 7, 10, 0, 7, tzinfo=ZoneInfo("Europe/Paris"))
    said(conv, commands, "/p/sure.wav", at=107.1)
    (timing,) = conv.report().timings
    assert (timing.heard, timing.spoken) == (pytest.approx(6.9), pytest.approx(7.1))


def test_silence_and_the_operator_digit() -> None:
    conv, brain = conversation(Reply(("Are you there?",)), Reply(("Connecting you.",)))
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    conv.on_event(app.Gathered("", True, at=9.0))
    conv.on_event(app.Gathered("0", False, at=12.0))
    assert isinstance(brain.heard[0][0], Silence)
    assert brain.heard[1][0] == Heard("I'd like to speak to someone")


def test_a_booking_is_said_then_done_then_confirmed() -> None:
    start = datetime(2026, 12, 8, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    book = BookAppointment(start, 30, "Sam")
    conv, brain = conversation(
        Reply(("One moment.",), act=book), Reply(("You're booked.",), outcome="booked")
    )
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    asked = conv.on_event(app.Gathered("", False, "tomorrow at ten", 0.8, at=5.0))
    play, run = said(conv, asked, "/p/moment.wav")
    assert play == app.Play("/p/moment.wav", beep=False)  # no barge-in: the act follows
    assert isinstance(run, app.RunTask)
    assert run.task == t.Book(PROFILE, book)
    conv.on_event(app.TaskDone(run.task, Booked(start, 30)))
    assert brain.heard[-1][0] == Booked(start, 30)
    assert conv.report().outcome == "booked"


def test_a_calendar_failure_is_heard_as_not_booked() -> None:
    start = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    book = BookAppointment(start, 30)
    conv, brain = conversation(Reply((), act=book), Reply(("Sorry.",)))
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    (run,) = conv.on_event(app.Gathered("", False, "book me", 0.8, at=5.0))
    assert isinstance(run, app.RunTask)
    conv.on_event(app.TaskDone(run.task, None, "timeout"))
    assert brain.heard[-1][0] == NotBooked(start, error="timeout")


def test_a_hand_over_bridges_to_the_human_and_ends_the_agent_part() -> None:
    conv, _ = conversation(Reply(("Connecting you.",), act=HandOver(None, "wants a human")))
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    _play, bridge = said(
        conv, conv.on_event(app.Gathered("", False, "a human please", 1.0)), "/p/c.wav"
    )
    assert isinstance(bridge, app.Bridge)
    assert bridge.target == "user:US1"
    (filed,) = conv.on_event(app.BridgeResult(200))
    assert isinstance(filed, app.RunTask)
    assert isinstance(filed.task, t.FileReport)
    report = filed.task.report
    assert report.outcome == "transferred"
    assert report.summary.startswith(AI_LABEL)  # A4
    assert conv.on_event(app.FarEndHungUp()) == []  # filed once


def test_a_failed_hand_over_goes_back_to_the_brain() -> None:
    conv, brain = conversation(Reply((), act=HandOver(None, "x")), Reply(("Nobody is free.",)))
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    conv.on_event(app.Gathered("", False, "a human", 1.0))
    conv.on_event(app.BridgeResult(486, None))
    assert brain.heard[-1][0] == HandOverFailed(486, None)


def test_a_message_is_recorded_then_saved() -> None:
    conv, brain = conversation(
        Reply(("Leave your message after the tone.",), act=RecordMessage()),
        Reply(("Thanks, goodbye.",), act=EndCall(), outcome="message"),
    )
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    _, record = said(
        conv, conv.on_event(app.Gathered("", False, "take a message", 1.0)), "/p/m.wav"
    )
    assert isinstance(record, app.Record)
    assert record.beep
    assert record.path == "/rec/CR1-message.wav"
    (run,) = conv.on_event(app.RecordDone("/rec/CR1-message.wav", 6.5, ""))
    assert isinstance(run, app.RunTask)
    assert isinstance(run.task, t.SaveMessage)
    assert (run.task.seconds, run.task.caller) == (6.5, "+33612345678")
    commands = conv.on_event(app.TaskDone(run.task, MessageTaken("call me back")))
    assert brain.heard[-1][0] == MessageTaken("call me back")
    _play, filed, hang_up = said(conv, commands, "/p/bye.wav")
    assert isinstance(filed, app.RunTask)
    assert filed.task.report.outcome == "message"
    assert isinstance(hang_up, app.HangUp)


def test_the_caller_hanging_up_files_the_report_as_abandoned() -> None:
    conv, _ = conversation()
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    (filed,) = conv.on_event(app.FarEndHungUp())
    assert isinstance(filed, app.RunTask)
    assert filed.task.report.outcome == "abandoned"
    lines = filed.task.report.lines
    assert lines[0].speaker == "agent"
    assert "AI" in lines[0].text


@pytest.mark.parametrize(
    ("target", "name"),
    [
        (TransferTarget("user", "US1"), "user:US1"),
        (TransferTarget("group", "RG1"), "group:RG1"),
        (TransferTarget("number", "+33198765432"), "+33198765432"),
    ],
)
def test_bridge_targets(target: TransferTarget, name: str) -> None:
    assert bridge_target(target) == name


def test_the_hand_over_summary_is_the_bridge_note_shown_to_the_human() -> None:
    conv, _ = conversation(
        Reply(("Connecting you.",), act=HandOver(None, "[AI-generated] wants x"))
    )
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    _, bridge = said(conv, conv.on_event(app.Gathered("", False, "a human", 1.0)), "/p/c.wav")
    assert isinstance(bridge, app.Bridge)
    assert bridge.note == "[AI-generated] wants x"


@pytest.mark.parametrize(("at", "ends"), [(579.9, False), (580.0, True), (590.0, True)])
def test_near_the_time_limit_a_turn_gets_a_goodbye(at: float, ends: bool) -> None:
    """A1: the call ends after the profile's duration (600 s by default), politely: a
    turn within 20 s of it is answered with a goodbye and the hang-up."""
    conv, brain = conversation(Reply(("Sure.",)))
    said(conv, conv.on_event(app.Started(0.0)), "/p/1.wav")
    (run,) = conv.on_event(app.Gathered("", False, "what are your hours", 0.9, at=at))
    assert isinstance(run, app.RunTask)
    assert isinstance(run.task, t.Say)
    if not ends:
        assert run.task.sentences == ("Sure.",)
        return
    assert "time limit" in run.task.sentences[0]
    assert brain.heard == []  # not the brain's turn
    _, filed, hang_up = said(conv, [run], "/p/bye.wav")
    assert isinstance(filed, app.RunTask)
    assert isinstance(hang_up, app.HangUp)
