"""Ending a call: the record is written before anything more is sent (the 200 to a BYE,
our BYEs), a caller not answered yet hears the status; a call handed over ends without
a record."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import events as ev
from dialtone.call import outside
from dialtone.call.actions import Action
from dialtone.call.leg import IncomingLeg, OutgoingLeg
from dialtone.call.spec import (
    CallState,
    outcome_name,
)

if TYPE_CHECKING:
    from dialtone.call.call import Call


def hang_up(call: Call, now: float, cause: str, *, status: str, sip_status: int) -> list[Action]:
    """End the call from our side: a caller not answered yet gets ``sip_status``;
    an answered call's record is written, then BYE to every party."""
    if call.ended:
        return []
    if call.answered is None:
        if isinstance(call.a, IncomingLeg) and call.a.pending:
            headers = call._callee_headers
            if cause == "shutdown":
                # As before the core: the answering machine said "failed", the
                # bridge the status the caller was given.
                status = "failed" if call.sides == 1 else outcome_name(sip_status)
            return end(call, now, status, cause, sip_status=sip_status, headers=headers)
        # Click-to-call before the number answered: the user's device gets BYE.
        return end(call, now, outcome_name(sip_status), cause)
    return end(call, now, status, cause)


def end(
    call: Call,
    now: float,
    status: str,
    cause: str,
    *,
    sip_status: int | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> list[Action]:
    """Stop everything and write the record; what the parties hear after that waits
    for ``RecordWritten`` (the record is committed before the 200 to a BYE)."""
    if call.ended:
        return []
    out: list[Action] = []
    a = call.a
    if sip_status is not None and isinstance(a, IncomingLeg) and a.pending:
        out.extend(a.refuse(sip_status, headers))
    for connect in call.connects.values():
        out.extend(connect.cancel())
    for name in ("ring", "max", "pause", "gather", "record"):
        out.append(act.CancelTimer(name))
    answered = call.answered is not None
    if call.state is not CallState.SETTING_UP or call.busy is not None:
        out.append(act.CloseMedia(discard_recording=not answered))
    call.state = CallState.ENDING
    busy, call.busy = call.busy, None
    call.queue.clear()
    # The application hears of it; only tasks it asks for still run (nobody waits for
    # them): a TwiML <Record> the caller hung up on is saved and its action requested.
    last: list[app.AppEvent] = []
    if busy is not None and busy.kind == "record" and busy.path is not None:
        last.append(app.RecordDone(busy.path, max(0.0, now - busy.started), "hangup"))
    last.append(app.FarEndHungUp())
    asked: list[app.Command] = []
    for event in last:
        asked.extend(call.application.on_event(event))
    out.extend(outside.after_end(call, asked))
    recording: str | None = None
    if answered:
        recording = call.record_path if call.sides == 1 else call.recording_path
    ended = call.wall(now)
    record = call.facts(ended_at=ended, status=status, hangup_cause=cause, recording_path=recording)
    if call.voicemail is None or recording is None:
        record = replace(record, voicemail=None)
    call._record_ref = call._ref()
    out.append(act.WriteRecord(record, call._record_ref))
    # Once written: the BYE's answer, then our BYEs to the other parties.
    after: list[Action] = []
    for leg in (call.a, call.b):
        if leg is not None and not leg.gone:
            after.extend(leg.hang_up() if isinstance(leg, OutgoingLeg) else leg.bye())
    call._after_record = after
    return out


def vanish(
    call: Call, *, sip_status: int | None = None, headers: tuple[tuple[str, str], ...] = ()
) -> list[Action]:
    """End without a record (a refusal before anything was set up, or a caller
    handed over to what writes the record instead)."""
    out: list[Action] = []
    a = call.a
    if sip_status is not None and isinstance(a, IncomingLeg) and a.pending:
        out.extend(a.refuse(sip_status, headers))
    for connect in call.connects.values():
        out.extend(connect.cancel())
    for name in ("ring", "max", "pause", "gather", "record"):
        out.append(act.CancelTimer(name))
    if call.state is not CallState.SETTING_UP:
        out.append(act.CloseMedia(discard_recording=True))
    call.state = CallState.ENDED
    call.busy = None
    call.queue.clear()
    out.append(act.CallEnded(call.spec.record_id))
    return out


def on_redirected(call: Call, event: ev.Redirected, now: float) -> list[Action]:
    busy = call.busy
    if busy is None or busy.kind != "redirect" or busy.ref != event.ref or call.ended:
        return []
    call.busy = None
    if event.taken:
        return vanish(call)
    status = call._redirect_status
    return hang_up(call, now, f"no-answer-{status}", status=outcome_name(status), sip_status=status)


def on_record_written(call: Call, event: ev.RecordWritten) -> list[Action]:
    if event.ref != call._record_ref or call.state is not CallState.ENDING:
        return []
    call.state = CallState.ENDED
    out: list[Action] = []
    if call._bye_tx is not None:
        leg, tx = call._bye_tx
        # The record could not be committed: the hang-up is not acknowledged as done.
        out.append(leg.reply(tx, 200 if event.ok else 500))  # type: ignore[arg-type]
    out.extend(call._after_record)
    call._after_record = []
    out.append(act.CallEnded(call.spec.record_id))
    return out
