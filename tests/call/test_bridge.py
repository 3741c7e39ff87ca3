"""The B2BUA on the call core, without sockets: ringing steps, early media, the first 2xx
winning, CANCEL racing a 200, failover, busy wins, digest, codec mismatch, ring-group
timeouts, voicemail after no answer, re-INVITE (and glare), INFO, BYE during a re-INVITE."""

from __future__ import annotations

import pytest

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.application import VoicemailBox
from dialtone.call.apps.ringing import RingThenVoicemail
from dialtone.call.call import CallState
from dialtone.call.dialer import Step, trunk_failover
from dialtone.call.leg import IncomingState, OutgoingLeg, OutgoingState
from dialtone.sip.message import Request
from tests.call.peer import SDP_G729, Harness, destination, kinds, responses, step

BOX = VoicemailBox("US1", "+33123456789", "/vm/CA1.wav", "/vm.wav", 120.0)


def ringing(*steps: Step, box: VoicemailBox | None = None) -> Harness:
    h = Harness()
    h.incoming(RingThenVoicemail(steps, box), sides=2, record_refusals=False)
    h.open_media(30000, 30002)
    return h


def invites(h: Harness) -> list[Request]:
    return [a.request for a in h.sent("INVITE") if a.request.to.tag is None]


def leg_of(h: Harness, request: Request) -> OutgoingLeg:
    assert h.call is not None
    for leg in h.call.legs():
        if isinstance(leg, OutgoingLeg) and leg.call_id == request.call_id:
            return leg
    raise AssertionError("no leg")


def connected(h: Harness | None = None) -> tuple[Harness, Request]:
    h = h or ringing(step(1))
    invite = invites(h)[0]
    h.respond(invite, 200, body=h.answer_sdp())
    h.ack()
    return h, invite


def test_ringing_relays_one_180_and_the_first_200_wins() -> None:
    h = ringing(step(1, 2))
    first, second = invites(h)
    assert b"m=audio 30002 RTP/AVP 8" in first.body  # the relay's B side, A's codec
    assert responses(h.respond(first, 180, tag="x")) == [180]
    assert responses(h.respond(second, 180, tag="y")) == []  # one 180 to the caller
    answer = h.respond(first, 200, tag="x", body=h.answer_sdp(5000))
    assert kinds(answer)[:1] == ["req:ACK"]
    assert "req:CANCEL" in kinds(answer)  # the other device
    assert act.SetRemote(1, ("192.0.2.99", 5000)) in answer
    assert 200 in responses(answer)
    assert h.call is not None
    assert h.call.state is CallState.ANSWERED
    assert h.call.user_id == "US1"  # who took it (D1)
    assert leg_of(h, second).state is OutgoingState.CANCELLING
    # The other device answered anyway (its 200 crossed our CANCEL): ACK and BYE.
    late = h.respond(second, 200, tag="y", body=h.answer_sdp())
    assert kinds(late) == ["req:ACK", "req:BYE"]


def test_early_media_183_carries_our_sdp_to_the_caller() -> None:
    h = ringing(step(1, kind="trunk", failover=trunk_failover))
    out = h.respond(invites(h)[0], 183, body=h.answer_sdp(6000))
    assert act.SetRemote(1, ("192.0.2.99", 6000)) in out
    sent = [a for a in out if isinstance(a, act.SendResponse)]
    assert sent[0].response.status == 183
    assert b"m=audio 30000" in sent[0].response.body


def _origin(body: bytes) -> tuple[str, int]:
    """The session id and version of an SDP body's o= line."""
    line = next(x for x in body.decode().splitlines() if x.startswith("o="))
    fields = line[2:].split()
    return fields[1], int(fields[2])


def test_one_sdp_session_per_side_183_then_200_and_a_hold() -> None:
    """RFC 3264 §8: one o= session id for the session's life, the version only grows
    (phones that compare o= lines ignore an answer whose id changed)."""
    h = ringing(step(1, kind="trunk", failover=trunk_failover))
    invite = invites(h)[0]
    early = h.respond(invite, 183, body=h.answer_sdp(6000))
    early_body = next(a for a in early if isinstance(a, act.SendResponse)).response.body
    answered = h.respond(invite, 200, body=h.answer_sdp(6000))
    ok = next(a for a in answered if isinstance(a, act.SendResponse) and a.response.status == 200)
    assert _origin(ok.response.body) == _origin(early_body)
    session, version = _origin(ok.response.body)
    hold = h.answer_sdp(4002).replace(b"a=rtpmap", b"a=sendonly\r\na=rtpmap")
    out = h.feed(h.caller_request("INVITE", body=hold))  # type: ignore[arg-type]
    held = next(a for a in out if isinstance(a, act.SendResponse)).response.body
    assert _origin(held)[0] == session
    assert _origin(held)[1] > version
    # The callee's side keeps its own session: the first offer's id, a higher version.
    first_offer = _origin(invite.body)
    reoffer = _origin(h.sent("INVITE", out)[0].request.body)
    assert reoffer[0] == first_offer[0]
    assert reoffer[1] > first_offer[1]


