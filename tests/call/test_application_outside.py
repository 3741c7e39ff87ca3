"""The commands issue 16 added to call applications, on the core without sockets: tasks
run outside, prompts that loop or stop on a digit, digits sent, speech gathered, a
recording into its own file that ends on a key or on silence, a bridge that keeps the
caller (TwiML's <Dial>), media streams, and a call placed for an application."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import events as ev
from dialtone.call.call import Call, CallState
from tests.call.peer import SETTINGS, Harness, kinds, spec, step
from tests.call.test_bridge import invites


@dataclass
class Script:
    """Answers ``Started`` with ``first``, then each event with what ``then`` says."""

    first: list[app.Command]
    then: Callable[[app.AppEvent], Sequence[app.Command]] = lambda event: []
    heard: list[app.AppEvent] = field(default_factory=list)

    def on_event(self, event: app.AppEvent) -> Sequence[app.Command]:
        self.heard.append(event)
        if isinstance(event, app.Started):
            return self.first
        return self.then(event)


def started(script: Script, *, sides: int = 2) -> tuple[Harness, list[act.Action]]:
    h = Harness()
    h.incoming(script, sides=sides, record_refusals=False, listen_digits=True)
    return h, h.open_media()


def only(actions: Sequence[act.Action], kind: type[act.Action]) -> act.Action:
    found = [a for a in actions if isinstance(a, kind)]
    assert len(found) == 1, kinds(actions)
    return found[0]


@dataclass(frozen=True)
class Fetch:
    url: str


# -- tasks ---------------------------------------------------------------------------------


def test_a_task_holds_the_queue_until_its_answer_comes_back() -> None:
    script = Script([app.Answer(), app.RunTask(Fetch("/a")), app.Play("/after.wav")])
    h, out = started(script)
    task = only(out, act.RunTask)
    assert isinstance(task, act.RunTask)
    assert task.task == Fetch("/a")
    assert "Play" not in kinds(out)
    assert h.feed(ev.TaskFinished(task.ref + 99, "stale")) == []  # not its answer
    out = h.feed(ev.TaskFinished(task.ref, "<Response/>"))
    assert app.TaskDone(Fetch("/a"), "<Response/>") in script.heard
    assert "Play" in kinds(out)


def test_a_failed_task_tells_the_application_why() -> None:
    script = Script([app.RunTask(Fetch("/a"))])
    h, out = started(script)
    task = only(out, act.RunTask)
    assert isinstance(task, act.RunTask)
    h.feed(ev.TaskFinished(task.ref, error="timed out"))
    assert script.heard[-1] == app.TaskDone(Fetch("/a"), None, "timed out")


def test_tasks_asked_for_as_the_call_ends_still_run_with_nobody_waiting() -> None:
    def then(event: app.AppEvent) -> Sequence[app.Command]:
        if isinstance(event, app.FarEndHungUp):
            return [app.RunTask(Fetch("/status")), app.Play("/dropped.wav")]
        return []

    script = Script([app.Answer()], then)
    h, _ = started(script)
    out = h.feed(h.caller_request("BYE"))  # type: ignore[arg-type]
    assert act.RunTask(Fetch("/status"), 0) in out
    assert "Play" not in kinds(out)


# -- prompts and digits --------------------------------------------------------------------


def test_a_prompt_loops_as_asked() -> None:
    _, out = started(Script([app.Answer(), app.Play("/p.wav", beep=False, loop=3)]))
    play = only(out, act.Play)
    assert isinstance(play, act.Play)
    assert (play.loop, play.beep) == (3, False)


def test_a_digit_stops_a_prompt_with_barge_in_and_waits_for_the_gather() -> None:
    script = Script(
        [app.Answer(), app.Play("/menu.wav", barge_in=True), app.Gather(count=2, timeout=5)]
    )
    h, out = started(script)
    play = only(out, act.Play)
    assert isinstance(play, act.Play)
    out = h.feed(ev.Digit(0, "4"))
    assert act.StopPlay(play.ref) in out
    assert app.PlayDone(False) in script.heard
    h.feed(ev.Digit(0, "2"))
    assert app.Gathered("42", False) in script.heard
    # The prompt's own end, arriving late, is not a second PlayDone.
    h.feed(ev.PlayDone(play.ref, completed=False))
    assert script.heard.count(app.PlayDone(False)) == 1


def test_a_digit_does_not_stop_a_prompt_without_barge_in() -> None:
    script = Script([app.Answer(), app.Play("/notice.wav"), app.Gather(count=1)])
    h, out = started(script)
    play = only(out, act.Play)
    assert isinstance(play, act.Play)
    out = h.feed(ev.Digit(0, "7"))
    assert not any(isinstance(a, act.StopPlay) for a in out)
    h.feed(ev.PlayDone(play.ref))
    assert app.Gathered("7", False) in script.heard  # typed ahead


def test_digits_are_sent_and_the_queue_waits_for_them() -> None:
    script = Script([app.Answer(), app.SendDigits("ww12#"), app.Pause(1)])
    h, out = started(script)
    sent = only(out, act.SendDigits)
    assert isinstance(sent, act.SendDigits)
    assert (sent.side, sent.digits) == (0, "ww12#")
    assert "SetTimer:pause" not in kinds(out)
    out = h.feed(ev.PlayDone(sent.ref))
    assert "SetTimer:pause" in kinds(out)


# -- speech --------------------------------------------------------------------------------

LISTEN = app.Listen(language="en-US", end_silence=0.5)


def gathering_speech() -> tuple[Harness, Script, act.Listen]:
    script = Script([app.Answer(), app.Gather(count=4, timeout=5, speech=LISTEN)])
    h, out = started(script)
    listen = only(out, act.Listen)
    assert isinstance(listen, act.Listen)
    assert listen.speech == LISTEN
    return h, script, listen


def test_speech_is_gathered_and_the_listening_stopped() -> None:
    h, script, listen = gathering_speech()
    out = h.feed(ev.SpeechStarted(listen.ref), after=1)
    timer = only(out, act.SetTimer)
    assert isinstance(timer, act.SetTimer)
    assert timer.at == h.now + 60  # the caller speaks: the wait for input is over
    out = h.feed(ev.SpeechHeard(listen.ref, " book a table ", 0.91), after=2)
    assert act.StopListening(listen.ref) in out
    assert script.heard[-1] == app.Gathered("", False, "book a table", 0.91)


def test_a_digit_wins_over_speech() -> None:
    h, script, listen = gathering_speech()
    for d in "1234":
        out = h.feed(ev.Digit(0, d))
    assert act.StopListening(listen.ref) in out
    assert script.heard[-1] == app.Gathered("1234", False)
    h.feed(ev.SpeechHeard(listen.ref, "late", 0.5))
    assert script.heard[-1] == app.Gathered("1234", False)


@pytest.mark.parametrize(
    ("heard", "gathered"),
    [
        (ev.SpeechHeard(0, "", None), app.Gathered("", True)),  # noise, nothing recognised
        (ev.TimerFired("gather"), app.Gathered("", True)),  # silence until the timeout
    ],
)
def test_no_speech_is_a_timeout(heard: ev.Event, gathered: app.Gathered) -> None:
    h, script, listen = gathering_speech()
    if isinstance(heard, ev.SpeechHeard):
        heard = ev.SpeechHeard(listen.ref, heard.text)
    out = h.feed(heard, after=5)
    assert act.StopListening(listen.ref) in out
    assert script.heard[-1] == gathered


# -- recording -----------------------------------------------------------------------------


def recording(command: app.Record) -> tuple[Harness, Script, list[act.Action]]:
    script = Script([app.Answer(), command, app.HangUp()])
    h, out = started(script)
    return h, script, out


def test_a_record_into_its_own_file_leaves_the_calls_record_alone() -> None:
    h, script, out = recording(
        app.Record(max_seconds=30, finish_key="1234567890*#", beep=True, path="/r/RE1.wav")
    )
    start = only(out, act.StartRecording)
    assert isinstance(start, act.StartRecording)
    assert (start.path, start.beep) == ("/r/RE1.wav", True)
    h.feed(ev.Digit(0, "5"), after=4)  # any of the keys ends it
    assert script.heard[-2] == app.RecordDone("/r/RE1.wav", 4.0, "5")
    assert h.call is not None
    assert h.call.recording_path is None
    h.write_record()
    assert h.records()[-1].record.recording_path is None


@pytest.mark.parametrize(("key", "ends"), [("#", True), ("*", False)])
def test_only_the_finish_keys_end_a_record(key: str, ends: bool) -> None:
    h, script, _ = recording(app.Record(max_seconds=30, finish_key="#", path="/r/x.wav"))
    h.feed(ev.Digit(0, key), after=1)
    assert any(isinstance(e, app.RecordDone) for e in script.heard) is ends


def test_silence_ends_a_record_watching_for_it() -> None:
    h, script, out = recording(app.Record(max_seconds=30, silence=5, path="/r/x.wav"))
    watch = only(out, act.WatchSilence)
    assert isinstance(watch, act.WatchSilence)
    assert watch.seconds == 5
    assert h.feed(ev.Silence(watch.ref + 1)) == []
    out = h.feed(ev.Silence(watch.ref), after=9)
    assert act.StopWatching(watch.ref) in out
    assert app.RecordDone("/r/x.wav", 9.0, "") in script.heard


def test_max_length_ends_a_record() -> None:
    h, script, _ = recording(app.Record(max_seconds=30, path="/r/x.wav"))
    h.feed(ev.TimerFired("record"), after=30)
    assert app.RecordDone("/r/x.wav", 30.0, "") in script.heard


def test_a_caller_hanging_up_on_a_record_ends_it_and_tasks_still_run() -> None:
    def then(event: app.AppEvent) -> Sequence[app.Command]:
        if isinstance(event, app.RecordDone):
            return [app.RunTask(Fetch(f"/save?{event.digit}"))]
        return []

    script = Script([app.Answer(), app.Record(max_seconds=30, path="/r/x.wav")], then)
    h, _ = started(script)
    out = h.feed(h.caller_request("BYE"), after=3)  # type: ignore[arg-type]
    assert app.RecordDone("/r/x.wav", 3.0, "hangup") in script.heard
    assert act.RunTask(Fetch("/save?hangup"), 0) in out
    assert isinstance(script.heard[-1], app.FarEndHungUp)


# -- bridges -------------------------------------------------------------------------------


def test_a_bridge_that_keeps_the_caller_goes_on_when_the_callee_hangs_up() -> None:
    def then(event: app.AppEvent) -> Sequence[app.Command]:
        if isinstance(event, app.BridgeEnded):
            return [app.Play("/after.wav")]
        return []

    script = Script([app.Answer(), app.Bridge(steps=(step(7),), keep_caller=True)], then)
    h, _ = started(script)
    callee = invites(h)[-1]
    h.respond(callee, 200, body=h.answer_sdp(7000))
    assert app.BridgeResult(200) in script.heard
    out = h.feed(h.callee_request(callee, "BYE", cseq=2), after=42)
    assert 200 in [a.response.status for a in out if isinstance(a, act.SendResponse)]
    assert app.BridgeEnded(42.0) in script.heard
    assert "Play" in kinds(out)
    assert not h.records()  # the call goes on
    assert h.call is not None
    assert h.call.state is CallState.ANSWERED
    # A second bridge reaches a new party on the same side.
    script.then = lambda event: []
    h.call.queue.append(app.Bridge(steps=(step(8),), keep_caller=True))
    out = h.feed(ev.PlayDone(only(out, act.Play).ref))  # type: ignore[attr-defined]
    second = invites(h)[-1]
    assert second.uri.user == "d8"  # type: ignore[union-attr]
    out = h.respond(second, 200, tag="far8", body=h.answer_sdp(8000))
    assert act.SetRemote(1, ("192.0.2.99", 8000), new_party=True) in out


def test_without_keep_caller_the_callees_bye_ends_the_call() -> None:
    script = Script([app.Answer(), app.Bridge(steps=(step(7),))])
    h, _ = started(script)
    callee = invites(h)[-1]
    h.respond(callee, 200, body=h.answer_sdp(7000))
    h.feed(h.callee_request(callee, "BYE", cseq=2))
    assert h.records()[-1].record.hangup_cause == "callee-bye"


@pytest.mark.parametrize(("step_timeout", "limit", "rung"), [(20.0, 5.0, 5.0), (3.0, 5.0, 3.0)])
def test_a_bridge_rings_no_longer_than_its_timeout(
    step_timeout: float, limit: float, rung: float
) -> None:
    script = Script([app.Answer(), app.Bridge(target="+33612345678", timeout=limit)])
    h, out = started(script)
    resolve = only(out, act.ResolveTarget)
    assert isinstance(resolve, act.ResolveTarget)
    out = h.feed(ev.TargetResolved(resolve.ref, steps=(step(7, timeout=step_timeout),)))
    timer = next(a for a in out if isinstance(a, act.SetTimer) and a.name == "step:b")
    assert timer.at == h.now + rung


def test_a_bridges_caller_id_goes_to_the_decision_path() -> None:
    _, out = started(Script([app.Answer(), app.Bridge(target="+336", caller_id="+331")]))
    resolve = only(out, act.ResolveTarget)
    assert isinstance(resolve, act.ResolveTarget)
    assert (resolve.kind, resolve.caller_id) == ("bridge", "+331")


# -- streams -------------------------------------------------------------------------------


def test_a_connected_stream_holds_the_queue_until_it_closes() -> None:
    stream = app.Stream("wss://ai.example/s", name="s1", connect=True)
    script = Script([app.Answer(), stream, app.HangUp()])
    h, out = started(script)
    assert act.StartStream(stream) in out
    assert not h.records()
    h.feed(ev.StreamClosed("other"))
    assert not h.records()
    h.feed(ev.StreamClosed("s1", "closed by peer"))
    assert app.StreamEnded("s1", "closed by peer") in script.heard
    assert h.records()


def test_a_forked_stream_runs_beside_the_queue_until_stopped() -> None:
    stream = app.Stream("wss://rec.example/s", name="fork")
    script = Script([app.Answer(), stream, stream, app.Play("/p.wav"), app.StopStream("fork")])
    h, out = started(script)
    assert out.count(act.StartStream(stream)) == 1  # one stream per name
    play = only(out, act.Play)
    out = h.feed(ev.PlayDone(play.ref))  # type: ignore[attr-defined]
    assert act.StopStream("fork") in out
    assert h.feed(ev.StreamClosed("fork")) == []


# -- a call placed for an application ------------------------------------------------------


def test_a_call_placed_for_an_application_starts_it_when_answered() -> None:
    script = Script([app.Play("/hello.wav")])
    h = Harness()
    h.call, out = Call.originate(
        spec(direction="outbound", legs=()),
        settings=SETTINGS,
        ids=h.ids,
        devices=(step(5),),
        target=None,
        now=h.now,
        application=script,
    )
    h.out.extend(out)
    h.open_media()
    assert script.heard == []
    callee = invites(h)[-1]
    out = h.respond(callee, 200, body=h.answer_sdp(5000))
    assert script.heard == [app.Started()]
    play = only(out, act.Play)
    assert isinstance(play, act.Play)
    assert play.sides == (0,)
    assert h.call.answered is not None


def test_a_call_placed_for_an_application_that_nobody_answers_is_recorded_busy() -> None:
    script = Script([app.Play("/hello.wav")])
    h = Harness()
    h.call, out = Call.originate(
        spec(direction="outbound", legs=()),
        settings=SETTINGS,
        ids=h.ids,
        devices=(step(5),),
        target=None,
        now=h.now,
        application=script,
    )
    h.out.extend(out)
    h.open_media()
    h.respond(invites(h)[-1], 486)
    assert script.heard[:1] != [app.Started()]
    assert h.records()[-1].record.status == "busy"


# -- a live redirect -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("running", "stops"),
    [
        (app.Play("/long.wav"), act.StopPlay),
        (app.Pause(30), act.CancelTimer),
        (app.Gather(count=3, speech=LISTEN), act.StopListening),
        (app.Record(max_seconds=60, silence=3, path="/r/x.wav"), act.StopRecording),
        (app.Stream("wss://ai.example/s", name="s", connect=True), act.StopStream),
    ],
)
def test_a_redirect_stops_what_runs_and_runs_the_new_commands(
    running: app.Command, stops: type[act.Action]
) -> None:
    script = Script([app.Answer(), running, app.Play("/dropped.wav")])
    h, out = started(script)
    out = h.feed(ev.Interrupt((app.Play("/new.wav"),)))
    assert any(isinstance(a, stops) for a in out), kinds(out)
    plays = [a.prompt for a in out if isinstance(a, act.Play)]
    assert plays == ["/new.wav"]
    heard = len(script.heard)
    # The stopped command's own end, arriving late, tells the application nothing.
    h.feed(ev.TimerFired("gather"))
    h.feed(ev.Silence(1))
    assert len(script.heard) == heard


def test_a_redirect_while_a_bridge_rings_cancels_it() -> None:
    script = Script([app.Answer(), app.Bridge(steps=(step(7),))])
    h, _ = started(script)
    out = h.feed(ev.Interrupt((app.HangUp(),)))
    assert "req:CANCEL" in kinds(out)
    h.respond(invites(h)[-1], 487)
    assert not any(isinstance(e, app.BridgeResult) for e in script.heard)


def test_a_redirect_of_an_ended_call_does_nothing() -> None:
    h, _ = started(Script([app.Answer()]))
    h.feed(h.caller_request("BYE"))  # type: ignore[arg-type]
    assert h.feed(ev.Interrupt((app.Play("/x.wav"),))) == []


# -- a Gather's own prompts ----------------------------------------------------------------

MENU = app.Play("/menu.wav", beep=False, barge_in=True)
MORE = app.Play("/more.wav", beep=False, barge_in=True)


def prompted(
    *prompts: app.Play | app.Pause, speech: app.Listen | None = None
) -> tuple[Harness, Script, list[act.Action]]:
    script = Script([app.Answer(), app.Gather(2, timeout=5, speech=speech, prompts=prompts)])
    h, out = started(script)
    return h, script, out


def test_a_gathers_prompts_play_in_turn_then_the_wait_begins() -> None:
    h, script, out = prompted(MENU, app.Pause(1.5), MORE)
    first = only(out, act.Play)
    assert isinstance(first, act.Play)
    assert first.prompt == "/menu.wav"
    assert "SetTimer:gather" not in kinds(out)  # no waiting while prompts play
    out = h.feed(ev.PlayDone(first.ref), after=2)
    pause = only(out, act.SetTimer)
    assert isinstance(pause, act.SetTimer)
    assert pause.at == h.now + 1.5
    out = h.feed(ev.TimerFired("gather"), after=1.5)
    second = only(out, act.Play)
    assert isinstance(second, act.Play)
    assert second.prompt == "/more.wav"
    out = h.feed(ev.PlayDone(second.ref), after=2)
    wait = only(out, act.SetTimer)
    assert isinstance(wait, act.SetTimer)
    assert wait.at == h.now + 5  # the timeout runs from the end of the prompts
    h.feed(ev.TimerFired("gather"), after=5)
    assert script.heard[-1] == app.Gathered("", True)


def test_a_digit_stops_the_prompts_and_counts() -> None:
    h, script, out = prompted(MENU, MORE)
    first = only(out, act.Play)
    assert isinstance(first, act.Play)
    out = h.feed(ev.Digit(0, "4"))
    assert act.StopPlay(first.ref) in out
    assert "Play" not in kinds(out)  # the other prompt is not played
    h.feed(ev.PlayDone(first.ref, completed=False))  # the stopped prompt's end
    h.feed(ev.Digit(0, "2"))
    assert script.heard[-1] == app.Gathered("42", False)


def test_speech_is_heard_from_the_first_prompt_and_stops_it() -> None:
    h, script, out = prompted(MENU, MORE, speech=LISTEN)
    listen = only(out, act.Listen)
    first = only(out, act.Play)
    assert isinstance(listen, act.Listen)
    assert isinstance(first, act.Play)
    out = h.feed(ev.SpeechStarted(listen.ref), after=0.4)
    assert act.StopPlay(first.ref) in out
    assert h.feed(ev.PlayDone(first.ref, completed=False)) == []  # no next prompt
    h.feed(ev.SpeechHeard(listen.ref, "sales please", 0.8), after=2)
    assert script.heard[-1] == app.Gathered("", False, "sales please", 0.8)


def test_nothing_recognised_over_a_prompt_keeps_prompting_and_listening() -> None:
    h, script, out = prompted(MENU, speech=LISTEN)
    listen = only(out, act.Listen)
    assert isinstance(listen, act.Listen)
    out = h.feed(ev.SpeechHeard(listen.ref, "", None))
    assert out == [act.Listen(listen.ref, LISTEN)]
    assert not any(isinstance(e, app.Gathered) for e in script.heard)


def test_a_redirect_during_a_gathers_prompt_stops_it() -> None:
    h, _, out = prompted(MENU, speech=LISTEN)
    first = only(out, act.Play)
    assert isinstance(first, act.Play)
    out = h.feed(ev.Interrupt((app.HangUp(),)))
    assert act.StopPlay(first.ref) in out
    assert any(isinstance(a, act.StopListening) for a in out)


def test_a_bridges_note_is_the_subject_of_every_invite() -> None:
    note = "[AI-generated] Caller wants an appointment;\n said  'tomorrow'." + "x" * 300
    script = Script([app.Answer(), app.Bridge(steps=(step(7), step(8)), note=note)])
    h, _ = started(script)
    first = invites(h)[-1]
    subject = first.headers.get("Subject")
    assert subject is not None
    assert subject.startswith("[AI-generated] Caller wants an appointment; said 'tomorrow'.")
    assert len(subject) == 200  # cut: phones show a line or two


def test_without_a_note_there_is_no_subject() -> None:
    h, _ = started(Script([app.Answer(), app.Bridge(steps=(step(7),))]))
    assert invites(h)[-1].headers.get("Subject") is None


def test_a_noise_that_stopped_the_prompts_gives_them_back() -> None:
    """A cough stops the prompt (barge-in) but holds no words: the prompt it stopped
    plays again, then the rest, and the Gather listens on."""
    h, script, out = prompted(MENU, MORE, speech=LISTEN)
    listen = only(out, act.Listen)
    first = only(out, act.Play)
    assert isinstance(listen, act.Listen)
    assert isinstance(first, act.Play)
    out = h.feed(ev.SpeechStarted(listen.ref), after=0.4)
    assert act.StopPlay(first.ref) in out
    h.feed(ev.PlayDone(first.ref, completed=False))
    out = h.feed(ev.SpeechHeard(listen.ref, "", None), after=0.6)
    assert act.Listen(listen.ref, LISTEN) in out
    again = only(out, act.Play)
    assert isinstance(again, act.Play)
    assert again.prompt == "/menu.wav"
    assert not any(isinstance(e, app.Gathered) for e in script.heard)
    out = h.feed(ev.PlayDone(again.ref), after=2)
    more = only(out, act.Play)
    assert isinstance(more, act.Play)
    assert more.prompt == "/more.wav"
    h.feed(ev.SpeechHeard(listen.ref, "sales", 0.9), after=1)
    assert script.heard[-1] == app.Gathered("", False, "sales", 0.9)


def test_a_noise_after_the_prompts_ended_is_a_timeout() -> None:
    h, script, out = prompted(MENU, speech=LISTEN)
    listen = only(out, act.Listen)
    first = only(out, act.Play)
    assert isinstance(listen, act.Listen)
    assert isinstance(first, act.Play)
    h.feed(ev.PlayDone(first.ref), after=2)
    h.feed(ev.SpeechStarted(listen.ref), after=0.5)
    h.feed(ev.SpeechHeard(listen.ref, "", None), after=0.5)
    assert script.heard[-1] == app.Gathered("", True)
