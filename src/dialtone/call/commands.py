"""The application's commands on a call: queued and run in order, each holding the
queue until it is done (``Play``, ``Gather``, ``Record``, ``Bridge``, ``Transfer``,
``Pause``), answering the caller, a voicemail message taken inside the call, digits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import connecting, ending, gathering, outside, recording
from dialtone.call import events as ev
from dialtone.call.actions import Action
from dialtone.call.leg import IncomingLeg
from dialtone.call.spec import (
    Busy,
    CallState,
    outcome_name,
)

if TYPE_CHECKING:
    from dialtone.call.call import Call


def run(call: Call, now: float) -> list[Action]:
    """Run queued commands until one has to wait (or the call ends)."""
    out: list[Action] = []
    while call.busy is None and call.queue and not call.ended:
        out.extend(execute(call, call.queue.popleft(), now))
    return out


def give(call: Call, event: app.AppEvent, now: float) -> list[Action]:
    """Tell the application; queue what it answers and run it."""
    if call.ended and not isinstance(event, app.FarEndHungUp):
        return []
    call.queue.extend(call.application.on_event(event))
    return run(call, now)


def execute(call: Call, command: app.Command, now: float) -> list[Action]:
    if isinstance(command, app.Answer):
        if not isinstance(call.a, IncomingLeg) or not call.a.pending:
            return []
        if command.ring_seconds is not None:
            out = call.a.provisional(180)
            call.ringing_sent = True
            if command.ring_seconds <= 0:
                return [*out, *answer(call, now)]
            call.busy = Busy("answer")
            return [*out, act.SetTimer("ring", now + command.ring_seconds)]
        return answer(call, now)
    if isinstance(command, app.Play):
        ref = call._ref()
        call.busy = Busy("play", ref, command=command)
        return [act.Play((0,), command.prompt, ref, command.beep, command.loop)]
    if isinstance(command, app.SendDigits):
        ref = call._ref()
        call.busy = Busy("play", ref, command=command)
        return [act.SendDigits(0, command.digits, ref)]
    if isinstance(command, app.RunTask | app.Stream | app.StopStream):
        return outside.execute(call, command)
    if isinstance(command, app.Pause):
        call.busy = Busy("pause")
        return [act.SetTimer("pause", now + command.seconds)]
    if isinstance(command, app.Gather):
        return gathering.start(call, command, now)
    if isinstance(command, app.Record):
        return record(call, command, now)
    if isinstance(command, app.Bridge):
        return connecting.bridge(call, command, now)
    if isinstance(command, app.Transfer):
        return connecting.bridge(call, command, now)
    if isinstance(command, app.TakeMessage):
        return take_message(call, command, now)
    if isinstance(command, app.Redirect):
        ref = call._ref()
        call.busy = Busy("redirect", ref)
        call._redirect_status = command.status
        return [act.Redirect(command.status, ref)]
    if isinstance(command, app.HangUp):
        answered = call.answered is not None
        status = "completed" if answered else outcome_name(command.status)
        return ending.hang_up(call, now, command.cause, status=status, sip_status=command.status)
    return []


def answer(call: Call, now: float) -> list[Action]:
    """200 to the caller; the call is answered (its length bounded from here)."""
    a = call.a
    if not isinstance(a, IncomingLeg) or not a.pending:
        return []
    body = call._answer_body()
    call.local_sdp = body
    out = a.answer(body, call.ids.local_seq())
    return [*out, *answered(call, now)]


def answered(call: Call, now: float) -> list[Action]:
    call.answered = now
    call.state = CallState.ANSWERED
    limit = call.max_seconds or call.settings.max_call_seconds
    out: list[Action] = [act.SetTimer("max", now + limit)]
    if call.recording is not None and call.sides == 2:
        out.extend(recording.start_recording(call))
    return out


def take_message(call: Call, command: app.TakeMessage, now: float) -> list[Action]:
    box = command.box
    call.voicemail = (box.user_id, box.number)
    call.user_id = box.user_id
    call.max_seconds = box.max_seconds
    if call.sides == 1 and call.record_path == box.record_path:
        call.queue.appendleft(app.Play(box.greeting))
        return answer(call, now)
    # The relay that rang the devices gives way to a session recording the caller;
    # the devices that rang no longer take part (V2 counts the caller alone, as for
    # a call sent to voicemail at once).
    call.users = set(call.spec.users)
    call.record_path = box.record_path
    call.sides = 1
    call.busy = Busy("media", command=command)
    return [act.CloseMedia(discard_recording=True), call._open_media(box.record_path)]


def on_play_done(call: Call, event: ev.PlayDone, now: float) -> list[Action]:
    if event.ref == call.notice_ref and call.notice_ref:
        call.notice_ref = 0
        return recording.record_now(call) if event.completed else []
    busy = call.busy
    if busy is not None and busy.kind == "play" and busy.ref == event.ref:
        call.busy = None
        return give(call, app.PlayDone(event.completed), now)
    if busy is not None and busy.kind == "gather":
        return gathering.on_play_done(call, busy, event, now)
    return []


def record(call: Call, command: app.Record, now: float) -> list[Action]:
    """Record the caller: into the command's own file (a TwiML ``<Record>``: the call's
    record does not point at it) or into the call's message file (voicemail, whose file
    the record points at)."""
    ref = call._ref()
    call.busy = Busy("record", ref, command=command, started=now)
    path = command.path
    if path is None:
        path = call.record_path or f"{call.spec.record_id}-message"
        call.record_path = path
        if call.sides == 2:
            call.recording_path = path  # the record points at the message
    call.busy.path = path
    out: list[Action] = [
        act.StartRecording(path, call.audio, call.facts(), beep=command.beep),
        act.SetTimer("record", now + command.max_seconds),
    ]
    if command.silence:
        out.append(act.WatchSilence(ref, command.silence))
    return out


def on_digit(call: Call, digit: str, now: float) -> list[Action]:
    busy = call.busy
    if busy is not None and busy.kind == "gather":
        return gathering.on_digit(call, busy, digit, now)
    if busy is not None and busy.kind == "record":
        command = busy.command
        assert isinstance(command, app.Record)
        if command.finish_key and digit in command.finish_key:
            return recorded(call, now, digit)
    call.typeahead = (call.typeahead + digit)[-32:]
    if busy is not None and busy.kind == "play":
        command = busy.command
        if isinstance(command, app.Play) and command.barge_in:
            # The caller answers before the prompt ends: stop it; the digit waits in
            # the type-ahead for the Gather that follows.
            call.busy = None
            return [act.StopPlay(busy.ref), *give(call, app.PlayDone(False), now)]
    return give(call, app.DigitPressed(digit), now)


def recorded(call: Call, now: float, digit: str = "") -> list[Action]:
    busy = call.busy
    call.busy = None
    out: list[Action] = [act.CancelTimer("record"), act.StopRecording(discard=False)]
    if busy is None or busy.kind != "record":
        return [*out, *give(call, app.RecordDone(call.record_path), now)]
    command = busy.command
    if isinstance(command, app.Record) and command.silence:
        out.append(act.StopWatching(busy.ref))
    done = app.RecordDone(busy.path, max(0.0, now - busy.started), digit)
    return [*out, *give(call, done, now)]


def on_silence(call: Call, event: ev.Silence, now: float) -> list[Action]:
    busy = call.busy
    if busy is None or busy.ref != event.ref or busy.kind != "record":
        return []
    return recorded(call, now)


def interrupt(call: Call, commands: Sequence[app.Command], now: float) -> list[Action]:
    """Stop the command running (its late event is then nobody's), drop the queue and
    run ``commands``: a live redirect. A party ringing for a bridge is cancelled; a
    party already bridged stays (a redirect changes what the application does next)."""
    if call.ended:
        return []
    busy, call.busy = call.busy, None
    call.queue.clear()
    out: list[Action] = []
    if busy is not None:
        command = busy.command
        if busy.kind == "play":
            out.append(act.StopPlay(busy.ref))
        elif busy.kind == "pause":
            out.append(act.CancelTimer("pause"))
        elif busy.kind == "gather":
            out.append(act.CancelTimer("gather"))
            if busy.prompt_ref > 0:
                out.append(act.StopPlay(busy.prompt_ref))
            if isinstance(command, app.Gather) and command.speech is not None:
                out.append(act.StopListening(busy.ref))
        elif busy.kind == "record":
            out.extend([act.CancelTimer("record"), act.StopRecording(discard=False)])
            if isinstance(command, app.Record) and command.silence:
                out.append(act.StopWatching(busy.ref))
        elif busy.kind == "stream" and isinstance(command, app.Stream):
            call.streams.discard(command.name)
            out.append(act.StopStream(command.name))
        elif busy.kind in ("bridge", "transfer", "resolve"):
            call._pending.pop(busy.ref, None)
            ringing = call.connects.get("b")
            if ringing is not None and call.b is None:
                out.extend(ringing.cancel())
    call.queue.extend(commands)
    return [*out, *run(call, now)]
