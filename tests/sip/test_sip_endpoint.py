"""The sans-I/O endpoint: UAS core checks (RFC 3261 §8.2), CANCEL (§9.2), ACK matching
(§13.3.1.4, §17.2.3), response routing (§18.2.2, RFC 3581) and robustness."""

from __future__ import annotations

import itertools

import pytest

from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    EndpointPolicy,
    MessageRejected,
    Output,
    RequestReceived,
    SipEndpoint,
)
from dialtone.sip.headers import Headers
from dialtone.sip.message import Request, Response, make_response, parse_message
from dialtone.sip.transaction import (
    InviteServerTransaction,
    ResponseReceived,
    Send,
    TransactionTimedOut,
)
from dialtone.sip.uri import parse_uri

PEER_IP = "192.0.2.7"
SOURCE = (PEER_IP, 5070)
SDP = (
    b"v=0\r\no=a 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n"
    b"m=audio 6000 RTP/AVP 0\r\n"
)


def new_endpoint(**kw: object) -> SipEndpoint:
    tags = (f"tag{n}" for n in itertools.count(1))
    branches = (f"br{n}" for n in itertools.count(1))
    return SipEndpoint(
        local_host="192.0.2.1",
        local_port=5060,
        new_tag=lambda: next(tags),
        new_branch=lambda: next(branches),
        **kw,  # type: ignore[arg-type]
    )


