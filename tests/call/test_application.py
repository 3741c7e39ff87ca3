"""An application's ``Transfer`` on the call core, without sockets: the caller handed to
a target through the connect a REFER uses; connected, the application leaves; refused,
busy or unanswered, it hears why and the call goes on with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.application import (
    Answer,
    AppEvent,
    Command,
    HangUp,
    Play,
    PlayDone,
    Started,
    Transfer,
    TransferResult,
)
from dialtone.call.call import CallState
from dialtone.call.dialer import Step
from tests.call.peer import Harness, kinds, step
from tests.call.test_bridge import invites


@dataclass
class Reception:
    """Answer, play a welcome, transfer the caller; on a failure, say sorry and hang up."""

    target: tuple[Step, ...] | str
    heard: list[AppEvent] = field(default_factory=list)

    def on_event(self, event: AppEvent) -> Sequence[Command]:
        self.heard.append(event)
        if isinstance(event, Started):
            return [Answer(), Play("/welcome.wav")]
        if isinstance(event, PlayDone) and len(self.heard) == 2:
            if isinstance(self.target, str):
                return [Transfer(target=self.target), Play("/after.wav")]
            return [Transfer(steps=self.target), Play("/after.wav")]
        if isinstance(event, TransferResult) and event.status != 200:
            return [HangUp(cause=f"transfer-{event.status}")]
        if isinstance(event, TransferResult):
            return [Play("/never.wav")]  # dropped: the application has left
        return []


def transferring(target: tuple[Step, ...] | str) -> tuple[Harness, Reception, list[act.Action]]:
    h = Harness()
    app = Reception(target)
    h.incoming(app, sides=2, record_refusals=False)
    out = h.open_media()
    assert kinds(out) == ["SetRemote", "resp:200", "SetTimer:max", "Play"]
    play = out[-1]
    assert isinstance(play, act.Play)
    return h, app, h.feed(ev.PlayDone(play.ref), after=2)


def test_a_transfer_connects_the_caller_and_the_application_leaves() -> None:
    h, app, out = transferring((step(7),))
    assert "req:INVITE" in kinds(out)
    target = invites(h)[-1]
    assert target.uri.user == "d7"  # type: ignore[union-attr]
    answered = h.respond(target, 200, body=h.answer_sdp(7000))
    assert act.SetRemote(1, ("192.0.2.99", 7000)) in answered
    assert "Play" not in kinds(answered)  # what was queued after the transfer is dropped
    assert app.heard[-1] == TransferResult(200)
    assert h.call is not None
    assert h.call.b is not None
    assert h.call.state is CallState.ANSWERED
    # The application hears nothing more, not even the end of the call.
    h.feed(h.callee_request(target, "BYE", cseq=2))
    assert app.heard[-1] == TransferResult(200)
    assert h.records()[-1].record.hangup_cause == "callee-bye"


def hung_up_after_the_queued_play(h: Harness, out: list[act.Action], status: int) -> None:
    """A failed transfer leaves the queue as it was: what followed it plays, then the
    application's answer to the failure runs."""
    play = next(a for a in out if isinstance(a, act.Play))
    assert play.prompt == "/after.wav"
    h.feed(ev.PlayDone(play.ref))
    assert h.records()[-1].record.hangup_cause == f"transfer-{status}"


def test_a_target_is_resolved_as_a_transfer_and_a_refusal_reported_with_its_code() -> None:
    h, app, out = transferring("user:US5")
    resolve = next(a for a in out if isinstance(a, act.ResolveTarget))
    assert (resolve.target, resolve.kind) == ("user:US5", "transfer")
    refusal = ev.Refusal(403, "billing.account_suspended")
    out = h.feed(ev.TargetResolved(resolve.ref, refusal=refusal))
    assert TransferResult(403, "billing.account_suspended") in app.heard
    hung_up_after_the_queued_play(h, out, 403)


def test_a_resolved_target_is_connected() -> None:
    h, app, out = transferring("+33555")
    resolve = next(a for a in out if isinstance(a, act.ResolveTarget))
    h.feed(ev.TargetResolved(resolve.ref, steps=(step(9),)))
    h.respond(invites(h)[-1], 200, body=h.answer_sdp(9000))
    assert app.heard[-1] == TransferResult(200)


@pytest.mark.parametrize(("how", "status"), [("busy", 486), ("no answer", 480)])
def test_a_failed_transfer_goes_back_to_the_application(how: str, status: int) -> None:
    h, app, _ = transferring((step(7, timeout=15),))
    target = invites(h)[-1]
    if how == "busy":
        out = h.respond(target, 486)
    else:
        out = h.feed(ev.TimerFired("step:b"), after=15)
        assert "req:CANCEL" in kinds(out)
        out += h.respond(target, 487)
    assert TransferResult(status) in app.heard
    assert h.call is not None
    assert h.call.state is CallState.ANSWERED
    hung_up_after_the_queued_play(h, out, status)


def test_a_transfer_without_a_relay_is_488() -> None:
    h = Harness()
    app = Reception((step(7),))
    h.incoming(app, sides=1, record_refusals=False, record_path="/rec/x.wav")
    out = h.open_media()
    play = next(a for a in out if isinstance(a, act.Play))
    h.feed(ev.PlayDone(play.ref))
    assert TransferResult(488) in app.heard
