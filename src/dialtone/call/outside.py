"""What an application asks of the outside world: tasks the runtime runs for it (a
TwiML document fetched, speech synthesised) and media streams over WebSockets.

The core only keeps the order: a ``RunTask`` or a connected ``Stream`` holds the queue
until its answer; a forked stream runs beside the queue until ``StopStream`` or the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import commands
from dialtone.call import events as ev
from dialtone.call.actions import Action
from dialtone.call.spec import Busy

if TYPE_CHECKING:
    from dialtone.call.call import Call


def execute(call: Call, command: app.RunTask | app.Stream | app.StopStream) -> list[Action]:
    if isinstance(command, app.RunTask):
        ref = call._ref()
        call.busy = Busy("task", ref, command=command)
        return [act.RunTask(command.task, ref)]
    if isinstance(command, app.Stream):
        if command.name in call.streams:
            # One stream per name, as Twilio: a second <Start> of the same name is
            # ignored rather than forking the audio twice.
            return []
        call.streams.add(command.name)
        if command.connect:
            call.busy = Busy("stream", command=command)
        return [act.StartStream(command)]
    if command.name not in call.streams:
        return []
    call.streams.discard(command.name)
    return [act.StopStream(command.name)]


def on_task_finished(call: Call, event: ev.TaskFinished, now: float) -> list[Action]:
    busy = call.busy
    if busy is None or busy.kind != "task" or busy.ref != event.ref:
        return []
    command = busy.command
    assert isinstance(command, app.RunTask)
    call.busy = None
    return commands.give(call, app.TaskDone(command.task, event.result, event.error), now)


def on_stream_closed(call: Call, event: ev.StreamClosed, now: float) -> list[Action]:
    call.streams.discard(event.name)
    busy = call.busy
    if busy is None or busy.kind != "stream":
        return []
    command = busy.command
    if not isinstance(command, app.Stream) or command.name != event.name:
        return []
    call.busy = None
    return commands.give(call, app.StreamEnded(event.name, event.error), now)


def after_end(call: Call, commands_: list[app.Command]) -> list[Action]:
    """What an application asks once its call has ended: only tasks run (a recording
    saved, a status callback owed); nobody waits for their answers."""
    return [act.RunTask(c.task, 0) for c in commands_ if isinstance(c, app.RunTask)]
