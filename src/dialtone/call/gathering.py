"""A ``Gather``: its prompts, then the wait for the caller's digits or speech.

Like TwiML's ``<Gather>`` with nested ``<Say>``/``<Play>``/``<Pause>``, the prompts are
part of it: the caller's input counts from the first prompt, a digit or the caller
starting to speak stops the prompt playing (barge-in), and the ``timeout`` runs from
the end of the prompts. Speech is listened for from the start (``Listen``), so an
answer spoken over the prompt is heard whole.
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

# The longest a caller may speak to a Gather once started (TwiML's limit is a minute).
LONGEST_UTTERANCE = 60.0


def start(call: Call, command: app.Gather, now: float) -> list[Action]:
    busy = call.busy = Busy("gather", call._ref(), command=command)
    out: list[Action] = []
    if command.speech is not None:
        out.append(act.Listen(busy.ref, command.speech))
    busy.prompts = list(command.prompts)
    return [*out, *_next_prompt(call, busy, now)]


def _next_prompt(call: Call, busy: Busy, now: float) -> list[Action]:
    """The next prompt, or, with none left, the wait for input (digits typed ahead
    count first)."""
    busy.prompt_ref = 0
    while busy.prompts:
        prompt = busy.prompts.pop(0)
        if isinstance(prompt, app.Pause):
            busy.prompt_ref = -1
            return [act.SetTimer("gather", now + prompt.seconds)]
        busy.prompt_ref = call._ref()
        busy.playing = prompt
        return [act.Play((0,), prompt.prompt, busy.prompt_ref, prompt.beep, prompt.loop)]
    command = busy.command
    assert isinstance(command, app.Gather)
    out: list[Action] = [act.SetTimer("gather", now + command.timeout)]
    typed, call.typeahead = call.typeahead, ""
    for digit in typed:
        if call.busy is not busy:
            break
        out.extend(on_digit(call, busy, digit, now))
    return out


def prompting(busy: Busy) -> bool:
    return busy.prompt_ref != 0


def on_play_done(call: Call, busy: Busy, event: ev.PlayDone, now: float) -> list[Action]:
    if event.ref != busy.prompt_ref:
        return []
    return _next_prompt(call, busy, now)


def on_timer(call: Call, busy: Busy, now: float) -> list[Action]:
    if busy.prompt_ref == -1:  # a pause between prompts is over
        return _next_prompt(call, busy, now)
    return gathered(call, now, timed_out=True)


def _stop_prompts(busy: Busy) -> list[Action]:
    """The caller answered over the prompts: they stop; the wait for input begins."""
    out: list[Action] = []
    if busy.prompt_ref > 0:
        out.append(act.StopPlay(busy.prompt_ref))
    busy.prompts = []
    busy.prompt_ref = 0
    return out


def on_digit(call: Call, busy: Busy, digit: str, now: float) -> list[Action]:
    command = busy.command
    assert isinstance(command, app.Gather)
    out = _stop_prompts(busy) if prompting(busy) else []
    if command.finish_key is not None and digit == command.finish_key:
        return [*out, *gathered(call, now, timed_out=False)]
    busy.digits += digit
    if len(busy.digits) >= command.count:
        return [*out, *gathered(call, now, timed_out=False)]
    return [*out, act.SetTimer("gather", now + command.timeout)]


def gathered(
    call: Call,
    now: float,
    *,
    timed_out: bool,
    speech: str | None = None,
    confidence: float | None = None,
    heard_at: float | None = None,
    speech_ended_at: float | None = None,
) -> list[Action]:
    busy = call.busy
    assert busy is not None
    call.busy = None
    out: list[Action] = [act.CancelTimer("gather")]
    if busy.prompt_ref > 0:
        out.append(act.StopPlay(busy.prompt_ref))
    command = busy.command
    if isinstance(command, app.Gather) and command.speech is not None:
        out.append(act.StopListening(busy.ref))
    event = app.Gathered(busy.digits, timed_out, speech, confidence, now, heard_at, speech_ended_at)
    return [*out, *commands.give(call, event, now)]


def on_speech_started(call: Call, event: ev.SpeechStarted, now: float) -> list[Action]:
    """The caller speaks: a prompt stops (barge-in), the wait for input is over; the
    speech's own end (or the longest utterance) closes the Gather."""
    busy = call.busy
    if busy is None or busy.ref != event.ref or busy.kind != "gather":
        return []
    if busy.prompt_ref > 0 and busy.playing is not None:
        busy.interrupted = [busy.playing, *busy.prompts]
    return [*_stop_prompts(busy), act.SetTimer("gather", now + LONGEST_UTTERANCE)]


def on_speech_heard(call: Call, event: ev.SpeechHeard, now: float) -> list[Action]:
    busy = call.busy
    if busy is None or busy.ref != event.ref or busy.kind != "gather":
        return []
    text = event.text.strip()
    command = busy.command
    if not text:
        if prompting(busy) and isinstance(command, app.Gather) and command.speech is not None:
            # A noise over the prompt, nothing said: keep prompting, listen again.
            return [act.Listen(busy.ref, command.speech)]
        if busy.interrupted and isinstance(command, app.Gather) and command.speech is not None:
            # A cough or a noise stopped the prompts but held no words: the prompt it
            # stopped plays again from its start, then the rest; listening goes on.
            busy.prompts, busy.interrupted = busy.interrupted, []
            return [
                act.CancelTimer("gather"),
                act.Listen(busy.ref, command.speech),
                *_next_prompt(call, busy, now),
            ]
        return gathered(call, now, timed_out=not busy.digits)
    return gathered(
        call,
        now,
        timed_out=False,
        speech=text,
        confidence=event.confidence,
        heard_at=event.heard_at,
        speech_ended_at=event.ended_at,
    )
