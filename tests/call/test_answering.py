"""The answering machine and voicemail on the call core, without sockets: every state of
the incoming leg and of the call, the record written before the 200 to a BYE, timers."""

from __future__ import annotations

import pytest

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.application import VoicemailBox
from dialtone.call.apps.answering import Greeting, Voicemail
from dialtone.call.call import Call, CallState
from dialtone.call.leg import IncomingLeg, IncomingState
from tests.call.peer import SDP_G729, SETTINGS, Harness, kinds, responses, spec


def answered(ring: float = 0.5, **kw: object) -> Harness:
    h = Harness()
    h.incoming(Greeting("/g.wav", ring_seconds=ring), record_path="/rec/CA1.wav", **kw)
    h.open_media(30000)
    if ring:
        h.feed(ev.TimerFired("ring"), after=ring)
    return h


def test_greeting_rings_answers_plays_then_bye_waits_for_the_record() -> None:
    h = Harness()
    first = h.incoming(Greeting("/g.wav", ring_seconds=0.5), record_path="/rec/CA1.wav")
    assert kinds(first) == ["OpenMedia"]
    media = first[0]
    assert isinstance(media, act.OpenMedia)
    assert (media.sides, media.record_path, media.audio.codec) == (1, "/rec/CA1.wav", "PCMA")
    assert media.facts is not None
    assert media.facts.record_id == "CA1"
    assert h.call is not None
    assert h.call.state is CallState.SETTING_UP
    a = h.call.a
    assert isinstance(a, IncomingLeg)
    assert a.state is IncomingState.OFFERED

    ringing = h.open_media(30000)
    assert kinds(ringing) == ["resp:180", "SetTimer:ring"]
    assert a.state is IncomingState.EARLY
    assert h.call.state is CallState.RINGING
    ringing_response = ringing[0]
    assert isinstance(ringing_response, act.SendResponse)
    assert "Contact" in ringing_response.response.headers

    ok = h.feed(ev.TimerFired("ring"), after=0.5)
    assert kinds(ok) == ["resp:200", "SetTimer:max", "Play"]
    response = ok[0]
    assert isinstance(response, act.SendResponse)
    assert b"m=audio 30000 RTP/AVP 8" in response.response.body
    assert response.response.headers.get("Allow")
    timer = ok[1]
    assert isinstance(timer, act.SetTimer)
    assert timer.at == pytest.approx(100.5 + 3600)
    assert a.state is IncomingState.ANSWERED
    assert h.call.state is CallState.ANSWERED

    h.ack()
    assert a.state is IncomingState.CONFIRMED

    bye = h.caller_request("BYE")
    assert bye is not None
    ending = h.feed(bye, after=10)
    # The record first; nothing goes to the caller until it is committed.
    assert "resp:200" not in kinds(ending)
    assert kinds(ending)[-2:] == ["CloseMedia", "WriteRecord"]
    record = h.records()[-1].record
    assert (record.status, record.hangup_cause, record.recording_path) == (
        "completed",
        "caller-bye",
        "/rec/CA1.wav",
    )
    assert record.answered_at is not None
    assert record.ended_at is not None
    assert (record.ended_at - record.answered_at).total_seconds() == pytest.approx(10)
    assert h.call.state is CallState.ENDING
    assert a.state is IncomingState.ENDED
    done = h.write_record(ok=True)
    assert kinds(done) == ["resp:200", "CallEnded"]
    assert h.call.state is CallState.ENDED


def test_a_bye_whose_record_fails_is_answered_500() -> None:
    h = answered()
    h.feed(h.caller_request("BYE"))  # type: ignore[arg-type]
    assert responses(h.write_record(ok=False)) == [500]


@pytest.mark.parametrize(
    ("name", "body", "media", "status", "record"),
    [
        ("no codec we offer", SDP_G729, None, 488, ("failed", "488 ")),
        ("no RTP port", None, ev.MediaUnavailable(), 503, ("failed", "rtp-ports-exhausted")),
        (
            "rtpengine down",
            None,
            ev.MediaUnavailable(ev.ENGINE_UNAVAILABLE),
            503,
            ("failed", "media.engine_unavailable"),
        ),
    ],
)
def test_refusals_answer_and_write_a_record(
    name: str, body: bytes | None, media: ev.Event | None, status: int, record: tuple[str, str]
) -> None:
    h = Harness()
    kw = {"body": body} if body is not None else {}
    h.incoming(Greeting("/g.wav"), record_path="/rec/CA1.wav", **kw)  # type: ignore[arg-type]
    if media is not None:
        h.feed(media)
    assert h.answers_to_a() == [status]
    written = h.records()[-1].record
    assert written.status == record[0]
    assert written.hangup_cause.startswith(record[1])
    assert written.recording_path is None
    assert kinds(h.write_record()) == ["CallEnded"]


