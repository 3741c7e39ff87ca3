"""REFER (blind transfer, RFC 3515) and click-to-call on the call core, without sockets."""

from __future__ import annotations

import pytest

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.call import CallState
from dialtone.call.leg import OutgoingState
from dialtone.sip.message import Request
from tests.call.peer import SDP_G729, Harness, kinds, responses, step
from tests.call.test_bridge import connected, invites


def notifies(h: Harness, actions: list[act.Action] | None = None) -> list[tuple[str, str]]:
    return [
        (
            a.request.body.decode().strip(),
            (a.request.headers.get("Subscription-State") or "").split(";")[0],
        )
        for a in h.sent("NOTIFY", actions)
    ]


def referred() -> tuple[Harness, Request, act.ResolveTarget]:
    """A connected call whose callee REFERs the caller elsewhere."""
    h, b_invite = connected()
    refer = h.callee_request(b_invite, "REFER", cseq=3)
    refer.request.headers.add("Refer-To", "<sip:+33555@203.0.113.1>")
    out = h.feed(refer)
    assert responses(out) == [202]
    assert notifies(h, out) == [("SIP/2.0 100 Trying", "active")]
    resolve = next(a for a in out if isinstance(a, act.ResolveTarget))
    assert resolve.target == "sip:+33555@203.0.113.1"
    assert resolve.kind == "refer:1"
    return h, b_invite, resolve


def test_a_refused_transfer_target_is_told_in_the_notify() -> None:
    h, _, resolve = referred()
    refusal = ev.Refusal(403, "billing.account_suspended")
    out = h.feed(ev.TargetResolved(resolve.ref, refusal=refusal))
    assert notifies(h, out) == [("SIP/2.0 403 billing.account_suspended", "terminated")]
    assert h.call is not None
    assert h.call.state is CallState.ANSWERED  # the call goes on as it was


def test_an_unknown_transfer_target_is_404() -> None:
    h, _, resolve = referred()
    out = h.feed(ev.TargetResolved(resolve.ref))
    assert notifies(h, out) == [("SIP/2.0 404 Not Found", "terminated")]


@pytest.mark.parametrize(
    ("how", "status"),
    [("busy", 486), ("no answer", 408), ("codec", 488), ("timeout", 408)],
)
def test_transfer_failures(how: str, status: int) -> None:
    h, _, resolve = referred()
    h.feed(ev.TargetResolved(resolve.ref, steps=(step(7, timeout=15),)))
    target = invites(h)[-1]
    assert target.uri.user == "d7"  # type: ignore[union-attr]
    if how == "busy":
        out = h.respond(target, 486)
    elif how == "no answer":
        out = h.feed(ev.TimerFired("step:refer"), after=15)
        assert "req:CANCEL" in kinds(out)
    elif how == "timeout":
        out = h.time_out(target)
    else:
        out = h.respond(target, 200, body=SDP_G729)
        assert "req:BYE" in kinds(out)
    assert notifies(h, out) == [(f"SIP/2.0 {status} Failed", "terminated")]
    assert h.call is not None
    assert h.call.state is CallState.ANSWERED


def test_a_transfer_connects_the_transferee_and_releases_the_transferor() -> None:
    h, b_invite, resolve = referred()
    h.feed(ev.TargetResolved(resolve.ref, steps=(step(7),)))
    target = invites(h)[-1]
    out = h.respond(target, 200, tag="new", body=h.answer_sdp(7000))
    assert act.SetRemote(1, ("192.0.2.99", 7000), new_party=True) in out
    assert notifies(h, out) == [("SIP/2.0 200 OK", "terminated")]
    assert kinds(out)[-1] == "req:BYE"  # to the transferor
    assert h.call is not None
    assert h.call.b is not None
    assert h.call.b.call_id == target.call_id
    # The transferor's own BYE, crossing ours, is answered 200; the call goes on.
    assert responses(h.feed(h.callee_request(b_invite, "BYE", cseq=4))) == [200]
    assert h.call.state is CallState.ANSWERED
    # The new party hangs up: the call ends, its chain naming both callees.
    h.feed(h.callee_request(target, "BYE", tag="new", cseq=2))
    record = h.records()[-1].record
    assert record.hangup_cause == "callee-bye"
    assert [t["id"] for t in record.legs] == [None, "device1", "device7"]


def originated() -> Harness:
    h = Harness()
    out = h.originate([step(1, timeout=30)], target="+33999")
    opened = out[0]
    assert isinstance(opened, act.OpenMedia)
    assert opened.sides == 2
    h.open_media()
    return h


def test_click_to_call_rings_the_user_then_the_number() -> None:
    h = originated()
    device = invites(h)[0]
    assert b"RTP/AVP 8 0 101" in device.body  # every codec until one is agreed
    out = h.respond(device, 200, body=h.answer_sdp())
    resolve = next(a for a in out if isinstance(a, act.ResolveTarget))
    assert (resolve.target, resolve.kind) == ("+33999", "number")
    h.feed(ev.TargetResolved(resolve.ref, steps=(step(9),)))
    callee = invites(h)[-1]
    assert b"RTP/AVP 8 101" in callee.body  # the user's codec
    answered = h.respond(callee, 200, tag="callee", body=h.answer_sdp(9000))
    assert "SetTimer:max" in kinds(answered)
    assert h.call is not None
    assert h.call.state is CallState.ANSWERED
    h.feed(h.callee_request(callee, "BYE", tag="callee", cseq=3), after=60)
    record = h.records()[-1].record
    assert (record.direction, record.status, record.hangup_cause) == (
        "outbound",
        "completed",
        "callee-bye",
    )
    assert record.sip_call_id == device.call_id
    assert record.user_id == record.caller_user_id
    assert kinds(h.write_record()) == ["resp:200", "req:BYE", "CallEnded"]


@pytest.mark.parametrize(
    ("who", "cause", "status"), [("user", "user-486", "busy"), ("callee", "callee-486", "busy")]
)
def test_click_to_call_busy(who: str, cause: str, status: str) -> None:
    h = originated()
    device = invites(h)[0]
    if who == "user":
        h.respond(device, 486)
    else:
        out = h.respond(device, 200, body=h.answer_sdp())
        resolve = next(a for a in out if isinstance(a, act.ResolveTarget))
        h.feed(ev.TargetResolved(resolve.ref, steps=(step(9),)))
        h.respond(invites(h)[-1], 486)
    record = h.records()[-1].record
    assert (record.status, record.hangup_cause) == (status, cause)
    after = kinds(h.write_record())
    # The user's device, answered, gets our BYE once the record is written.
    assert after == (["req:BYE", "CallEnded"] if who == "callee" else ["CallEnded"])


def test_click_to_call_the_user_hangs_up_while_the_number_rings() -> None:
    h = originated()
    device = invites(h)[0]
    out = h.respond(device, 200, tag="dev", body=h.answer_sdp())
    resolve = next(a for a in out if isinstance(a, act.ResolveTarget))
    h.feed(ev.TargetResolved(resolve.ref, steps=(step(9),)))
    callee = invites(h)[-1]
    out = h.feed(h.callee_request(device, "BYE", tag="dev", cseq=2))
    assert "req:CANCEL" in kinds(out)
    record = h.records()[-1].record
    assert (record.status, record.hangup_cause) == ("canceled", "caller-cancel")
    assert h.call is not None
    for leg in h.call.legs():
        if leg.call_id == callee.call_id:
            assert leg.state is OutgoingState.CANCELLING  # type: ignore[attr-defined]
