"""The example application on the core, without sockets: play, gather two digits (RFC 4733
or INFO), bridge on 1, record on 2, the gather's timeout and finish key."""

from __future__ import annotations

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.call import CallState
from tests.call.apps.menu import Menu
from tests.call.peer import Harness, kinds, step
from tests.call.test_bridge import invites


def menu_call(user: object = None) -> tuple[Harness, Menu, int]:
    h = Harness()
    app = Menu("/menu.wav", user if user is not None else (step(5),))  # type: ignore[arg-type]
    h.incoming(app, sides=2, record_refusals=False, listen_digits=True, record_path="/rec/m.wav")
    opened = h.out[0]
    assert isinstance(opened, act.OpenMedia)
    assert opened.digits
    out = h.open_media()
    assert kinds(out) == ["SetRemote", "resp:200", "SetTimer:max", "Play"]
    play = out[-1]
    assert isinstance(play, act.Play)
    gather = h.feed(ev.PlayDone(play.ref), after=4)
    assert kinds(gather) == ["SetTimer:gather"]
    return h, app, play.ref


def test_one_then_a_digit_bridges_to_the_user() -> None:
    h, app, _ = menu_call()
    assert kinds(h.feed(ev.Digit(0, "1"))) == ["SetTimer:gather"]  # the timeout restarts
    out = h.feed(ev.Digit(0, "4"))
    assert app.heard == ["14"]
    assert "req:INVITE" in kinds(out)
    answered = h.respond(invites(h)[-1], 200, body=h.answer_sdp(5000))
    assert act.SetRemote(1, ("192.0.2.99", 5000)) in answered
    assert h.call is not None
    assert h.call.b is not None
    assert h.call.state is CallState.ANSWERED


def test_two_and_the_finish_key_records_until_pound() -> None:
    h, app, _ = menu_call()
    h.feed(ev.Digit(0, "2"))
    out = h.feed(ev.Digit(0, "#"))
    assert app.heard == ["2"]
    assert kinds(out)[-2:] == ["StartRecording", "SetTimer:record"]
    done = h.feed(ev.Digit(0, "#"), after=5)
    assert "StopRecording" in kinds(done)
    assert h.records()[-1].record.hangup_cause == "message-left"


def test_silence_asks_again_then_hangs_up() -> None:
    h, app, _ = menu_call()
    again = h.feed(ev.TimerFired("gather"), after=3)
    assert kinds(again)[-1] == "Play"
    play = again[-1]
    assert isinstance(play, act.Play)
    h.feed(ev.PlayDone(play.ref))
    h.feed(ev.TimerFired("gather"), after=3)
    assert app.heard == ["", ""]
    assert h.records()[-1].record.hangup_cause == "menu-no-choice"
    assert kinds(h.write_record()) == ["req:BYE", "CallEnded"]


def test_an_info_digit_counts_like_an_rfc4733_one() -> None:
    h, app, _ = menu_call()
    for digit in "1#":
        h.feed(
            h.caller_request(  # type: ignore[arg-type]
                "INFO",
                body=f"Signal={digit}\r\nDuration=160\r\n".encode(),
                headers="Content-Type: application/dtmf-relay\r\n",
            )
        )
    assert app.heard == ["1"]


def test_a_busy_user_ends_the_call() -> None:
    h, _, _ = menu_call()
    h.feed(ev.Digit(0, "1"))
    h.feed(ev.Digit(0, "#"))
    h.respond(invites(h)[-1], 486)
    assert h.records()[-1].record.hangup_cause == "bridge-486"


def test_a_target_is_resolved_by_the_runtime_and_a_refusal_reported() -> None:
    h, _, _ = menu_call("user:US5")
    h.feed(ev.Digit(0, "1"))
    out = h.feed(ev.Digit(0, "#"))
    resolve = next(a for a in out if isinstance(a, act.ResolveTarget))
    assert (resolve.target, resolve.kind) == ("user:US5", "bridge")
    h.feed(ev.TargetResolved(resolve.ref, refusal=ev.Refusal(403, "destination.blocked")))
    assert h.records()[-1].record.hangup_cause == "bridge-403"


def test_digits_pressed_during_the_prompt_count_for_the_gather() -> None:
    h = Harness()
    app = Menu("/menu.wav", (step(5),))
    h.incoming(app, sides=2, record_refusals=False, listen_digits=True)
    out = h.open_media()
    play = out[-1]
    assert isinstance(play, act.Play)
    h.feed(ev.Digit(0, "1"))
    h.feed(ev.Digit(0, "#"))
    started = h.feed(ev.PlayDone(play.ref))
    assert app.heard == ["1"]
    assert "req:INVITE" in kinds(started)
