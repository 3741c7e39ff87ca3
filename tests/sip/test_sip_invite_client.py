"""The UAC side on a fake clock: INVITE client transaction (RFC 3261 §17.1.1, RFC 6026),
the ACK for a failure, CANCEL, and the dialog a 2xx creates (§12.1.2, §13.2.2.4)."""

from __future__ import annotations

import itertools

import pytest

from dialtone.sip.dialog import Dialog
from dialtone.sip.endpoint import SipEndpoint, StraySuccess
from dialtone.sip.headers import Via, parse_name_address
from dialtone.sip.message import Request, Response, make_request, make_response, parse_message
from dialtone.sip.transaction import (
    InviteClientTransaction,
    ResponseReceived,
    Send,
    State,
    TimerSettings,
    TransactionTimedOut,
    ack_for_failure,
    cancel_for,
)
from dialtone.sip.uri import parse_uri

FAR = ("192.0.2.9", 5080)
T = TimerSettings()


def endpoint() -> SipEndpoint:
    tags = (f"tag{n}" for n in itertools.count(1))
    branches = (f"br{n}" for n in itertools.count(1))
    return SipEndpoint(
        local_host="192.0.2.1",
        local_port=5060,
        new_tag=lambda: next(tags),
        new_branch=lambda: next(branches),
    )


def invite(ep: SipEndpoint | None = None, *, route: bool = False) -> Request:
    via = ep.via() if ep else Via("UDP", "192.0.2.1", 5060, (("branch", "z9hG4bKuac1"),))
    extra = (("Route", "<sip:proxy.example;lr>"),) if route else ()
    return make_request(
        "INVITE",
        parse_uri("sip:+33123456789@192.0.2.9:5080"),
        via=via,
        from_=parse_name_address("<sip:+33900000000@192.0.2.1>;tag=mine"),
        to=parse_name_address("<sip:+33123456789@192.0.2.9>"),
        call_id="uac-call-1",
        cseq=7,
        contact="<sip:dialtone@192.0.2.1:5060>",
        extra_headers=extra,
    )


def answer(request: Request, status: int, *, tag: str = "far1", contact: bool = True) -> Response:
    response = make_response(request, status, to_tag=tag)
    if contact and status < 300:
        response.add_header("Contact", "<sip:callee@192.0.2.9:5080>")
        response.add_header("Record-Route", "<sip:p1.example;lr>")
        response.add_header("Record-Route", "<sip:p2.example;lr>")
    parsed = parse_message(response.encode())
    assert isinstance(parsed, Response)
    return parsed


def new_tx(*, reliable: bool = False) -> InviteClientTransaction:
    return InviteClientTransaction(invite(), FAR, now=0.0, reliable=reliable, timers=T)


def fire_all(tx: InviteClientTransaction, end: float) -> list[tuple[float, object]]:
    fired: list[tuple[float, object]] = []
    while tx.deadline is not None and tx.deadline <= end:
        now = tx.deadline
        fired.extend((now, o) for o in tx.handle_timer(now))
    return fired


def test_timer_a_doubles_without_cap_until_timer_b() -> None:
    tx = new_tx()
    assert [type(o) for o in tx.start()] == [Send]
    fired = fire_all(tx, 40.0)
    resend_times = [t for t, o in fired if isinstance(o, Send)]
    # T1, then doubling: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 (no T2 cap for INVITE, §17.1.1.2).
    assert resend_times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert [(t, type(o)) for t, o in fired if not isinstance(o, Send)] == [
        (32.0, TransactionTimedOut)
    ]
    assert tx.state is State.TERMINATED


def test_reliable_transport_never_retransmits_but_times_out() -> None:
    tx = new_tx(reliable=True)
    fired = fire_all(tx, 40.0)
    assert [(t, type(o)) for t, o in fired] == [(32.0, TransactionTimedOut)]


@pytest.mark.parametrize("status", [100, 180, 183])
def test_provisional_stops_retransmissions_and_timer_b(status: int) -> None:
    tx = new_tx()
    outs = tx.receive_response(answer(tx.request, status), 0.2)
    assert [type(o) for o in outs] == ([ResponseReceived])
    assert tx.state is State.PROCEEDING
    assert tx.deadline is None  # the TU's ring timeout decides from here
    assert fire_all(tx, 100.0) == []


def test_2xx_enters_accepted_and_every_2xx_reaches_the_tu_until_timer_m() -> None:
    tx = new_tx()
    ok = answer(tx.request, 200)
    assert [type(o) for o in tx.receive_response(ok, 1.0)] == [ResponseReceived]
    assert tx.state is State.ACCEPTED
    # The retransmitted 2xx and a 2xx from another fork reach the TU too (RFC 6026 §8.4).
    assert [type(o) for o in tx.receive_response(ok, 1.5)] == [ResponseReceived]
    fork = answer(tx.request, 200, tag="far2")
    assert [type(o) for o in tx.receive_response(fork, 1.6)] == [ResponseReceived]
    # A late non-2xx in Accepted is ignored; no ACK is generated for it.
    assert tx.receive_response(answer(tx.request, 486), 1.7) == []
    assert tx.deadline == pytest.approx(1.0 + 32.0)  # Timer M
    assert fire_all(tx, 40.0) == []
    assert tx.state is State.TERMINATED


