"""Connects on a call: an application's ``Bridge`` (or ``Transfer``) and click-to-call
ring steps on a relay side (``dialer.Connect``); ringing and early media go back to the
caller, the first answer with a codec we offered is bridged, a failure is the
application's to decide on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import commands, ending, recording, transfer
from dialtone.call.actions import Action
from dialtone.call.dialer import Connect, Outcome, Step, Update
from dialtone.call.leg import IncomingLeg, Leg, OutgoingLeg
from dialtone.call.spec import (
    CODEC_MISMATCH,
    Busy,
    codecs_of,
    outcome_name,
    passed_headers,
)
from dialtone.policy import call_setup
from dialtone.policy.decision import refuse
from dialtone.sip.errors import SipParseError
from dialtone.sip.message import Response
from dialtone.sip.sdp import (
    NoAcceptableMedia,
    SessionDescription,
    negotiate_answer,
)

if TYPE_CHECKING:
    from dialtone.call.call import Call


# A Subject longer than this is cut: phones show a line or two.
SUBJECT_CHARS = 200


def bridge(call: Call, command: app.Bridge | app.Transfer, now: float) -> list[Action]:
    """An application's bridge, or its transfer: the same connect (side 1, as a
    REFER's target is reached); a transfer also hands the call over once connected."""
    kind = "transfer" if isinstance(command, app.Transfer) else "bridge"
    call.bridging = command if isinstance(command, app.Bridge) else None
    if call.sides != 2 or (kind == "transfer" and (call.b is not None or call.a is None)):
        # Nothing to connect through (an RTP session facing the caller), or a party
        # already bridged: a transfer replaces no one (REFER does that).
        call.busy = None
        return commands.give(call, result(kind, 488), now)
    if command.steps:
        call.busy = Busy(kind)
        side = 0 if originating_user(call) else 1
        steps = bounded(call, command.steps)
        return connect(call, side, steps, now, "a" if side == 0 else "b")
    if command.target is None:
        return commands.give(call, result(kind, 404), now)
    ref = call._ref()
    call._pending[ref] = kind
    call.busy = Busy("resolve", ref)
    caller_id = command.caller_id if isinstance(command, app.Bridge) else None
    return [act.ResolveTarget(command.target, ref, kind=kind, caller_id=caller_id)]


def bounded(call: Call, steps: Sequence[Step]) -> tuple[Step, ...]:
    """The steps of the application's bridge, each ringing no longer than its
    ``timeout`` (TwiML's ``<Dial timeout>``), its ``note`` in each INVITE's Subject."""
    limit = call.bridging.timeout if call.bridging is not None else None
    note = call.bridging.note if call.bridging is not None else None
    if note:
        subject = ("Subject", " ".join(note.split())[:SUBJECT_CHARS])
        steps = [
            replace(
                step,
                destinations=tuple(
                    replace(d, extra_headers=(*d.extra_headers, subject)) for d in step.destinations
                ),
            )
            for step in steps
        ]
    if limit is None:
        return tuple(steps)
    return tuple(
        replace(step, timeout=limit if step.timeout is None else min(step.timeout, limit))
        for step in steps
    )


def result(kind: str, status: int, reason: str | None = None) -> app.AppEvent:
    if kind == "transfer":
        return app.TransferResult(status, reason)
    return app.BridgeResult(status, reason)


def originating_user(call: Call) -> bool:
    """Click-to-call still ringing the user's own devices (side 0)."""
    return call.a is None


def connect(call: Call, side: int, steps: Sequence[Step], now: float, name: str) -> list[Action]:
    connect = Connect(
        name=name,
        side=side,
        steps=tuple(steps),
        offer=call._offer,
        ids=call.ids,
        timeout_status=480 if isinstance(call.a, IncomingLeg) and name == "b" else 408,
        allow=call.settings.allow if name == "b" and isinstance(call.a, IncomingLeg) else None,
    )
    call.connects[name] = connect
    update = connect.start(now)
    return connect_update(call, connect, update, now)


def connect_update(call: Call, connect: Connect, update: Update, now: float) -> list[Action]:
    out = list(update.actions)
    for rung in connect.legs:
        if rung.user_id is not None:
            call.users.add(rung.user_id)
    outcome = update.outcome
    leg = update.leg
    if outcome is Outcome.PROVISIONAL and leg is not None and update.response is not None:
        out.extend(provisional(call, connect, leg, update.response))
    elif outcome is Outcome.ANSWER and leg is not None and update.response is not None:
        out.extend(connected_leg(call, connect, leg, update.response, now))
    elif outcome in (Outcome.LEG_FAILED, Outcome.FAILED):
        response = update.response
        if (
            leg is not None
            and response is not None
            and update.status != 487
            and leg.trace.get("kind") == "device"
            and connect.name == "b"
        ):
            # A phone that declined or was busy is part of the chain (V11), with its
            # answer, even when voicemail takes the call afterwards.
            call.traces.append({**leg.trace, "status": str(response.status)})
        if outcome is Outcome.FAILED:
            out.extend(connect_failed(call, connect, update, now))
    return out


