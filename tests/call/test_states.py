"""Every state of every state enum of the call core is reached by a scripted scenario (as
h11 tests its state machine), and the transitions between them happen in order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dialtone.call import events as ev
from dialtone.call.apps.answering import Greeting
from dialtone.call.apps.ringing import RingThenVoicemail
from dialtone.call.call import CallState
from dialtone.call.dialer import Connect, ConnectState
from dialtone.call.leg import IncomingLeg, IncomingState, OutgoingLeg, OutgoingState
from tests.call.peer import Harness, step
from tests.call.test_bridge import invites


class Recorder:
    """Records the states a harness's call and legs go through after each step."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.seen: list[object] = []

    def look(self) -> None:
        call = self.h.call
        assert call is not None
        self.seen.append(call.state)
        for leg in call.legs():
            if isinstance(leg, IncomingLeg | OutgoingLeg):
                self.seen.append(leg.state)
        for connect in call.connects.values():
            self.seen.append(connect.state)


def greeting_to_bye(r: Recorder) -> None:
    h = r.h
    h.incoming(Greeting("/g.wav", ring_seconds=1), record_path="/r")
    r.look()
    h.open_media(30000)
    r.look()
    h.feed(ev.TimerFired("ring"), after=1)
    r.look()
    h.ack()
    r.look()
    h.feed(h.caller_request("BYE"))  # type: ignore[arg-type]
    r.look()
    h.write_record()
    r.look()


def bridged_with_failures(r: Recorder) -> None:
    h = r.h
    trunk = step(3, kind="trunk")
    h.incoming(RingThenVoicemail((step(1, 2), trunk), None), sides=2, record_refusals=False)
    h.open_media()
    r.look()
    first, second = invites(h)
    h.respond(first, 180, tag="x")
    r.look()
    h.respond(first, 486)
    r.look()
    h.feed(ev.TimerFired("step:b"), after=20)  # the second device: CANCELLING
    r.look()
    third = invites(h)[-1]
    h.respond(third, 200, body=h.answer_sdp())
    r.look()
    h.respond(second, 487)
    r.look()
    h.feed(h.callee_request(third, "BYE", cseq=2))
    r.look()


def challenged(r: Recorder) -> None:
    from dialtone.call.dialer import Step, trunk_failover
    from tests.call.peer import destination

    h = r.h
    trunk = Step((destination(1, kind="trunk", credentials=True),), None, trunk_failover)
    h.incoming(RingThenVoicemail((trunk,), None), sides=2, record_refusals=False)
    h.open_media()
    challenge = 'Digest realm="c", nonce="n", algorithm=MD5'
    h.respond(invites(h)[0], 407, headers=(("Proxy-Authenticate", challenge),))
    r.look()
    h.cancel()
    r.look()


def no_answer(r: Recorder) -> None:
    h = r.h
    h.incoming(RingThenVoicemail((step(1, timeout=5),), None), sides=2, record_refusals=False)
    h.open_media()
    h.feed(ev.TimerFired("step:b"), after=5)
    r.look()


SCENARIOS: dict[str, Callable[[Recorder], None]] = {
    "no answer": no_answer,
    "greeting": greeting_to_bye,
    "bridged": bridged_with_failures,
    "challenged": challenged,
}

EVERY_STATE = [*CallState, *IncomingState, *OutgoingState, *ConnectState]


def reached() -> set[object]:
    seen: set[object] = set()
    for scenario in SCENARIOS.values():
        recorder = Recorder(Harness())
        scenario(recorder)
        seen.update(recorder.seen)
    # A connect that never started is IDLE (the first state of every connect).
    seen.add(ConnectState.IDLE)
    return seen


@pytest.mark.parametrize("state", EVERY_STATE, ids=lambda s: f"{type(s).__name__}.{s.name}")
def test_every_state_is_reached(state: object) -> None:
    assert state in reached()


def test_a_connect_starts_idle() -> None:
    connect = Connect("b", 1, (), lambda side: b"", ids=Harness().ids)
    assert connect.state is ConnectState.IDLE
    assert connect.start(0.0).outcome.value == "failed"  # nothing to ring
    assert connect.state is ConnectState.FAILED


def test_the_greeting_goes_through_its_states_in_order() -> None:
    recorder = Recorder(Harness())
    greeting_to_bye(recorder)
    calls = [s for s in recorder.seen if isinstance(s, CallState)]
    legs = [s for s in recorder.seen if isinstance(s, IncomingState)]
    assert list(dict.fromkeys(calls)) == [
        CallState.SETTING_UP,
        CallState.RINGING,
        CallState.ANSWERED,
        CallState.ENDING,
        CallState.ENDED,
    ]
    assert list(dict.fromkeys(legs)) == [
        IncomingState.OFFERED,
        IncomingState.EARLY,
        IncomingState.ANSWERED,
        IncomingState.CONFIRMED,
        IncomingState.ENDED,
    ]


def test_a_bridged_leg_goes_through_its_states_in_order() -> None:
    h = Harness()
    h.incoming(RingThenVoicemail((step(1),), None), sides=2, record_refusals=False)
    h.open_media()
    invite = invites(h)[0]
    assert h.call is not None
    leg = next(leg for leg in h.call.legs() if isinstance(leg, OutgoingLeg))
    states = [leg.state]
    h.respond(invite, 180, tag="x")
    states.append(leg.state)
    h.respond(invite, 200, tag="x", body=h.answer_sdp())
    states.append(leg.state)
    h.feed(h.caller_request("BYE"))  # type: ignore[arg-type]
    h.write_record()
    states.append(leg.state)
    assert states == [
        OutgoingState.CALLING,
        OutgoingState.PROCEEDING,
        OutgoingState.CONFIRMED,
        OutgoingState.ENDED,
    ]
