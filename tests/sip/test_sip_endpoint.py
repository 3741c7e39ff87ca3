"""The sans-I/O endpoint: UAS core checks, CANCEL, ACK matching, routing of responses."""

from __future__ import annotations

import pytest

from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    EndpointPolicy,
    MessageRejected,
    RequestReceived,
)
from dialtone.sip.message import Response, make_response, parse_message
from dialtone.sip.transaction import Send

from .sipfix import SDP, endpoint, request

SOURCE = ("127.0.0.1", 5070)


def sent(outputs: list[object]) -> list[Response]:
    out = []
    for item in outputs:
        if isinstance(item, Send):
            message = parse_message(item.data)
            assert isinstance(message, Response)
            out.append(message)
    return out


def only_event(outputs: list[object], kind: type) -> object:
    events = [o for o in outputs if isinstance(o, kind)]
    assert len(events) == 1, outputs
    return events[0]


def test_options_then_retransmission() -> None:
    ep = endpoint()
    outs = ep.receive(request(), SOURCE, 0.0)
    event = only_event(outs, RequestReceived)
    assert isinstance(event, RequestReceived)
    first = ep.respond(event.transaction, make_response(event.request, 200), 0.0)
    again = ep.receive(request(), SOURCE, 0.1)
    assert [o for o in again if isinstance(o, RequestReceived)] == []
    assert [s.data for s in again if isinstance(s, Send)] == [
        s.data for s in first if isinstance(s, Send)
    ]


def test_invite_100_at_once_then_200_retransmitted_until_ack() -> None:
    ep = endpoint()
    outs = ep.receive(
        request("INVITE", body=SDP, extra="Content-Type: application/sdp\r\n"), SOURCE, 0.0
    )
    assert [r.status for r in sent(outs)] == [100]
    event = only_event(outs, RequestReceived)
    assert isinstance(event, RequestReceived)
    ep.respond(event.transaction, make_response(event.request, 180, to_tag="tt"), 0.0)
    ok = sent(ep.respond(event.transaction, make_response(event.request, 200, to_tag="tt"), 0.1))
    assert ok[0].status == 200
    deadline = ep.next_deadline()
    assert deadline == pytest.approx(0.6)
    assert [r.status for r in sent(ep.handle_timers(0.6))] == [200]
    ack = request("ACK", branch="z9hG4bKack", to_tag="tt")
    event_ack = only_event(ep.receive(ack, SOURCE, 0.7), AckReceived)
    assert isinstance(event_ack, AckReceived)
    assert event_ack.transaction is event.transaction
    # No more retransmissions after the ACK.
    now = 0.7
    while (deadline := ep.next_deadline()) is not None and deadline < 60:
        now = deadline
        assert sent(ep.handle_timers(now)) == []
    assert ep.transaction_count == 0


def test_cancel_before_final() -> None:
    ep = endpoint()
    invite = request("INVITE", body=SDP, extra="Content-Type: application/sdp\r\n")
    event = only_event(ep.receive(invite, SOURCE, 0.0), RequestReceived)
    assert isinstance(event, RequestReceived)
    ep.respond(event.transaction, make_response(event.request, 180, to_tag="tt"), 0.0)
    outs = ep.receive(request("CANCEL"), SOURCE, 0.5)
    assert [r.status for r in sent(outs)] == [200]
    cancel = only_event(outs, CancelReceived)
    assert isinstance(cancel, CancelReceived)
    assert cancel.invite is event.transaction
    terminated = sent(
        ep.respond(cancel.invite, make_response(event.request, 487, to_tag="tt"), 0.5)
    )
    assert terminated[0].status == 487


def test_cancel_after_final_is_answered_but_not_reported() -> None:
    ep = endpoint()
    event = only_event(ep.receive(request("INVITE"), SOURCE, 0.0), RequestReceived)
    assert isinstance(event, RequestReceived)
    ep.respond(event.transaction, make_response(event.request, 200, to_tag="tt"), 0.0)
    outs = ep.receive(request("CANCEL"), SOURCE, 0.5)
    assert [r.status for r in sent(outs)] == [200]
    assert [o for o in outs if isinstance(o, CancelReceived)] == []


def test_cancel_of_nothing_is_481() -> None:
    assert [r.status for r in sent(endpoint().receive(request("CANCEL"), SOURCE, 0.0))] == [481]


@pytest.mark.parametrize(
    ("raw", "status", "header"),
    [
        (request("FOO"), 501, "Allow"),
        (request("REGISTER"), 405, "Allow"),
        (request(extra="Require: 100rel, foo\r\n"), 420, "Unsupported"),
        (request(uri="im:bob@example.com"), 416, None),
        (request(body=b"hello", extra="Content-Type: text/plain\r\n"), 415, "Accept"),
        (request("INVITE", extra="Accept: text/nothing\r\n"), 406, None),
    ],
)
def test_uas_core_checks(raw: bytes, status: int, header: str | None) -> None:
    ep = endpoint()
    outs = ep.receive(raw, SOURCE, 0.0)
    responses = sent(outs)
    assert [r.status for r in responses] == [status]
    assert [o for o in outs if isinstance(o, RequestReceived)] == []
    if header:
        assert header in responses[0].headers
    if status == 420:
        assert responses[0].headers.get("Unsupported") == "100rel, foo"