@pytest.mark.parametrize(
    ("reason", "headers"),
    [
        (ev.PORTS_EXHAUSTED, []),
        (ev.ENGINE_UNAVAILABLE, ['SIP;cause=503;text="media.engine_unavailable"']),
    ],
)
def test_the_b2bua_refuses_when_media_is_unavailable_without_a_record(
    reason: str, headers: list[str]
) -> None:
    # Issue 19: rtpengine not answering refuses the call 503 with its reason code, as
    # the ports running out does (that one without a Reason, as before).
    h = Harness()
    h.incoming(Greeting("/g.wav"), sides=2, record_refusals=False)
    out = h.feed(ev.MediaUnavailable(reason))
    [refusal] = [a for a in out if isinstance(a, act.SendResponse)]
    assert refusal.response.status == 503
    assert refusal.response.headers.get_all("Reason") == headers
    assert kinds(out)[-1] == "CallEnded"
    assert h.records() == []


def test_the_b2bua_refuses_a_bad_offer_without_a_record() -> None:
    h = Harness()
    out = h.incoming(Greeting("/g.wav"), body=SDP_G729, sides=2, record_refusals=False)
    assert kinds(out) == ["resp:488", "CallEnded"]
    assert h.call is not None
    assert h.call.state is CallState.ENDED


def test_cancel_while_ringing_gives_487_and_a_canceled_record() -> None:
    h = Harness()
    h.incoming(Greeting("/g.wav", ring_seconds=0.5), record_path="/rec/CA1.wav")
    h.open_media(30000)
    out = h.cancel()
    assert "resp:487" in kinds(out)
    close = [a for a in out if isinstance(a, act.CloseMedia)]
    assert close == [act.CloseMedia(discard_recording=True)]
    record = h.records()[-1].record
    assert (record.status, record.hangup_cause, record.recording_path) == (
        "canceled",
        "caller-cancel",
        None,
    )
    # The ring timer firing late does nothing.
    assert h.feed(ev.TimerFired("ring"), after=0.5) == []


def test_cancel_while_media_opens_closes_the_media_when_it_arrives() -> None:
    h = Harness()
    h.incoming(Greeting("/g.wav"), record_path="/rec/CA1.wav")
    out = h.cancel()
    assert "resp:487" in kinds(out)
    assert "CloseMedia" not in kinds(out)
    assert h.open_media(30000) == [act.CloseMedia(discard_recording=True)]
    h.write_record()
    assert h.open_media(30000) == [act.CloseMedia(discard_recording=True)]


def test_an_invite_cancelled_before_the_call_is_made_ends_it_at_once() -> None:
    h = Harness()
    event = h.invite_event()
    h.endpoint.respond(
        event.transaction,
        __import__("dialtone.sip.message", fromlist=["make_response"]).make_response(
            event.request, 487, to_tag="x"
        ),
        h.now,
    )

    _call, out = Call.incoming(
        spec(),
        settings=SETTINGS,
        ids=h.ids,
        application=Greeting("/g"),
        event=event,
        path=h.path,
        now=h.now,
    )
    assert kinds(out) == ["CallEnded"]


@pytest.mark.parametrize(
    ("trigger", "cause", "status"),
    [
        (ev.TimerFired("max"), "max-duration", "completed"),
        (ev.HangUp(), "api-hangup", "completed"),
        (ev.Shutdown(), "shutdown", "completed"),
    ],
)
def test_our_hang_up_writes_the_record_then_sends_bye(
    trigger: ev.Event, cause: str, status: str
) -> None:
    h = answered()
    out = h.feed(trigger)
    assert "req:BYE" not in kinds(out)
    record = h.records()[-1].record
    assert (record.status, record.hangup_cause) == (status, cause)
    assert kinds(h.write_record()) == ["req:BYE", "CallEnded"]