def test_cancel_from_the_caller_then_the_200_arrives() -> None:
    h = ringing(step(1))
    invite = invites(h)[0]
    out = h.cancel()
    assert "req:CANCEL" in kinds(out)
    assert 487 in responses(out)
    assert h.records()[-1].record.status == "canceled"
    h.write_record()
    late = h.respond(invite, 200, body=h.answer_sdp())
    assert kinds(late) == ["req:ACK", "req:BYE"]


def test_the_200_arrives_then_the_callers_cancel_changes_nothing() -> None:
    h, _ = connected()
    assert h.cancel() == []
    assert h.call is not None
    assert h.call.state is CallState.ANSWERED


@pytest.mark.parametrize(
    ("answers", "status"),
    [
        ((486, 480), 486),  # busy wins, in either order
        ((480, 486), 486),
        ((603, 408), 603),
        ((480, 408), 408),
    ],
)
def test_parallel_failures_merge_busy_winning(answers: tuple[int, int], status: int) -> None:
    h = ringing(step(1, 2))
    for invite, code in zip(invites(h), answers, strict=True):
        h.respond(invite, code)
    assert h.answers_to_a()[-1] == status
    record = h.records()[-1].record
    assert record.hangup_cause == f"no-answer-{status}"
    # Devices that declined are in the chain (V11), with their answer.
    assert [t.get("status") for t in record.legs[1:]] == [str(c) for c in answers]


@pytest.mark.parametrize(
    ("failure", "moves_on"),
    [(503, True), (408, True), ("timeout", True), (486, False), (603, False)],
)
def test_trunk_failover(failure: int | str, moves_on: bool) -> None:
    trunks = Step((destination(1, kind="trunk"),), None, trunk_failover)
    second = Step((destination(2, kind="trunk"),), None, trunk_failover)
    h = ringing(trunks, second)
    first = invites(h)[0]
    if failure == "timeout":
        h.time_out(first)
    else:
        h.respond(first, failure, headers=(("Reason", "Q.850;cause=17"),))  # type: ignore[arg-type]
    assert (len(invites(h)) == 2) is moves_on
    if not moves_on:
        refusal = [a for a in h.out if isinstance(a, act.SendResponse)][-1].response
        assert refusal.status == failure
        assert refusal.headers.get("Reason") == "Q.850;cause=17"
        record = h.records()[-1].record
        assert (record.status, record.hangup_cause, record.trunk_id) == (
            "busy" if failure == 486 else "failed",
            f"callee-{failure}",
            "trunk1",
        )


def test_a_carriers_challenge_is_answered_once() -> None:
    trunk = Step((destination(1, kind="trunk", credentials=True),), None, trunk_failover)
    h = ringing(trunk)
    invite = invites(h)[0]
    challenge = 'Digest realm="carrier", nonce="abc", qop="auth", algorithm=MD5'
    out = h.respond(invite, 407, headers=(("Proxy-Authenticate", challenge),))
    again = [a.request for a in out if isinstance(a, act.SendRequest)]
    assert len(again) == 1
    assert again[0].cseq.number == 2
    assert (again[0].headers.get("Proxy-Authorization") or "").startswith("Digest")
    assert leg_of(h, invite).state is OutgoingState.AUTHENTICATING
    # A second challenge is a failure (407 back to the caller: not a failover status).
    h.respond(again[0], 407, headers=(("Proxy-Authenticate", challenge),))
    assert h.answers_to_a()[-1] == 407