def test_register_allowed_when_the_policy_says_so() -> None:
    ep = endpoint(policy=EndpointPolicy(methods=frozenset({"REGISTER", "OPTIONS", "ACK"})))
    assert isinstance(
        only_event(ep.receive(request("REGISTER"), SOURCE, 0.0), RequestReceived), RequestReceived
    )


@pytest.mark.parametrize(
    ("rport", "via_port", "source", "destination"),
    [
        (True, 5070, ("127.0.0.1", 40000), ("127.0.0.1", 40000)),
        (False, 5070, ("127.0.0.1", 40000), ("127.0.0.1", 5070)),
        (False, 5070, ("10.0.0.9", 5070), ("10.0.0.9", 5070)),
    ],
)
def test_response_routing(
    rport: bool, via_port: int, source: tuple[str, int], destination: tuple[str, int]
) -> None:
    ep = endpoint()
    outs = ep.receive(request(rport=rport, via_port=via_port), source, 0.0)
    event = only_event(outs, RequestReceived)
    assert isinstance(event, RequestReceived)
    response_out = ep.respond(event.transaction, make_response(event.request, 200), 0.0)
    send = next(o for o in response_out if isinstance(o, Send))
    assert send.destination == destination
    via = sent(response_out)[0].top_via
    if rport:
        assert via.param("rport") == str(source[1])
        assert via.param("received") == source[0]
    if source[0] != "127.0.0.1":
        assert via.param("received") == source[0]


def test_stray_response_is_absorbed() -> None:
    response = (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    outs = endpoint().receive(response, SOURCE, 0.0)
    assert [o for o in outs if isinstance(o, Send)] == []
    assert isinstance(only_event(outs, MessageRejected), MessageRejected)


def test_malformed_ack_gets_no_response() -> None:
    bad_ack = request("ACK").replace(b"CSeq: 1 ACK", b"CSeq: x ACK")
    outs = endpoint().receive(bad_ack, SOURCE, 0.0)
    assert [o for o in outs if isinstance(o, Send)] == []


def test_bye_client_transaction_gets_its_response() -> None:
    ep = endpoint()
    bye = parse_message(request("BYE", branch="z9hG4bKbye1"))
    outs = ep.send_request(bye, SOURCE, 0.0)  # type: ignore[arg-type]
    assert len(outs) == 1
    ok = make_response(bye, 200)  # type: ignore[arg-type]
    events = ep.receive(ok.encode(), SOURCE, 0.1)
    assert [type(e).__name__ for e in events] == ["ResponseReceived"]


MALFORMED = [
    b"",
    b"\r\n",
    b"\x00\x01\x02garbage",
    bytes(range(256)),
    b"INVITE",
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h",
    request().replace(b"Content-Length: 0", b"Content-Length: 99"),
    request().replace(b"Content-Length: 0", b"Content-Length: -1"),
    request().replace(b"Call-ID: call-1\r\n", b""),
    request().replace(b"CSeq: 1 OPTIONS\r\n", b""),
    request().replace(b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n", b""),
    request().replace(b"OPTIONS sip:", b"OPTIONS  sip:"),
    request().replace(b" SIP/2.0\r\nVia", b" SIP/2.0 \r\nVia"),
    request().replace(b"OPTIONS sip:", b"OPTIONS <sip:").replace(b"0.1 SIP", b"0.1> SIP"),
    request().replace(b"SIP/2.0\r\nVia", b"SIP/9.9\r\nVia"),
    request().replace(b"From: <sip:alice@127.0.0.1>", b'From: "x <sip:alice@127.0.0.1>'),
    b"SIP/2.0 99999 Huge\r\n\r\n",
    b"GARBAGE\r\nVia: nothing\r\n\r\n",
    request() + b"\xff" * 70000,
    "OPTIONS sip:ü@h SIP/2.0\r\nVia: \udcff\r\n\r\n".encode("utf-8", "surrogateescape"),
]


def test_twenty_malformed_then_options_still_works() -> None:
    ep = endpoint()
    for n, data in enumerate(MALFORMED):
        outs = ep.receive(data, SOURCE, float(n))
        for item in outs:
            if isinstance(item, Send):  # a 400 may lack From/To when the request did
                assert item.data.startswith((b"SIP/2.0 400 ", b"SIP/2.0 505 ")), item.data[:40]
    outs = ep.receive(request(call_id="after"), SOURCE, 30.0)
    event = only_event(outs, RequestReceived)
    assert isinstance(event, RequestReceived)
    assert event.request.call_id == "after"
    assert ep.stats["rejected"] + ep.stats["dropped"] >= 15
