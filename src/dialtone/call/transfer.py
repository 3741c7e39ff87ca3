"""Transfers: a REFER (RFC 3515, NOTIFYs with message/sipfrag to the transferor), the
targets the runtime resolved (a REFER's, click-to-call's number, an application's
``Bridge``/``Transfer``), and the hand-over once the new party answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import commands, connecting, ending, in_dialog, recording
from dialtone.call import events as ev
from dialtone.call.actions import Action
from dialtone.call.leg import Leg, OutgoingLeg
from dialtone.call.spec import (
    Busy,
    Idle,
    outcome_name,
)
from dialtone.sip.endpoint import RequestReceived
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import parse_name_address

if TYPE_CHECKING:
    from dialtone.call.call import Call


def hand_over(call: Call) -> None:
    """A transfer connected: the application hears it last and leaves the call (what
    it queued or answers is dropped; the caller and the target talk until a BYE)."""
    call.application.on_event(app.TransferResult(200))
    call.application = Idle()
    call.queue.clear()


def on_refer(call: Call, transferor: Leg, event: RequestReceived) -> list[Action]:
    """Blind transfer (RFC 3515): the party on the other leg is connected to Refer-To;
    the transferor hears how it went in NOTIFYs (message/sipfrag)."""
    request = event.request
    tx = event.transaction
    refer_to = request.headers.get("Refer-To")
    transferee = in_dialog.other_party(call, transferor)
    if refer_to is None or transferee is None or call.sides != 2 or call._refer is not None:
        return [transferor.reply(tx, 400 if refer_to is None else 603)]
    try:
        target = parse_name_address(refer_to, what="Refer-To").uri
    except SipParseError:
        return [transferor.reply(tx, 400)]
    call._refer = transferor
    ref = call._ref()
    call._pending[ref] = "refer"
    return [
        transferor.reply(tx, 202),
        *transferor.notify("SIP/2.0 100 Trying", active=True),
        act.ResolveTarget(str(target), ref, kind=f"refer:{transferor.side}"),
    ]


def on_resolved(call: Call, event: ev.TargetResolved, now: float) -> list[Action]:
    purpose = call._pending.pop(event.ref, None)
    if purpose is None or call.ended:
        return []
    if purpose == "refer":
        transferor = call._refer
        if transferor is None:
            return []
        if event.refusal is not None:
            call._refer = None
            refusal = event.refusal
            return transferor.notify(f"SIP/2.0 {refusal.status} {refusal.reason}", active=False)
        if not event.steps:
            call._refer = None
            return transferor.notify("SIP/2.0 404 Not Found", active=False)
        return connecting.connect(call, transferor.side, event.steps, now, "refer")
    call.busy = None
    if purpose == "originate":
        if event.refusal is not None or not event.steps:
            status = event.refusal.status if event.refusal is not None else 404
            return ending.end(call, now, outcome_name(status), f"callee-{status}")
        return connecting.connect(call, 1, event.steps, now, "b")
    # An application's bridge or transfer.
    if event.refusal is not None:
        refusal = event.refusal
        return commands.give(call, connecting.result(purpose, refusal.status, refusal.reason), now)
    if not event.steps:
        return commands.give(call, connecting.result(purpose, 404), now)
    call.busy = Busy(purpose)
    return connecting.connect(call, 1, connecting.bounded(call, event.steps), now, "b")


def transferred(call: Call, leg: OutgoingLeg) -> list[Action]:
    """The transferee talks to the new party: the transferor hears 200, then BYE."""
    transferor = call._refer
    call._refer = None
    if leg.side == 0:
        call.a = leg
    else:
        call.b = leg
    out: list[Action] = list(recording.facts_changed(call))
    if transferor is not None:
        # Its part is over: its dialog ends, a BYE of its own is answered 200.
        call.retired.append(transferor)
        out.extend(transferor.notify("SIP/2.0 200 OK", active=False))
        out.extend(transferor.bye())
    return out