def provisional(call: Call, connect: Connect, leg: OutgoingLeg, response: Response) -> list[Action]:
    """Ringing (or early media) on the callee's side goes back to a caller still
    waiting: one 180, and a 183 with our SDP for each early media answer."""
    a = call.a
    if connect.name != "b" or not isinstance(a, IncomingLeg) or not a.pending:
        return []
    out: list[Action] = []
    body = b""
    if response.status == 183 and response.body and leg.invite is not None:
        try:
            early = negotiate_answer(
                SessionDescription.parse(leg.invite.body),
                SessionDescription.parse(response.body),
            )
        except (SipParseError, NoAcceptableMedia):
            early = None
        if early is not None:
            out.append(act.SetRemote(1, (early.remote_address, early.remote_port)))
            body = call._answer_body()
    if call.ringing_sent and not body:
        return out
    call.ringing_sent = True
    return [*out, *a.provisional(183 if body else 180, body)]


def connected_leg(
    call: Call, connect: Connect, leg: OutgoingLeg, response: Response, now: float
) -> list[Action]:
    """A leg answered: bridged when its answer has a codec we offered, else hung up."""
    assert leg.invite is not None
    try:
        audio = negotiate_answer(
            SessionDescription.parse(leg.invite.body), SessionDescription.parse(response.body)
        )
    except (SipParseError, NoAcceptableMedia) as exc:
        if call.answered is None:
            call.failure = CODEC_MISMATCH
            note_trunk(call, leg)
        who = leg.destination.uri if leg.destination is not None else "the party"
        warn = act.Warn(
            f"call {call.spec.record_id}: {who} answered {codecs_of(response.body)} but"
            f" was offered {codecs_of(leg.invite.body)} ({getattr(exc, 'reason', exc)}):"
            f" {CODEC_MISMATCH}, the leg is hung up"
        )
        update = connect.reject(leg, 488, now)
        return [warn, *connect_update(call, connect, update, now)]
    out = connect.won(leg)
    call.failure = None
    if not call.audio_settled:
        call.audio = audio
        call.audio_settled = True
    out.append(
        act.SetRemote(
            leg.side,
            (audio.remote_address, audio.remote_port),
            # A party before on that side (a transferor, a callee who left a caller
            # the application kept): the relay follows the new one.
            new_party=connect.name == "refer" or any(r.side == leg.side for r in call.retired),
        )
    )
    note_trunk(call, leg)
    if leg.user_id is not None:
        call.users.add(leg.user_id)
    call.traces.append(leg.trace)
    if connect.name == "refer":
        return [*out, *transfer.transferred(call, leg)]
    if leg.side == 0:
        call.a = leg
    else:
        call.b = leg
    if leg.user_id is not None and connect.name == "b" and not call.originated:
        # The member who took the call is its user (D1: theirs as their own record);
        # a click-to-call stays the user's who clicked.
        call.user_id = leg.user_id
    out.extend(recording.facts_changed(call))
    busy = call.busy
    call.busy = None
    if isinstance(call.a, IncomingLeg) and call.a.pending:
        out.extend(commands.answer(call, now))
    elif call._originate_target is not None and leg.side == 0:
        # Click-to-call: the user answered; now the number.
        target = call._originate_target
        call._originate_target = None
        ref = call._ref()
        call._pending[ref] = "originate"
        call.busy = Busy("resolve", ref)
        return [*out, act.ResolveTarget(target, ref, kind="number")]
    elif call.answered is None:
        out.extend(commands.answered(call, now))
    if busy is not None and busy.kind == "bridge" and call.answer_starts_app:
        call.answer_starts_app = False
        out.extend(commands.give(call, app.Started(now), now))
    elif busy is not None and busy.kind == "bridge":
        if call.bridging is not None and call.bridging.keep_caller:
            call.kept_since = now
        out.extend(commands.give(call, app.BridgeResult(200), now))
    elif busy is not None and busy.kind == "transfer":
        transfer.hand_over(call)
    return out


def connect_failed(call: Call, connect: Connect, update: Update, now: float) -> list[Action]:
    status = update.status
    if connect.name == "refer":
        transferor = call._refer
        call._refer = None
        return transferor.notify(f"SIP/2.0 {status} Failed", active=False) if transferor else []
    if call.failure is not None:
        # A party answered and could not be bridged: the call failed; ringing on (or
        # voicemail) would hide a broken device behind a missed call.
        decision = refuse(call.failure, "the callee answered with no codec we offered")
        return ending.end(
            call,
            now,
            "failed",
            call.failure,
            sip_status=488,
            headers=call_setup.sip_headers(decision),
        )
    if call.originated:
        who = "user" if connect.name == "a" else "callee"
        return ending.end(call, now, outcome_name(status), f"{who}-{status}", sip_status=status)
    step = connect.steps[connect.step] if 0 <= connect.step < len(connect.steps) else None
    refused = step is not None and not step.failover(status)
    if refused and update.leg is not None:
        note_trunk(call, update.leg)
    call._callee_headers = passed_headers(update.response) if refused else ()
    busy, call.busy = call.busy, None
    if busy is not None and busy.kind == "transfer":
        # The call goes on with the application, as a failed REFER leaves it.
        return commands.give(call, app.TransferResult(status), now)
    return commands.give(call, app.BridgeResult(status, callee_refused=refused), now)


def note_trunk(call: Call, leg: Leg) -> None:
    """The trunk a call went out through, once one answered it (for the record)."""
    if call.trunk_id is None and leg.trace.get("kind") == "trunk":
        call.trunk_id = leg.trace.get("id")