@pytest.mark.parametrize("status", [300, 404, 486, 503, 603])
def test_failure_is_acked_with_the_same_branch_and_absorbed_until_timer_d(status: int) -> None:
    tx = new_tx()
    tx.receive_response(answer(tx.request, 180), 0.1)
    failure = answer(tx.request, status)
    outs = tx.receive_response(failure, 1.0)
    assert [type(o) for o in outs] == [Send, ResponseReceived]
    first = outs[0]
    assert isinstance(first, Send)
    ack = parse_message(first.data)
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert ack.top_via.branch == tx.request.top_via.branch
    assert ack.to.tag == "far1"
    assert ack.cseq.number == 7
    # The retransmitted failure gets the same ACK again and is not reported twice.
    again = tx.receive_response(failure, 1.5)
    assert again == [Send(first.data, FAR)]
    assert tx.deadline == pytest.approx(1.0 + 32.0)  # Timer D (unreliable)
    fire_all(tx, 40.0)
    assert tx.state is State.TERMINATED


def test_timer_d_is_zero_on_reliable_transports() -> None:
    tx = new_tx(reliable=True)
    tx.receive_response(answer(tx.request, 486), 1.0)
    assert tx.deadline == 1.0


def test_ack_for_failure_keeps_route_set_and_request_uri() -> None:
    request = invite(route=True)
    ack = ack_for_failure(request, answer(request, 404))
    assert str(ack.uri) == str(request.uri)
    assert ack.headers.get_all("Route") == ["<sip:proxy.example;lr>"]
    assert ack.headers.get("From") == request.headers.get("From")


def test_cancel_matches_the_invite_but_is_its_own_transaction() -> None:
    request = invite(route=True)
    cancel = cancel_for(request)
    assert cancel.method == "CANCEL"
    assert cancel.cseq.number == request.cseq.number
    assert cancel.cseq.method == "CANCEL"
    assert cancel.top_via.branch == request.top_via.branch
    assert cancel.headers.get("To") == request.headers.get("To")
    assert cancel.headers.get_all("Route") == request.headers.get_all("Route")


def test_uac_dialog_from_2xx() -> None:
    request = invite()
    ok = answer(request, 200)
    dialog = Dialog.from_response(request, ok)
    assert dialog.id == ("uac-call-1", "mine", "far1")
    assert str(dialog.remote_target) == "sip:callee@192.0.2.9:5080"
    # The route set is the Record-Route list reversed (§12.1.2).
    assert [str(r.uri) for r in dialog.route_set] == ["sip:p2.example;lr", "sip:p1.example;lr"]
    assert dialog.local_seq == 7
    via = Via("UDP", "192.0.2.1", 5060, (("branch", "z9hG4bKack"),))
    ack = dialog.ack(7, via=via)
    assert (ack.method, ack.cseq.number, ack.cseq.method) == ("ACK", 7, "ACK")
    assert ack.to.tag == "far1"
    assert ack.from_.tag == "mine"
    assert str(ack.uri) == "sip:callee@192.0.2.9:5080"
    bye = dialog.create_request("BYE", via=via)
    assert bye.cseq.number == 8
    assert bye.headers.get_all("Route") == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]


@pytest.mark.parametrize(
    ("from_tag", "to_tag"), [(None, "far1"), ("mine", None)], ids=["no-from-tag", "no-to-tag"]
)
def test_uac_dialog_needs_both_tags(from_tag: str | None, to_tag: str | None) -> None:
    request = invite()
    if from_tag is None:
        request.set_header("From", "<sip:+33900000000@192.0.2.1>")
    ok = make_response(request, 200)
    if to_tag is not None:
        ok.set_header("To", f"<sip:x@y>;tag={to_tag}")
    ok.add_header("Contact", "<sip:callee@192.0.2.9>")
    with pytest.raises(Exception, match="tags"):
        Dialog.from_response(request, ok)


def test_endpoint_runs_invite_client_transaction_and_reports_stray_2xx() -> None:
    ep = endpoint()
    request = invite(ep)
    outs = ep.send_request(request, FAR, 0.0)
    assert [type(o) for o in outs] == [Send]
    assert "User-Agent" in request.headers
    ringing = answer(request, 180)
    got = ep.receive(ringing.encode(), FAR, 0.1)
    assert [type(o) for o in got] == [ResponseReceived]
    ok = answer(request, 200)
    assert [type(o) for o in ep.receive(ok.encode(), FAR, 0.2)] == [ResponseReceived]
    # After Timer M the transaction is gone: a late 2xx still reaches the TU.
    ep.handle_timers(0.2 + 32.0)
    assert ep.transaction_count == 0
    late = ep.receive(ok.encode(), FAR, 40.0)
    assert [type(o) for o in late] == [StraySuccess]


def test_endpoint_sends_ack_without_a_transaction() -> None:
    ep = endpoint()
    request = invite(ep)
    dialog = Dialog.from_response(request, answer(request, 200))
    outs = ep.send_request(dialog.ack(7, via=ep.via()), FAR, 0.0)
    assert [type(o) for o in outs] == [Send]
    assert ep.transaction_count == 0


def test_endpoint_cancel_and_487() -> None:
    ep = endpoint()
    request = invite(ep)
    ep.send_request(request, FAR, 0.0)
    ep.receive(answer(request, 180).encode(), FAR, 0.1)
    cancel = cancel_for(request)
    assert [type(o) for o in ep.send_request(cancel, FAR, 0.2)] == [Send]
    ok = parse_message(make_response(cancel, 200, to_tag="far1").encode())
    got = ep.receive(ok.encode(), FAR, 0.3)
    assert [(type(o), o.response.cseq.method) for o in got if isinstance(o, ResponseReceived)] == [
        (ResponseReceived, "CANCEL")
    ]
    terminated = ep.receive(answer(request, 487).encode(), FAR, 0.4)
    kinds = [type(o) for o in terminated]
    assert kinds == [Send, ResponseReceived]  # ACK for the 487, then the TU hears of it
