"""Ringing a user or a ring group, then voicemail, as the call application decides it
(``call.apps.ringing``), on the core with the scripted peer (no sockets): no answer, busy,
a group all busy, a member who answers; the record the whole call writes."""

from __future__ import annotations

import pytest

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.application import (
    BridgeResult,
    HangUp,
    Started,
    TakeMessage,
    VoicemailBox,
)
from dialtone.call.apps.ringing import RingThenVoicemail
from dialtone.call.call import CallState
from dialtone.call.dialer import Step, trunk_failover
from tests.call.peer import Harness, kinds, step
from tests.call.test_bridge import invites

BOX = VoicemailBox("US1", "+33123456789", "/vm/CA1.wav", "/vm.wav", 120.0)
# A device's call: V2 counts it against its caller, US9.
CALLER = frozenset({"US9"})


def ringing(*steps: Step, box: VoicemailBox | None = BOX) -> Harness:
    h = Harness()
    h.incoming(
        RingThenVoicemail(steps, box),
        sides=2,
        record_refusals=False,
        users=CALLER,
        caller_user_id="US9",
        direction="internal",
        user_id="US1",
    )
    h.open_media(30000, 30002)
    return h


def leaves_a_message(h: Harness, out: list[act.Action]) -> None:
    """The relay gave way to a session recording into the box; the caller is answered
    with the box's greeting."""
    assert kinds(out)[-2:] == ["CloseMedia", "OpenMedia"]
    opened = out[-1]
    assert isinstance(opened, act.OpenMedia)
    assert (opened.sides, opened.record_path) == (1, "/vm/CA1.wav")
    answer = h.open_media(31000)
    assert kinds(answer) == ["resp:200", "SetTimer:max", "Play"]
    play = answer[-1]
    assert isinstance(play, act.Play)
    assert play.prompt == "/vm.wav"


def test_the_application_alone_decides_what_no_answer_becomes() -> None:
    steps = (step(1),)
    with_box = RingThenVoicemail(steps, BOX)
    assert with_box.on_event(BridgeResult(408)) == [TakeMessage(BOX)]
    assert with_box.on_event(BridgeResult(486)) == [TakeMessage(BOX)]
    # A trunk's own refusal goes back to the caller, box or not.
    assert with_box.on_event(BridgeResult(486, callee_refused=True)) == [HangUp(486, "callee-486")]
    assert with_box.on_event(BridgeResult(200)) == []
    without = RingThenVoicemail(steps, None)
    assert without.on_event(BridgeResult(486)) == [HangUp(486, "no-answer-486")]
    # Nobody to ring: the box at once, else the caller hears 480.
    assert RingThenVoicemail((), BOX).on_event(Started()) == [TakeMessage(BOX)]
    assert RingThenVoicemail((), None).on_event(Started()) == [HangUp(480, "no-answer-480")]


def test_ring_timeout_goes_to_voicemail_with_one_record() -> None:
    h = ringing(step(1, timeout=20))
    assert len(invites(h)) == 1
    out = h.feed(ev.TimerFired("step:b"), after=20)
    assert "req:CANCEL" in kinds(out)
    leaves_a_message(h, out)
    h.feed(h.caller_request("BYE"), after=30)  # type: ignore[arg-type]
    [written] = h.records()
    record = written.record
    assert record.voicemail == ("US1", "+33123456789")
    assert (record.status, record.user_id, record.caller_user_id) == ("completed", "US1", "US9")
    assert record.direction == "internal"
    assert record.recording_path == "/vm/CA1.wav"
    assert record.answered_at is not None
    assert (record.answered_at - record.started_at).total_seconds() == pytest.approx(20)


def test_busy_goes_to_voicemail_and_the_busy_phone_stays_in_the_chain() -> None:
    h = ringing(step(1))
    out = h.respond(invites(h)[0], 486)
    leaves_a_message(h, out)
    h.feed(h.caller_request("BYE"), after=5)  # type: ignore[arg-type]
    record = h.records()[-1].record
    assert record.voicemail == ("US1", "+33123456789")
    assert [leg.get("status") for leg in record.legs] == [None, "486"]


def test_the_phones_that_rang_are_not_on_the_call_while_the_message_is_left() -> None:
    """V2: while the caller leaves a message, the callee is free to take another call
    (as when voicemail took the call at once); the caller still counts."""
    h = ringing(step(1))
    assert h.call is not None
    assert "US1" in h.call.users  # ringing: the callee's phone is busy with it
    h.respond(invites(h)[0], 486)
    h.open_media(31000)
    assert h.call.users == {"US9"}


def test_a_group_all_busy_goes_to_the_groups_voicemail() -> None:
    h = ringing(step(1, 2, timeout=10))
    first, second = invites(h)
    assert h.respond(first, 486) == []  # the other member still rings
    out = h.respond(second, 486)
    leaves_a_message(h, out)


def test_a_group_all_busy_without_voicemail_tells_the_caller_busy() -> None:
    h = ringing(step(1, timeout=10), step(2, timeout=10), box=None)
    h.respond(invites(h)[0], 486)
    h.respond(invites(h)[1], 486)
    assert h.answers_to_a()[-1] == 486
    [written] = h.records()
    assert (written.record.status, written.record.hangup_cause) == ("busy", "no-answer-486")
    assert written.record.voicemail is None


def test_a_member_who_answers_takes_the_call_and_no_voicemail_follows() -> None:
    h = ringing(step(1, timeout=10), step(2, timeout=10))
    h.feed(ev.TimerFired("step:b"), after=10)  # the first member does not answer
    second = invites(h)[-1]
    out = h.respond(second, 200, body=h.answer_sdp(5000))
    assert "OpenMedia" not in kinds(out)
    assert h.call is not None
    assert h.call.state is CallState.ANSWERED
    assert h.call.voicemail is None
    h.ack()
    h.feed(h.caller_request("BYE"), after=60)  # type: ignore[arg-type]
    [written] = h.records()
    assert written.record.voicemail is None
    assert written.record.user_id == "US2"  # the member who answered (D1)


def test_a_trunks_busy_goes_back_to_the_caller_not_to_voicemail() -> None:
    h = ringing(step(1, kind="trunk", failover=trunk_failover))
    out = h.respond(invites(h)[0], 486)
    assert "OpenMedia" not in kinds(out)
    assert h.answers_to_a()[-1] == 486


def test_no_media_for_the_message_still_leaves_a_record() -> None:
    """The ports ran out when the relay gave way to the message's session: the caller
    hears 503 and the call keeps its record (as the answering machine's does)."""
    h = ringing(step(1))
    h.respond(invites(h)[0], 486)
    out = h.feed(ev.MediaUnavailable())
    assert h.answers_to_a()[-1] == 503
    assert "WriteRecord" in kinds(out)
    assert h.records()[-1].record.status == "failed"