def test_a_callee_answering_a_codec_we_did_not_offer_fails_the_call() -> None:
    h = ringing(step(1))
    out = h.respond(invites(h)[0], 200, body=SDP_G729)
    assert kinds(out)[:3] == ["req:ACK", "Warn", "req:BYE"]
    warn = out[1]
    assert isinstance(warn, act.Warn)
    assert "but was offered PCMA" in warn.text
    refusal = [a for a in out if isinstance(a, act.SendResponse)][-1].response
    assert refusal.status == 488
    assert "media.codec_mismatch" in (refusal.headers.get("Reason") or "")
    record = h.records()[-1].record
    assert (record.status, record.hangup_cause) == ("failed", "media.codec_mismatch")


@pytest.mark.parametrize("strategy", ["sequential", "parallel"])
def test_ring_group_timeouts_then_voicemail(strategy: str) -> None:
    steps = (
        (step(1, timeout=10), step(2, timeout=10))
        if strategy == "sequential"
        else (step(1, 2, timeout=10),)
    )
    h = ringing(*steps, box=BOX)
    rung = len(invites(h))
    assert rung == (1 if strategy == "sequential" else 2)
    out = h.feed(ev.TimerFired("step:b"), after=10)
    assert kinds(out).count("req:CANCEL") == rung
    if strategy == "sequential":
        assert len(invites(h)) == 2
        out = h.feed(ev.TimerFired("step:b"), after=10)
    # Nobody answered: the relay gives way to a session recording the message.
    assert kinds(out)[-2:] == ["CloseMedia", "OpenMedia"]
    opened = out[-1]
    assert isinstance(opened, act.OpenMedia)
    assert (opened.sides, opened.record_path) == (1, "/vm/CA1.wav")
    answer = h.open_media(31000)
    assert kinds(answer) == ["resp:200", "SetTimer:max", "Play"]
    h.feed(h.caller_request("BYE"), after=30)  # type: ignore[arg-type]
    record = h.records()[-1].record
    # One record for the whole call: ringing and the message.
    assert len(h.records()) == 1
    assert record.voicemail == ("US1", "+33123456789")
    assert record.answered_at is not None
    assert (record.answered_at - record.started_at).total_seconds() == pytest.approx(
        20 if strategy == "sequential" else 10
    )


def test_no_answer_without_voicemail_gives_the_caller_480() -> None:
    h = ringing(step(1, timeout=5))
    h.feed(ev.TimerFired("step:b"), after=5)
    assert h.answers_to_a()[-1] == 480
    assert h.records()[-1].record.status == "no-answer"


def test_nobody_to_ring_goes_to_voicemail_at_once() -> None:
    h = ringing(box=BOX)
    assert kinds(h.out)[-2:] == ["CloseMedia", "OpenMedia"]


def test_bye_from_the_callee_writes_the_record_then_answers_and_hangs_up_the_caller() -> None:
    h, invite = connected()
    bye = h.callee_request(invite, "BYE", cseq=5)
    out = h.feed(bye)
    assert "resp:200" not in kinds(out)
    assert h.records()[-1].record.hangup_cause == "callee-bye"
    assert kinds(h.write_record()) == ["resp:200", "req:BYE", "CallEnded"]
    assert h.call is not None
    assert h.call.a is not None
    assert h.call.a.state is IncomingState.ENDED  # type: ignore[attr-defined]


def test_reinvite_is_answered_and_offered_to_the_other_leg() -> None:
    h, _ = connected()
    hold = h.answer_sdp(4002).replace(b"a=rtpmap", b"a=sendonly\r\na=rtpmap")
    out = h.feed(h.caller_request("INVITE", body=hold))  # type: ignore[arg-type]
    assert act.SetRemote(0, ("192.0.2.99", 4002)) in out
    assert responses(out) == [200]
    reoffer = h.sent("INVITE", out)[0].request
    assert reoffer.to.tag == "far"
    assert b"a=sendonly" in reoffer.body  # the other party hears of the hold


def test_glare_both_directions() -> None:
    h, invite = connected()
    h.feed(h.caller_request("INVITE", body=h.answer_sdp(4002)))  # type: ignore[arg-type]
    ours = h.sent("INVITE")[-1].request
    # The callee's own re-INVITE while ours is pending: 491 (RFC 3261 §14.1).
    theirs = h.callee_request(invite, "INVITE", cseq=7, body=h.answer_sdp(5002))
    assert responses(h.feed(theirs)) == [491]
    # Ours answered 491: sent again after the owner's delay, with a new CSeq.
    out = h.respond(ours, 491)
    assert next(a for a in out if isinstance(a, act.SetTimer)).at == pytest.approx(h.now + 3.0)
    leg = leg_of(h, invite)
    again = h.feed(ev.TimerFired(leg.glare_timer), after=3)
    retry = h.sent("INVITE", again)[0].request
    assert retry.cseq.number == ours.cseq.number + 1
    assert kinds(h.respond(retry, 200, body=h.answer_sdp())) == ["req:ACK"]