def request(
    method: str = "OPTIONS",
    *,
    branch: str = "z9hG4bKabc",
    call_id: str = "call-1",
    cseq: int = 1,
    cseq_method: str | None = None,
    to_tag: str | None = None,
    uri: str = "sip:+15551230000@192.0.2.1",
    via: str | None = None,
    rport: bool = False,
    extra: str = "",
    body: bytes = b"",
    content_type: str | None = None,
) -> bytes:
    """A well-formed request from 192.0.2.7:5070 (unless ``via`` says otherwise)."""
    to = "<sip:+15551230000@192.0.2.1>" + (f";tag={to_tag}" if to_tag else "")
    top_via = via or f"SIP/2.0/UDP {PEER_IP}:5070;branch={branch}" + (";rport" if rport else "")
    if body and content_type is None and method == "INVITE":
        content_type = "application/sdp"
    head = (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: {top_via}\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@192.0.2.7>;tag=from1\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {cseq_method or method}\r\n"
        "Contact: <sip:alice@192.0.2.7:5070>\r\n"
        + (f"Content-Type: {content_type}\r\n" if content_type else "")
        + extra
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def sent(outputs: list[Output]) -> list[Response]:
    out = []
    for item in outputs:
        if isinstance(item, Send):
            message = parse_message(item.data)
            assert isinstance(message, Response)
            out.append(message)
    return out


def statuses(outputs: list[Output]) -> list[int]:
    return [r.status for r in sent(outputs)]


def sent_bytes(outputs: list[Output]) -> list[bytes]:
    return [o.data for o in outputs if isinstance(o, Send)]


def events(outputs: list[Output], kind: type) -> list[object]:
    return [o for o in outputs if isinstance(o, kind)]


def one_request(outputs: list[Output]) -> RequestReceived:
    found = [o for o in outputs if isinstance(o, RequestReceived)]
    assert len(found) == 1, outputs
    return found[0]


def drive(ep: SipEndpoint, until: float) -> list[tuple[float, Output]]:
    """Call handle_timers at each next_deadline up to ``until``."""
    fired: list[tuple[float, Output]] = []
    steps = 0
    while (deadline := ep.next_deadline()) is not None and deadline <= until:
        fired.extend((deadline, out) for out in ep.handle_timers(deadline))
        steps += 1
        assert steps < 1000
    return fired


def start_invite(ep: SipEndpoint, now: float = 0.0, **kw: object) -> RequestReceived:
    outs = ep.receive(request("INVITE", body=SDP, **kw), SOURCE, now)  # type: ignore[arg-type]
    assert statuses(outs) == [100]
    return one_request(outs)


# -- OPTIONS and a non-INVITE transaction ----------------------------------------------------


def test_options_request_received_then_200_then_retransmission() -> None:
    ep = new_endpoint()
    outs = ep.receive(request(), SOURCE, 0.0)
    assert sent_bytes(outs) == []  # no 100 for a non-INVITE
    event = one_request(outs)
    assert event.request.method == "OPTIONS"
    assert event.source == SOURCE
    # Retransmission while the application thinks: absorbed, no second event.
    assert ep.receive(request(), SOURCE, 0.5) == []
    first = ep.respond(event.transaction, make_response(event.request, 200, to_tag="t1"), 0.6)
    assert [type(o) for o in first] == [Send]
    assert first[0].destination == SOURCE  # type: ignore[union-attr]
    ok = sent(first)[0]
    assert ok.status == 200
    assert ok.headers.get("Server") == "dialtone"
    for now in (0.7, 5.0, 32.0):
        again = ep.receive(request(), SOURCE, now)
        assert events(again, RequestReceived) == []
        assert sent_bytes(again) == sent_bytes(first)
    assert ep.transaction_count == 1
    # Timer J (64*T1 after the final response) forgets the transaction …
    assert [o for _, o in drive(ep, 100.0)] == []
    assert ep.transaction_count == 0
    assert ep.next_deadline() is None
    # … after which the same request is new again.
    assert isinstance(one_request(ep.receive(request(), SOURCE, 100.0)), RequestReceived)


def test_idle_endpoint_has_no_deadline() -> None:
    ep = new_endpoint()
    assert ep.next_deadline() is None
    assert ep.handle_timers(1000.0) == []


@pytest.mark.parametrize("data", [b"\r\n", b"\r\n\r\n", b"\r\n" * 10])
def test_crlf_keepalives_are_ignored(data: bytes) -> None:
    ep = new_endpoint()
    assert ep.receive(data, SOURCE, 0.0) == []


# -- INVITE, 2xx, ACK --------------------------------------------------------------------------


def test_invite_gets_100_at_once_then_180_200_and_ack_stops_retransmissions() -> None:
    ep = new_endpoint()
    outs = ep.receive(request("INVITE", body=SDP), SOURCE, 0.0)
    assert isinstance(outs[0], Send)  # the 100 goes out before the application is told
    assert isinstance(outs[1], RequestReceived)
    trying = sent(outs)[0]
    assert trying.status == 100
    assert trying.to.tag is None
    event = one_request(outs)
    tx = event.transaction
    assert isinstance(tx, InviteServerTransaction)
    ringing = sent(ep.respond(tx, make_response(event.request, 180, to_tag="tt"), 0.1))
    assert [r.status for r in ringing] == [180]
    assert ringing[0].to.tag == "tt"
    ok_out = ep.respond(
        tx,
        make_response(event.request, 200, to_tag="tt", body=SDP, content_type="application/sdp"),
        0.2,
    )
    (ok,) = sent_bytes(ok_out)
    # The 2xx is retransmitted at T1, 2T1, 4T1 … by the endpoint until the ACK.
    assert ep.next_deadline() == pytest.approx(0.7)
    fired = drive(ep, 4.0)
    assert [t for t, o in fired if isinstance(o, Send)] == pytest.approx([0.7, 1.7, 3.7])
    assert all(o.data == ok for _, o in fired if isinstance(o, Send))
    # A retransmitted INVITE gets the identical 2xx and no second event.
    again = ep.receive(request("INVITE", body=SDP), SOURCE, 4.0)
    assert sent_bytes(again) == [ok]
    assert events(again, RequestReceived) == []
    # The ACK has a branch of its own; it matches by Call-ID and To tag.
    ack_out = ep.receive(request("ACK", branch="z9hG4bKack", to_tag="tt"), SOURCE, 4.1)
    assert sent_bytes(ack_out) == []
    (ack,) = events(ack_out, AckReceived)
    assert isinstance(ack, AckReceived)
    assert ack.transaction is tx
    assert ack.source == SOURCE
    assert ack.request.method == "ACK"
    # No more retransmissions, no timeout, and the transaction goes at Timer L.
    rest = drive(ep, 100.0)
    assert [o for _, o in rest] == []
    assert ep.transaction_count == 0
    assert ep.next_deadline() is None


def test_2xx_without_ack_times_out() -> None:
    ep = new_endpoint()
    event = start_invite(ep)
    ep.respond(event.transaction, make_response(event.request, 200, to_tag="tt"), 0.0)
    fired = drive(ep, 100.0)
    assert len([o for _, o in fired if isinstance(o, Send)]) == 10
    timeouts = [(t, o) for t, o in fired if isinstance(o, TransactionTimedOut)]
    assert len(timeouts) == 1
    assert timeouts[0][0] == pytest.approx(32.0)
    assert timeouts[0][1].transaction is event.transaction
    assert ep.transaction_count == 0


@pytest.mark.parametrize(
    ("to_tag", "call_id"), [("other", "call-1"), (None, "call-1"), ("tt", "call-2")]
)
def test_ack_for_another_dialog_does_not_stop_retransmissions(
    to_tag: str | None, call_id: str
) -> None:
    ep = new_endpoint()
    event = start_invite(ep)
    ep.respond(event.transaction, make_response(event.request, 200, to_tag="tt"), 0.0)
    outs = ep.receive(
        request("ACK", branch="z9hG4bKack", to_tag=to_tag, call_id=call_id), SOURCE, 0.1
    )
    assert sent_bytes(outs) == []
    (ack,) = events(outs, AckReceived)
    assert isinstance(ack, AckReceived)
    assert ack.transaction is None
    assert len([o for _, o in drive(ep, 4.0) if isinstance(o, Send)]) == 3


def test_ack_reusing_the_invite_branch_for_a_2xx_is_reported() -> None:
    ep = new_endpoint()
    event = start_invite(ep)
    ep.respond(event.transaction, make_response(event.request, 200, to_tag="tt"), 0.0)
    outs = ep.receive(request("ACK", to_tag="tt"), SOURCE, 0.1)  # same branch as the INVITE
    (ack,) = events(outs, AckReceived)
    assert isinstance(ack, AckReceived)
    assert ack.transaction is event.transaction
    assert [o for _, o in drive(ep, 100.0) if isinstance(o, Send)] == []


def test_ack_before_any_final_response_is_not_an_ack_for_a_2xx() -> None:
    ep = new_endpoint()
    event = start_invite(ep)
    ep.respond(event.transaction, make_response(event.request, 180, to_tag="tt"), 0.0)
    outs = ep.receive(request("ACK", to_tag="tt"), SOURCE, 0.1)  # same branch, stray
    assert events(outs, AckReceived) == []
    assert sent_bytes(outs) == []
    # The INVITE can still be answered and its 2xx waits for a real ACK.
    ep.respond(event.transaction, make_response(event.request, 200, to_tag="tt"), 0.2)
    assert len([o for _, o in drive(ep, 2.0) if isinstance(o, Send)]) == 2


def test_ack_for_an_earlier_invite_does_not_acknowledge_a_reinvite() -> None:
    # The re-INVITE's dialog has the same Call-ID and To tag; only the CSeq number tells
    # which 2xx an ACK acknowledges (RFC 3261 §13.2.2.4, §17.1.1.3).
    ep = new_endpoint()
    first = start_invite(ep)
    ep.respond(first.transaction, make_response(first.request, 200, to_tag="tt"), 0.0)
    ack1 = request("ACK", branch="z9hG4bKack1", to_tag="tt", cseq=1)
    assert events(ep.receive(ack1, SOURCE, 0.1), AckReceived)
    reinvite = one_request(
        ep.receive(
            request("INVITE", branch="z9hG4bKre", to_tag="tt", cseq=2, body=SDP), SOURCE, 1.0
        )
    )
    ep.respond(reinvite.transaction, make_response(reinvite.request, 200), 1.0)
    # A retransmitted ACK for the first 2xx arrives late.
    (late,) = events(ep.receive(ack1, SOURCE, 1.2), AckReceived)
    assert isinstance(late, AckReceived)
    assert late.transaction is not reinvite.transaction
    assert len([o for _, o in drive(ep, 2.0) if isinstance(o, Send)]) == 1  # at 1.5
    ack2 = request("ACK", branch="z9hG4bKack2", to_tag="tt", cseq=2)
    (real,) = events(ep.receive(ack2, SOURCE, 2.0), AckReceived)
    assert isinstance(real, AckReceived)
    assert real.transaction is reinvite.transaction
    assert [o for _, o in drive(ep, 100.0) if isinstance(o, Send)] == []


def test_non_2xx_final_to_invite_ack_is_absorbed_by_the_transaction() -> None:
    ep = new_endpoint()
    event = start_invite(ep)
    (busy,) = sent_bytes(
        ep.respond(event.transaction, make_response(event.request, 486, to_tag="tt"), 0.0)
    )
    fired = drive(ep, 2.0)
    assert [o.data for _, o in fired if isinstance(o, Send)] == [busy, busy]  # Timer G
    outs = ep.receive(request("ACK", to_tag="tt"), SOURCE, 2.0)
    assert outs == []  # the ACK of a non-2xx ends in the transaction layer
    assert [o for _, o in drive(ep, 100.0) if isinstance(o, Send)] == []
    assert ep.transaction_count == 0


# -- CANCEL ----------------------------------------------------------------------------------


def test_cancel_before_the_final_response() -> None:
    ep = new_endpoint()
    event = start_invite(ep)
    ep.respond(event.transaction, make_response(event.request, 180, to_tag="tt"), 0.0)
    outs = ep.receive(request("CANCEL"), SOURCE, 0.5)
    (ok,) = sent(outs)
    assert (ok.status, ok.cseq.method) == (200, "CANCEL")
    assert ok.to.tag == "tt"  # the same tag as the INVITE's responses (§9.2)
    (cancel,) = events(outs, CancelReceived)
    assert isinstance(cancel, CancelReceived)
    assert cancel.invite is event.transaction
    assert cancel.request.method == "CANCEL"
    terminated = sent(
        ep.respond(cancel.invite, make_response(event.request, 487, to_tag="tt"), 0.5)
    )
    assert [(r.status, r.cseq.method) for r in terminated] == [(487, "INVITE")]
    # A retransmitted CANCEL gets the same 200 and is not reported twice.
    again = ep.receive(request("CANCEL"), SOURCE, 0.6)
    assert statuses(again) == [200]
    assert events(again, CancelReceived) == []
    # The ACK for the 487 (same branch as the INVITE) ends it.
    assert ep.receive(request("ACK", to_tag="tt"), SOURCE, 0.7) == []
    drive(ep, 100.0)
    assert ep.transaction_count == 0


def test_cancel_before_any_tagged_response_still_gets_a_to_tag() -> None:
    ep = new_endpoint()
    start_invite(ep)  # only the 100 Trying went out
    outs = ep.receive(request("CANCEL"), SOURCE, 0.1)
    (ok,) = sent(outs)
    assert ok.status == 200
    assert ok.to.tag  # RFC 3261 §8.2.6.2: a UAS adds a To tag to every non-100 response
    assert len(events(outs, CancelReceived)) == 1


def test_cancel_ignores_require() -> None:
    ep = new_endpoint()
    start_invite(ep)
    outs = ep.receive(request("CANCEL", extra="Require: foo\r\n"), SOURCE, 0.1)
    assert statuses(outs) == [200]


@pytest.mark.parametrize("final", [200, 486])
def test_cancel_after_the_final_response_is_answered_but_not_reported(final: int) -> None:
    ep = new_endpoint()
    event = start_invite(ep)
    ep.respond(event.transaction, make_response(event.request, final, to_tag="tt"), 0.0)
    outs = ep.receive(request("CANCEL"), SOURCE, 0.5)
    assert statuses(outs) == [200]
    assert events(outs, CancelReceived) == []


@pytest.mark.parametrize(
    ("cancel", "with_invite"),
    [
        (request("CANCEL"), False),  # no INVITE at all
        (request("CANCEL", branch="z9hG4bKother"), True),
        (request("CANCEL", via=f"SIP/2.0/UDP {PEER_IP}:5999;branch=z9hG4bKabc"), True),
    ],
    ids=["nothing", "other-branch", "other-sent-by"],
)
def test_cancel_of_unknown_transaction_is_481(cancel: bytes, with_invite: bool) -> None:
    ep = new_endpoint()
    if with_invite:
        start_invite(ep)
    outs = ep.receive(cancel, SOURCE, 1.0)
    (response,) = sent(outs)
    assert (response.status, response.cseq.method) == (481, "CANCEL")
    assert response.to.tag
    assert events(outs, CancelReceived) == []


# -- UAS core checks (RFC 3261 §8.2) ----------------------------------------------------------

POLICY_ALLOW = "ACK, BYE, CANCEL, INVITE, OPTIONS"

CHECKS = [
    # (request bytes, status, header that must be there, its value or None)
    (request("FOO"), 501, "Allow", POLICY_ALLOW),
    (request("NEWMETHOD"), 501, "Allow", POLICY_ALLOW),
    (request("REGISTER"), 405, "Allow", POLICY_ALLOW),
    (request("SUBSCRIBE"), 405, "Allow", POLICY_ALLOW),
    (request("MESSAGE", body=b"hi", content_type="text/plain"), 405, "Allow", POLICY_ALLOW),
    (request(extra="Require: foo\r\n"), 420, "Unsupported", "foo"),
    (request(extra="Require: 100rel, foo\r\n"), 420, "Unsupported", "100rel, foo"),
    (
        request("INVITE", extra="Require: timer\r\nRequire: gruu\r\n"),
        420,
        "Unsupported",
        "timer, gruu",
    ),
    (request(uri="im:bob@example.com"), 416, None, None),
    (request("INVITE", uri="http://example.com/bob"), 416, None, None),
    (request(uri="urn:service:sos"), 416, None, None),
    (request(body=b"hello", content_type="text/plain"), 415, "Accept", "application/sdp"),
    (
        request("INVITE", body=b"<xml/>", content_type="application/xml"),
        415,
        "Accept",
        "application/sdp",
    ),
    (request(body=b"no type"), 415, "Accept", "application/sdp"),
    (request("INVITE", extra="Accept: text/nothing\r\n"), 406, None, None),
    (request("INVITE", extra="Accept: text/html, image/png\r\n"), 406, None, None),
    (request("INVITE", extra="Accept: text/plain\r\n"), 406, None, None),
]


@pytest.mark.parametrize(
    ("raw", "status", "header", "value"),
    CHECKS,
    ids=[f"{n}-{status}" for n, (_, status, _, _) in enumerate(CHECKS)],
)
def test_uas_core_checks(raw: bytes, status: int, header: str | None, value: str | None) -> None:
    ep = new_endpoint()
    outs = ep.receive(raw, SOURCE, 0.0)
    responses = sent(outs)
    assert [r.status for r in responses] == [status]
    assert events(outs, RequestReceived) == []
    (rejected,) = events(outs, MessageRejected)
    assert isinstance(rejected, MessageRejected)
    assert rejected.status == status
    response = responses[0]
    if header is not None:
        assert response.headers.get(header) == value
    # RFC 3261 §8.2.6.2: a To tag on every response but 100.
    assert response.to.tag
    # The rejection went through a transaction: a retransmission gets the same bytes.
    again = ep.receive(raw, SOURCE, 0.1)
    assert sent_bytes(again) == sent_bytes(outs)
    assert events(again, RequestReceived) == []


@pytest.mark.parametrize(
    "raw",
    [
        request("INVITE", body=SDP, extra="Require: timer\r\n"),
        request("INVITE", body=SDP, extra="Accept: application/sdp\r\n"),
        request(extra="Accept: */*\r\n"),
        request(extra="Accept: application/*, text/html\r\n"),
        request(extra="Accept:\r\n"),
        # A 200 to OPTIONS carries no body, so its Accept cannot be unmet (RFC 3261
        # §11.2): sipsak, the usual monitoring probe, sends this one (issue 13).
        request(extra="Accept: text/plain\r\n"),
        request(extra="Accept: text/html, image/png\r\n"),
        request(uri="tel:+15551230000"),
        request(uri="sips:bob@192.0.2.1"),
        request(body=SDP, content_type="application/SDP; charset=x"),
        request("BYE", to_tag="x"),
        request(extra="Proxy-Require: foo\r\n"),  # for proxies only (§8.2.2.3)
    ],
)
def test_acceptable_requests_reach_the_application(raw: bytes) -> None:
    ep = new_endpoint(policy=EndpointPolicy(extensions=frozenset({"timer"})))
    outs = ep.receive(raw, SOURCE, 0.0)
    assert isinstance(one_request(outs), RequestReceived)
    assert events(outs, MessageRejected) == []


def test_check_order_method_before_scheme_before_require() -> None:
    ep = new_endpoint()
    raw = request("REGISTER", uri="im:x@y", extra="Require: foo\r\n")
    assert statuses(ep.receive(raw, SOURCE, 0.0)) == [405]
    raw = request("OPTIONS", uri="im:x@y", extra="Require: foo\r\n", branch="z9hG4bK2")
    assert statuses(ep.receive(raw, SOURCE, 0.0)) == [416]
    raw = request(extra="Require: foo\r\n", body=b"x", content_type="text/plain", branch="z9hG4bK3")
    assert statuses(ep.receive(raw, SOURCE, 0.0)) == [420]


def test_register_allowed_when_the_policy_says_so() -> None:
    ep = new_endpoint(policy=EndpointPolicy(methods=frozenset({"REGISTER", "OPTIONS", "ACK"})))
    assert one_request(ep.receive(request("REGISTER"), SOURCE, 0.0)).request.method == "REGISTER"
    (response,) = sent(ep.receive(request("INVITE", branch="z9hG4bK9"), SOURCE, 0.0))
    assert response.status == 405
    assert response.headers.get("Allow") == "ACK, OPTIONS, REGISTER"


def test_rejected_invite_is_a_full_invite_transaction() -> None:
    ep = new_endpoint()
    raw = request("INVITE", body=b"x", content_type="text/plain")
    outs = ep.receive(raw, SOURCE, 0.0)
    assert statuses(outs) == [415]  # no 100 Trying before a rejection
    fired = drive(ep, 2.0)
    assert len([o for _, o in fired if isinstance(o, Send)]) == 2  # Timer G
    assert ep.receive(request("ACK", to_tag=sent(outs)[0].to.tag), SOURCE, 2.0) == []
    assert [o for _, o in drive(ep, 100.0) if isinstance(o, Send)] == []
    assert ep.transaction_count == 0


# -- malformed input ----------------------------------------------------------------------------

GOOD = request()
MALFORMED = [
    b"",
    b"\x00",
    b"\x00\x01\x02garbage\xff\xfe",
    bytes(range(256)),
    b"INVITE",
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h",
    GOOD[: len(GOOD) // 2],
    GOOD.replace(b"Content-Length: 0", b"Content-Length: 99"),
    GOOD.replace(b"Content-Length: 0", b"Content-Length: -1"),
    GOOD.replace(b"Content-Length: 0", b"Content-Length: 0\r\nl: 0"),
    GOOD.replace(b"Call-ID: call-1\r\n", b""),
    GOOD.replace(b"CSeq: 1 OPTIONS\r\n", b""),
    GOOD.replace(b"Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKabc\r\n", b""),
    GOOD.replace(b"OPTIONS sip:", b"OPTIONS  sip:"),
    GOOD.replace(b" SIP/2.0\r\nVia", b" SIP/2.0 \r\nVia"),
    GOOD.replace(b"SIP/2.0\r\nVia", b"SIP/9.9\r\nVia"),
    GOOD.replace(b"From: Alice", b'From: "Alice'),
    b"SIP/2.0 99999 Huge\r\n\r\n",
    b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n \r\n",
    GOOD + b"\xff" * 70000,  # larger than any datagram
    "OPTIONS sip:ü@h SIP/2.0\r\nVia: \udcff\r\n\r\n".encode("utf-8", "surrogateescape"),
]


def test_twenty_malformed_datagrams_then_a_valid_options() -> None:
    assert len(MALFORMED) >= 20
    ep = new_endpoint()
    for n, data in enumerate(MALFORMED):
        outs = ep.receive(data, SOURCE, float(n))
        assert events(outs, RequestReceived) == [], data[:60]
        for item in outs:
            assert isinstance(item, Send | MessageRejected), item
            if isinstance(item, Send):
                assert item.data.startswith((b"SIP/2.0 400 ", b"SIP/2.0 505 ")), item.data[:40]
                assert item.destination[0] == PEER_IP  # the port is the Via's business
        if data.strip(b"\r\n"):
            (rejected,) = events(outs, MessageRejected)
            assert isinstance(rejected, MessageRejected)
            assert rejected.source == SOURCE
            assert (rejected.status is None) == (sent_bytes(outs) == [])
    assert ep.transaction_count == 0
    outs = ep.receive(request(call_id="after"), SOURCE, 30.0)
    assert one_request(outs).request.call_id == "after"
    assert ep.stats["received"] == len(MALFORMED) + 1
    assert ep.stats["rejected"] + ep.stats["dropped"] == len(MALFORMED) - 1  # one is a keep-alive


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (GOOD.replace(b"Call-ID: call-1\r\n", b""), 400),
        (GOOD.replace(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia"), 505),
        (GOOD.replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), 400),
    ],
)
def test_malformed_request_gets_a_stateless_error_response(raw: bytes, status: int) -> None:
    ep = new_endpoint()
    outs = ep.receive(raw, SOURCE, 0.0)
    (send,) = [o for o in outs if isinstance(o, Send)]
    assert send.data.startswith(f"SIP/2.0 {status} ".encode())
    assert b"Warning: 399 dialtone" in send.data
    (rejected,) = events(outs, MessageRejected)
    assert isinstance(rejected, MessageRejected)
    assert rejected.status == status
    assert ep.transaction_count == 0
    assert ep.next_deadline() is None


ACK = request("ACK", to_tag="tt")


@pytest.mark.parametrize(
    "bad_ack",
    [
        ACK.replace(b"CSeq: 1 ACK", b"CSeq: x ACK"),
        ACK.replace(b"CSeq: 1 ACK", b"CSeq: 1 INVITE"),
        ACK.replace(b"Call-ID: call-1\r\n", b""),
        ACK.replace(b"From: Alice <sip:alice@192.0.2.7>;tag=from1\r\n", b""),
        ACK.replace(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia"),
        ACK.replace(b"Content-Length: 0", b"Content-Length: 50"),
        ACK.replace(b"ACK sip:", b"ACK  sip:"),
        ACK[:-4],
    ],
)
def test_malformed_ack_never_gets_a_response(bad_ack: bytes) -> None:
    ep = new_endpoint()
    outs = ep.receive(bad_ack, SOURCE, 0.0)
    assert sent_bytes(outs) == []
    assert len(events(outs, MessageRejected)) == 1


RESPONSE = (
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnobody\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n"
    b"Content-Length: 0\r\n\r\n"
)


@pytest.mark.parametrize(
    "data",
    [
        RESPONSE,
        RESPONSE.replace(b"200 OK", b"180 Ringing"),
        RESPONSE.replace(b"Call-ID: x\r\n", b""),  # malformed response
        RESPONSE.replace(b"SIP/2.0 200 OK", b"SIP/2.0 2000 OK"),
    ],
)
def test_stray_or_bad_responses_are_absorbed_silently(data: bytes) -> None:
    ep = new_endpoint()
    outs = ep.receive(data, SOURCE, 0.0)
    assert sent_bytes(outs) == []
    (rejected,) = events(outs, MessageRejected)
    assert isinstance(rejected, MessageRejected)
    assert rejected.status is None


# -- received / rport and where responses go ------------------------------------------------------


@pytest.mark.parametrize(
    ("via", "source", "destination", "received", "rport"),
    [
        # rport asked for: the source port, and received always added (RFC 3581 §4).
        (
            f"SIP/2.0/UDP {PEER_IP}:5070;branch=z9hG4bK1;rport",
            (PEER_IP, 40000),
            (PEER_IP, 40000),
            PEER_IP,
            "40000",
        ),
        (
            "SIP/2.0/UDP 10.0.0.1:5070;rport;branch=z9hG4bK1",
            ("203.0.113.5", 62000),
            ("203.0.113.5", 62000),
            "203.0.113.5",
            "62000",
        ),
        # No rport: the source address with the sent-by port (RFC 3261 §18.2.2) …
        (
            f"SIP/2.0/UDP {PEER_IP}:5070;branch=z9hG4bK1",
            (PEER_IP, 40000),
            (PEER_IP, 5070),
            None,
            None,
        ),
        (
            "SIP/2.0/UDP 10.0.0.1:5080;branch=z9hG4bK1",
            ("203.0.113.5", 62000),
            ("203.0.113.5", 5080),
            "203.0.113.5",
            None,
        ),
        # … or 5060 when the sent-by has no port.
        (
            "SIP/2.0/UDP pc.example.com;branch=z9hG4bK1",
            ("198.51.100.1", 6000),
            ("198.51.100.1", 5060),
            "198.51.100.1",
            None,
        ),
        (f"SIP/2.0/UDP {PEER_IP};branch=z9hG4bK1", (PEER_IP, 6000), (PEER_IP, 5060), None, None),
        # IPv6 peers: the brackets of the sent-by are not part of the address.
        (
            "SIP/2.0/UDP [2001:db8::7]:5070;branch=z9hG4bK1;rport",
            ("2001:db8::7", 5071),
            ("2001:db8::7", 5071),
            "2001:db8::7",
            "5071",
        ),
        (
            "SIP/2.0/UDP [2001:db8::7]:5070;branch=z9hG4bK1",
            ("2001:db8::7", 5071),
            ("2001:db8::7", 5070),
            None,
            None,
        ),
        (
            "SIP/2.0/UDP [2001:db8::7];branch=z9hG4bK1",
            ("2001:db8::8", 5071),
            ("2001:db8::8", 5060),
            "2001:db8::8",
            None,
        ),
    ],
)
def test_received_rport_and_response_destination(
    via: str,
    source: tuple[str, int],
    destination: tuple[str, int],
    received: str | None,
    rport: str | None,
) -> None:
    second = "SIP/2.0/UDP proxy.example:5060;branch=z9hG4bKproxy"
    ep = new_endpoint()
    raw = request(via=via).replace(b"Max-Forwards", f"Via: {second}\r\nMax-Forwards".encode())
    event = one_request(ep.receive(raw, source, 0.0))
    top = event.request.top_via
    assert top.param("received") == received
    assert top.param("rport") == (
        rport if rport is not None else (None if "rport" not in via else "")
    )
    out = ep.respond(event.transaction, make_response(event.request, 200, to_tag="t"), 0.0)
    (send,) = [o for o in out if isinstance(o, Send)]
    assert send.destination == destination
    response = parse_message(send.data)  # our own response must parse, IPv6 received included
    assert response.top_via.param("received") == received
    assert response.top_via.branch == "z9hG4bK1"
    assert [str(v) for v in response.vias[1:]] == [second]
    # Retransmissions of the final response go to the same place.
    again = ep.receive(raw, source, 0.1)
    assert [o.destination for o in again if isinstance(o, Send)] == [destination]


def test_stamping_keeps_other_vias_of_the_same_line() -> None:
    ep = new_endpoint()
    via = f"SIP/2.0/UDP {PEER_IP}:5070;branch=z9hG4bK1;rport, SIP/2.0/UDP p.example;branch=z9hG4bK2"
    event = one_request(ep.receive(request(via=via), (PEER_IP, 9999), 0.0))
    lines = event.request.headers.get_all("Via")
    assert len(lines) == 1
    assert lines[0].endswith(", SIP/2.0/UDP p.example;branch=z9hG4bK2")
    assert [v.host for v in event.request.vias] == [PEER_IP, "p.example"]
    assert event.request.top_via.param("rport") == "9999"


def test_malformed_request_error_goes_to_rport() -> None:
    ep = new_endpoint()
    raw = request(rport=True).replace(b"Call-ID: call-1\r\n", b"")
    (send,) = [o for o in ep.receive(raw, (PEER_IP, 33333), 0.0) if isinstance(o, Send)]
    assert send.destination == (PEER_IP, 33333)


def test_reliable_transport_answers_on_the_connection() -> None:
    ep = new_endpoint(transport="TCP")
    raw = request(via="SIP/2.0/TCP 10.0.0.1:5080;branch=z9hG4bK1")
    event = one_request(ep.receive(raw, ("203.0.113.5", 50123), 0.0))
    out = ep.respond(event.transaction, make_response(event.request, 200, to_tag="t"), 0.0)
    assert [o.destination for o in out if isinstance(o, Send)] == [("203.0.113.5", 50123)]
    # Over a stream, Content-Length is mandatory.
    no_length = request().replace(b"Content-Length: 0\r\n", b"")
    assert events(ep.receive(no_length, SOURCE, 0.0), RequestReceived) == []


# -- client transactions through the endpoint ----------------------------------------------------


def _bye(ep: SipEndpoint) -> Request:
    headers = Headers(
        [
            ("Via", str(ep.via())),
            ("Max-Forwards", "70"),
            ("From", "<sip:me@192.0.2.1>;tag=ours"),
            ("To", "<sip:alice@192.0.2.7>;tag=from1"),
            ("Call-ID", "call-1"),
            ("CSeq", "2 BYE"),
        ]
    )
    return Request(headers=headers, method="BYE", uri=parse_uri("sip:alice@192.0.2.7:5070"))


def test_bye_client_transaction_gets_its_response() -> None:
    ep = new_endpoint()
    bye = _bye(ep)
    assert bye.top_via.branch == "z9hG4bKbr1"
    assert bye.top_via.param("rport") == ""
    outs = ep.send_request(bye, SOURCE, 0.0)
    assert [(type(o), o.destination) for o in outs] == [(Send, SOURCE)]  # type: ignore[union-attr]
    assert len([o for _, o in drive(ep, 1.0) if isinstance(o, Send)]) == 1  # Timer E at 0.5
    ok = make_response(bye, 200)
    events_ = ep.receive(ok.encode(), SOURCE, 1.0)
    assert len(events_) == 1
    assert isinstance(events_[0], ResponseReceived)
    assert events_[0].response.status == 200
    # Retransmitted 200: absorbed.
    assert ep.receive(ok.encode(), SOURCE, 1.1) == []
    assert [o for _, o in drive(ep, 100.0)] == []
    assert ep.transaction_count == 0
    # Once forgotten, a late copy is a stray response.
    assert isinstance(ep.receive(ok.encode(), SOURCE, 200.0)[0], MessageRejected)


def test_bye_without_answer_times_out() -> None:
    ep = new_endpoint()
    ep.send_request(_bye(ep), SOURCE, 0.0)
    fired = drive(ep, 100.0)
    assert len([o for _, o in fired if isinstance(o, Send)]) == 10
    assert [t for t, o in fired if isinstance(o, TransactionTimedOut)] == [32.0]
    assert ep.transaction_count == 0


def test_response_for_another_method_does_not_match() -> None:
    ep = new_endpoint()
    bye = _bye(ep)
    ep.send_request(bye, SOURCE, 0.0)
    wrong = make_response(bye, 200)
    wrong.set_header("CSeq", "2 OPTIONS")
    outs = ep.receive(wrong.encode(), SOURCE, 0.1)
    assert [type(o) for o in outs] == [MessageRejected]


def test_response_whose_top_via_is_not_ours_is_discarded() -> None:
    # RFC 3261 §18.1.2: same branch and method, but the top Via names another host or port.
    ep = new_endpoint()
    bye = _bye(ep)
    ep.send_request(bye, SOURCE, 0.0)
    ours = str(bye.top_via)
    for forged in (ours.replace("192.0.2.1:", "192.0.2.66:"), ours.replace(":5060", ":5061")):
        wrong = make_response(bye, 200)
        wrong.set_header("Via", forged)
        outs = ep.receive(wrong.encode(), SOURCE, 0.1)
        assert [type(o) for o in outs] == [MessageRejected], forged
    assert isinstance(
        ep.receive(make_response(bye, 200).encode(), SOURCE, 0.2)[0], ResponseReceived
    )


# -- many at once ---------------------------------------------------------------------------------


def test_interleaved_transactions_are_kept_apart() -> None:
    ep = new_endpoint()
    calls = [start_invite(ep, branch=f"z9hG4bKc{n}", call_id=f"c{n}") for n in range(5)]
    for n, event in enumerate(calls):
        ep.respond(event.transaction, make_response(event.request, 200, to_tag=f"t{n}"), 0.0)
    for n in (1, 3):
        ack = request("ACK", branch=f"z9hG4bKa{n}", call_id=f"c{n}", to_tag=f"t{n}")
        (ack_event,) = events(ep.receive(ack, SOURCE, 0.1), AckReceived)
        assert ack_event.transaction is calls[n].transaction  # type: ignore[attr-defined]
    fired = drive(ep, 1.0)
    resent = [parse_message(o.data).call_id for _, o in fired if isinstance(o, Send)]
    assert sorted(resent) == ["c0", "c2", "c4"]
    timeouts = [o for _, o in drive(ep, 100.0) if isinstance(o, TransactionTimedOut)]
    assert sorted(o.transaction.request.call_id for o in timeouts) == ["c0", "c2", "c4"]
    assert ep.transaction_count == 0


def test_stateless_400_carries_a_to_tag() -> None:
    ep = new_endpoint()
    raw = request().replace(b"Call-ID: call-1\r\n", b"")
    (send,) = [o for o in ep.receive(raw, SOURCE, 0.0) if isinstance(o, Send)]
    assert b"\r\nTo: <sip:+15551230000@192.0.2.1>;tag=tag1\r\n" in send.data


# -- the screen (overload control) -----------------------------------------------------------


def screening(refuse: set[str]) -> tuple[SipEndpoint, list[str]]:
    """An endpoint whose screen refuses the methods in ``refuse`` with 503 and records
    every request it was asked about."""
    ep = new_endpoint(
        policy=EndpointPolicy(methods=frozenset({"INVITE", "ACK", "BYE", "CANCEL", "REGISTER"}))
    )
    asked: list[str] = []

    def screen(req: Request, tx: object) -> Response | None:
        asked.append(req.method)
        if req.method not in refuse:
            return None
        return make_response(req, 503, to_tag="shed", extra_headers=(("Retry-After", "2"),))

    ep.screen = screen
    return ep, asked


def test_a_screened_invite_gets_its_503_before_any_100_and_the_application_never_hears() -> None:
    ep, asked = screening({"INVITE"})
    outs = ep.receive(request("INVITE", body=SDP), SOURCE, 0.0)
    (refusal,) = sent(outs)
    assert (refusal.status, refusal.headers.get("Retry-After")) == (503, "2")
    assert events(outs, RequestReceived) == []
    assert ep.stats["shed"] == 1
    # A retransmission gets the same 503 from the transaction, not a new decision.
    again = ep.receive(request("INVITE", body=SDP), SOURCE, 0.1)
    assert sent_bytes(again) == sent_bytes(outs)
    assert asked == ["INVITE"]
    # The ACK ends it in the transaction layer; the transaction then goes (Timer I).
    assert ep.receive(request("ACK", to_tag="shed"), SOURCE, 0.2) == []
    drive(ep, 10.0)
    assert ep.transaction_count == 0


def test_requests_inside_a_dialog_ack_and_cancel_are_never_screened() -> None:
    ep, asked = screening({"INVITE", "BYE", "CANCEL", "ACK", "REGISTER"})
    reinvite = ep.receive(request("INVITE", to_tag="t1", branch="z9hG4bKre", body=SDP), SOURCE, 0)
    assert statuses(reinvite) == [100]
    one_request(reinvite)
    one_request(ep.receive(request("BYE", to_tag="t1", branch="z9hG4bKbye"), SOURCE, 0.0))
    ep.receive(request("ACK", to_tag="t1", branch="z9hG4bKack"), SOURCE, 0.0)
    cancel = ep.receive(request("CANCEL", branch="z9hG4bKnone"), SOURCE, 0.0)
    assert statuses(cancel) == [481]
    assert asked == []


def test_a_screen_that_lets_through_changes_nothing() -> None:
    ep, asked = screening(set())
    outs = ep.receive(request("INVITE", body=SDP), SOURCE, 0.0)
    assert statuses(outs) == [100]
    one_request(outs)
    one_request(ep.receive(request("REGISTER", branch="z9hG4bKreg"), SOURCE, 0.0))
    assert asked == ["INVITE", "REGISTER"]


def test_the_uas_core_checks_come_before_the_screen() -> None:
    ep, asked = screening({"INVITE"})
    outs = ep.receive(request("INVITE", extra="Require: 100rel\r\n", body=SDP), SOURCE, 0.0)
    assert statuses(outs) == [420]
    assert asked == []


@pytest.mark.parametrize(
    "via",
    [
        "Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKshed1",
        "v: SIP/2.0/UDP 192.0.2.7:5070 ; rport ; BRANCH = z9hG4bKshed1",  # compact, spaced
        "VIA: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKshed1, SIP/2.0/UDP 10.0.0.1;branch=x",
    ],
)
def test_the_ack_of_a_refused_invite_is_absorbed_without_a_parse(via: str) -> None:
    ep, _ = screening({"INVITE"})
    (refusal,) = sent_bytes(ep.receive(request("INVITE", branch="z9hG4bKshed1"), SOURCE, 0.0))
    ack = request("ACK", branch="z9hG4bKshed1", to_tag="shed").replace(
        b"Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKshed1", via.encode()
    )
    received = ep.stats["received"]
    assert ep.receive(ack, SOURCE, 0.2) == []
    assert ep.stats["received"] == received + 1
    # Timer G stopped: no retransmission of the 503; Timer I then ends the transaction.
    assert [o for _, o in drive(ep, 100.0) if isinstance(o, Send)] == []
    assert ep.transaction_count == 0
    assert refusal.startswith(b"SIP/2.0 503")


def test_an_ack_that_matches_no_refusal_takes_the_normal_path() -> None:
    ep, _ = screening({"INVITE"})
    ep.receive(request("INVITE", branch="z9hG4bKshed1"), SOURCE, 0.0)
    # The ACK of another transaction (a 2xx's, by its own branch) is parsed as ever.
    outs = ep.receive(request("ACK", branch="z9hG4bKother", to_tag="t9"), SOURCE, 0.1)
    assert [type(o).__name__ for o in outs] == ["AckReceived"]
    # Without the fast path's entry, a retransmitted ACK still reaches its transaction.
    ep.receive(request("ACK", branch="z9hG4bKshed1", to_tag="shed"), SOURCE, 0.2)
    assert ep.receive(request("ACK", branch="z9hG4bKshed1", to_tag="shed"), SOURCE, 0.3) == []
    drive(ep, 100.0)
    assert ep.transaction_count == 0


def test_a_refusal_never_acknowledged_is_forgotten_with_its_transaction() -> None:
    ep, _ = screening({"INVITE"})
    ep.receive(request("INVITE", branch="z9hG4bKshed1"), SOURCE, 0.0)
    fired = drive(ep, 100.0)  # Timer G retransmits, Timer H ends it
    assert any(isinstance(o, TransactionTimedOut) for _, o in fired)
    assert ep.transaction_count == 0
    assert ep._refused == {}