def test_no_ack_for_our_200_ends_the_call_as_failed() -> None:
    from dialtone.sip.transaction import TransactionTimedOut

    h = answered()
    out = h.feed(TransactionTimedOut(h.invite.transaction), after=32)
    assert "WriteRecord" in kinds(out)
    assert (h.records()[-1].record.status, h.records()[-1].record.hangup_cause) == (
        "failed",
        "no-ack",
    )


def test_shutdown_while_ringing_gives_480() -> None:
    h = Harness()
    h.incoming(Greeting("/g.wav", ring_seconds=0.5), record_path="/r")
    h.open_media(30000)
    h.feed(ev.Shutdown())
    assert h.answers_to_a()[-1] == 480
    assert h.records()[-1].record.status == "failed"


def test_in_dialog_requests_to_an_answering_call() -> None:
    h = answered()
    reinvite = h.caller_request("INVITE", body=b"v=0\r\n")
    out = h.feed(reinvite)  # type: ignore[arg-type]
    assert responses(out) == [200]
    assert out[0].response.body == h.call.local_sdp  # type: ignore[union-attr]
    assert responses(h.feed(h.caller_request("INFO"))) == [200]  # type: ignore[arg-type]
    assert responses(h.feed(h.caller_request("NOTIFY"))) == [200]  # type: ignore[arg-type]
    assert responses(h.feed(h.caller_request("MESSAGE"))) == [405]  # type: ignore[arg-type]
    # Out of order (a CSeq below the last one): 500 (RFC 3261 §12.2.2).
    assert responses(h.feed(h.caller_request("INFO", cseq=1))) == [500]  # type: ignore[arg-type]


def test_voicemail_answers_at_once_and_the_message_goes_with_the_record() -> None:
    h = Harness()
    box = VoicemailBox("US1", "+33123456789", "/vm/CA1.wav", "/vm-greeting.wav", 120.0)
    h.incoming(Voicemail(box), record_path="/vm/CA1.wav", user_id="US1")
    out = h.open_media(30000)
    assert kinds(out) == ["resp:200", "SetTimer:max", "Play"]
    timer = out[1]
    assert isinstance(timer, act.SetTimer)
    assert timer.at == pytest.approx(100 + 120)
    play = out[2]
    assert isinstance(play, act.Play)
    assert play.prompt == "/vm-greeting.wav"
    h.feed(h.caller_request("BYE"), after=5)  # type: ignore[arg-type]
    record = h.records()[-1].record
    assert record.voicemail == ("US1", "+33123456789")
    assert record.recording_path == "/vm/CA1.wav"
    assert record.user_id == "US1"


def test_a_voicemail_never_answered_has_no_message() -> None:
    h = Harness()
    box = VoicemailBox("US1", "+33123456789", "/vm/CA1.wav", "/vm-greeting.wav")
    h.incoming(Voicemail(box), record_path="/vm/CA1.wav", voicemail=("US1", "+33123456789"))
    h.feed(ev.MediaUnavailable())
    assert h.records()[-1].record.voicemail is None


def test_a_bye_for_an_unknown_dialog_is_481() -> None:
    h = answered()
    request = h.caller_request("BYE")
    assert request is not None
    request.request.headers.set("To", "<sip:x@203.0.113.1>;tag=other")
    request.request._to = None  # type: ignore[attr-defined]
    out = h.feed(request)
    assert responses(out) == [481]


def test_ringing_of_zero_seconds_sends_180_and_200_at_once() -> None:
    h = Harness()
    h.incoming(Greeting("/g.wav", ring_seconds=0), record_path="/r")
    assert kinds(h.open_media(30000)) == ["resp:180", "resp:200", "SetTimer:max", "Play"]


class _PauseThenHangUp:
    def on_event(self, event: object) -> list[object]:
        from dialtone.call import application as app

        if isinstance(event, app.Started):
            return [app.Answer(), app.Pause(2.0), app.HangUp(cause="done")]
        return []


def test_pause_holds_the_queue_until_its_timer() -> None:
    h = Harness()
    h.incoming(_PauseThenHangUp(), record_path="/r")  # type: ignore[arg-type]
    out = h.open_media(30000)
    assert kinds(out) == ["resp:200", "SetTimer:max", "SetTimer:pause"]
    assert h.records() == []
    h.feed(ev.TimerFired("pause"), after=2)
    record = h.records()[-1].record
    assert (record.status, record.hangup_cause) == ("completed", "done")