def test_bye_during_a_reinvite_ends_the_call() -> None:
    h, invite = connected()
    h.feed(h.caller_request("INVITE", body=h.answer_sdp(4002)))  # type: ignore[arg-type]
    pending = h.sent("INVITE")[-1].request
    bye = h.callee_request(invite, "BYE", cseq=9)
    h.feed(bye)
    assert kinds(h.write_record()) == ["resp:200", "req:BYE", "CallEnded"]
    # The re-INVITE's late 2xx is still acknowledged (or it is retransmitted), no more.
    assert kinds(h.respond(pending, 200, body=h.answer_sdp())) == ["req:ACK"]


def test_info_is_relayed_to_the_other_leg() -> None:
    h, _ = connected()
    out = h.feed(
        h.caller_request(  # type: ignore[arg-type]
            "INFO",
            body=b"Signal=5\r\nDuration=160\r\n",
            headers="Content-Type: application/dtmf-relay\r\n",
        )
    )
    assert responses(out) == [200]
    relayed = h.sent("INFO", out)[0].request
    assert relayed.body == b"Signal=5\r\nDuration=160\r\n"


def test_max_duration_ends_a_bridged_call_record_first() -> None:
    h, _ = connected()
    out = h.feed(ev.TimerFired("max"), after=3600)
    assert "req:BYE" not in kinds(out)
    assert kinds(h.write_record()) == ["req:BYE", "req:BYE", "CallEnded"]


def test_shutdown_cancels_ringing_legs_and_gives_480() -> None:
    h = ringing(step(1))
    out = h.feed(ev.Shutdown())
    assert "req:CANCEL" in kinds(out)
    assert h.answers_to_a()[-1] == 480
    assert h.records()[-1].record.status == "no-answer"


def test_recording_notice_plays_before_recording() -> None:
    from dialtone.call.call import RecordingPlan

    h = Harness()
    h.incoming(
        RingThenVoicemail((step(1),), None),
        sides=2,
        record_refusals=False,
        recording=RecordingPlan("/rec/CA1.wav", "notice", "/notice.wav"),
    )
    h.open_media()
    out = h.respond(invites(h)[0], 200, body=h.answer_sdp())
    play = [a for a in out if isinstance(a, act.Play)]
    assert play[0].sides == (0, 1)
    assert "StartRecording" not in kinds(out)
    started = h.feed(ev.PlayDone(play[0].ref))
    assert kinds(started) == ["StartRecording"]
    # A party objects: stopped and deleted; the record has no recording.
    assert h.feed(ev.ObjectToRecording()) == [act.StopRecording(discard=True)]
    h.feed(h.caller_request("BYE"))  # type: ignore[arg-type]
    assert h.records()[-1].record.recording_path is None


def test_an_objection_during_the_notice_means_nothing_is_recorded() -> None:
    from dialtone.call.call import RecordingPlan

    h = Harness()
    h.incoming(
        RingThenVoicemail((step(1),), None),
        sides=2,
        record_refusals=False,
        recording=RecordingPlan("/rec/CA1.wav", "notice", "/notice.wav"),
    )
    h.open_media()
    out = h.respond(invites(h)[0], 200, body=h.answer_sdp())
    play = next(a for a in out if isinstance(a, act.Play))
    h.feed(ev.ObjectToRecording())
    assert h.feed(ev.PlayDone(play.ref)) == []


def test_a_bridge_where_one_leg_fails_connects_the_other() -> None:
    h = ringing(step(1, 2))
    first, second = invites(h)
    assert h.respond(first, 486) == []  # the other device still rings: nothing yet
    out = h.respond(second, 200, tag="y", body=h.answer_sdp())
    assert 200 in responses(out)
    assert h.call is not None
    assert h.call.user_id == "US2"
    h.feed(h.caller_request("BYE"))  # type: ignore[arg-type]
    record = h.records()[-1].record
    # The busy device is in the chain with its answer, then the one that took the call.
    assert [(t["id"], t.get("status")) for t in record.legs[1:]] == [
        ("device1", "486"),
        ("device2", None),
    ]
