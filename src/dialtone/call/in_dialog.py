"""Requests inside a call's dialogs: BYE (the record first), re-INVITE (hold, resume,
answered here and offered to the other leg), INFO (DTMF), REFER (``transfer``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import commands, ending, transfer
from dialtone.call.actions import Action
from dialtone.call.leg import IncomingLeg, IncomingState, Leg
from dialtone.call.spec import (
    dtmf_digit,
    path_of,
    response_to,
)
from dialtone.sip.endpoint import RequestReceived
from dialtone.sip.errors import SipParseError
from dialtone.sip.sdp import (
    NoAcceptableMedia,
    SessionDescription,
    answer_offer,
)

if TYPE_CHECKING:
    from dialtone.call.call import Call


def on_request(call: Call, event: RequestReceived, now: float) -> list[Action]:
    request = event.request
    leg = call._leg_by_to(request)
    tx = event.transaction
    if leg is None or leg.dialog is None:
        return [act.SendResponse(path_of(call, event), tx, response_to(event, 481))]
    if not leg.dialog.accepts(request):
        return [leg.reply(tx, 500)]
    method = request.method
    if method == "BYE":
        return on_bye(call, leg, tx, now)
    if method == "INVITE":
        return on_reinvite(call, leg, event, now)
    if method == "INFO":
        return on_info(call, leg, event, now)
    if method == "REFER":
        return transfer.on_refer(call, leg, event)
    if method in ("NOTIFY", "OPTIONS", "UPDATE"):
        return [leg.reply(tx, 200)]
    return [leg.reply(tx, 405)]


def other_party(call: Call, leg: Leg) -> Leg | None:
    other = call.b if leg is call.a else call.a
    return other if other is not None and not other.gone else None


def on_bye(call: Call, leg: Leg, tx: object, now: float) -> list[Action]:
    if leg.gone or call.ended:
        # The transferor hanging up after its REFER: the call goes on without it.
        return [leg.reply(tx, 200)]  # type: ignore[arg-type]
    if leg is call.b and call.kept_since is not None:
        return callee_left(call, leg, tx, now)
    leg.gone = True
    if isinstance(leg, IncomingLeg):
        leg.state = IncomingState.ENDED
    cause = "caller-bye" if leg is call.a else "callee-bye"
    status = "completed"
    if call.answered is None:
        # A call we originate: the user hung up while the other party was ringing.
        cause, status = "caller-cancel", "canceled"
    call._bye_tx = (leg, tx)
    return ending.end(call, now, status, cause)


def on_reinvite(call: Call, leg: Leg, event: RequestReceived, now: float) -> list[Action]:
    """Hold, resume or a media change: answered here, and offered to the other leg."""
    request = event.request
    tx = event.transaction
    if leg.reinvite is not None:
        return [leg.reply(tx, 491)]  # glare: ours is pending (§14.1)
    if call.sides == 1:
        # The answering machine keeps playing and recording where it does.
        return [
            leg.reply(
                tx,
                200,
                body=call.local_sdp or b"",
                content_type="application/sdp",
                contact=True,
            )
        ]
    port = call.ports[leg.side] if leg.side < len(call.ports) else 9
    try:
        offer = SessionDescription.parse(request.body)
        answer, audio = answer_offer(
            offer,
            local_address=call.settings.advertised_host,
            local_port=port,
            session_id=call.sdp_session_ids[leg.side],
            session_version=str(leg.sdp_version + 1),
            preference=(call.audio.codec,),
        )
    except (SipParseError, NoAcceptableMedia):
        return [leg.reply(tx, 488)]
    leg.sdp_version += 1
    out: list[Action] = [
        act.SetRemote(leg.side, (audio.remote_address, audio.remote_port)),
        leg.reply(tx, 200, body=answer.serialize(), content_type="application/sdp", contact=True),
    ]
    other = other_party(call, leg)
    if other is None or other.dialog is None:
        return out
    # The other party learns of the hold: we send what this leg sends (its direction).
    direction = offer.direction_for(offer.media[0]) if offer.media else "sendrecv"
    return [*out, *other.send_reinvite(call._offer(other.side, direction))]


def on_info(call: Call, leg: Leg, event: RequestReceived, now: float) -> list[Action]:
    """SIP INFO (DTMF as application/dtmf-relay): passed to the other leg, and a
    digit for the application."""
    request = event.request
    out: list[Action] = [leg.reply(event.transaction, 200)]
    other = other_party(call, leg)
    if other is not None and other.dialog is not None:
        out.append(
            other.request(
                "INFO",
                body=request.body,
                content_type=request.headers.get("Content-Type"),
            )
        )
    digit = dtmf_digit(request)
    if digit is not None and other is None:
        out.extend(commands.on_digit(call, digit, now))
    return out


def callee_left(call: Call, leg: Leg, tx: object, now: float) -> list[Action]:
    """The callee of a bridge that keeps the caller hung up: its BYE is answered at
    once (the call goes on, its record is written at the end) and the application
    hears ``BridgeEnded``."""
    since = call.kept_since if call.kept_since is not None else now
    call.kept_since = None
    call.bridging = None
    leg.gone = True
    call.b = None
    call.retired.append(leg)
    return [leg.reply(tx, 200), *commands.give(call, app.BridgeEnded(now - since), now)]  # type: ignore[arg-type]
