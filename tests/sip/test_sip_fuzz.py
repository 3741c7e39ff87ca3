"""Fuzzing: the parser lets only SipParseError (or a subclass) out; the endpoint never
raises, whatever arrives, and never answers a response."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialtone.sip.endpoint import EndpointPolicy, RequestReceived, SipEndpoint
from dialtone.sip.errors import SipParseError
from dialtone.sip.message import MalformedRequest, Request, Response, make_response, parse_message
from dialtone.sip.transaction import Send

SDP = (
    b"v=0\r\no=a 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n"
    b"m=audio 6000 RTP/AVP 0\r\n"
)


def _request(
    method: str, *, branch: str = "z9hG4bKf1", to_tag: str = "", body: bytes = b"", extra: str = ""
) -> bytes:
    return (
        f"{method} sip:bob@192.0.2.1;transport=udp SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.7:5070;branch={branch};rport, "
        "SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKup\r\n"
        "Max-Forwards: 70\r\n"
        'From: "A \\"q\\"" <sip:alice@192.0.2.7>;tag=a1\r\n'
        f"To: <sip:bob@192.0.2.1>{';tag=' + to_tag if to_tag else ''}\r\n"
        "Call-ID: fuzz-1@192.0.2.7\r\n"
        f"CSeq: 7 {method}\r\n"
        "Contact: <sip:alice@192.0.2.7:5070>;expires=60\r\n"
        "Record-Route: <sip:p.example;lr>\r\n"
        + extra
        + (f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n")
    ).encode() + body


SEEDS = [
    _request("OPTIONS"),
    _request("INVITE", body=SDP),
    _request("INVITE", extra="Require: foo\r\nAccept: text/x\r\n"),
    _request("ACK", to_tag="t1"),
    _request("BYE", to_tag="t1"),
    _request("CANCEL"),
    _request("REGISTER", extra="Expires: 3600\r\n"),
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbr1;received=2001:db8::2\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n"
    b"Content-Length: 0\r\n\r\n",
    b"v: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\n",  # headers only
]

TOKENS = [
    b";",
    b",",
    b"<",
    b">",
    b'"',
    b"\\",
    b"\r\n",
    b"\r\n ",
    b"\n",
    b"\r",
    b" ",
    b"\t",
    b":",
    b"%",
    b"%zz",
    b"@",
    b"[",
    b"]",
    b"?",
    b"=",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
    b"0",
    b"99999999999999999999",
    b"-1",
    b"SIP/2.0",
    b"z9hG4bK",
    b"Via: ",
    b"l: 9\r\n",
    b"\r\n\r\n",
    b"tag=",
    b"rport",
    b"received=",
    b"sip:",
    b"tel:",
    b"*",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "duplicate"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 12))]
        elif op == "duplicate" and data:
            end = min(len(data), pos + draw(st.integers(1, 40)))
            data[end:end] = data[pos:end]
    return bytes(data)


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse(data: bytes, *, stream: bool = False) -> Request | Response | None:
    refused: MalformedRequest | None = None
    try:
        message = parse_message(data, stream=stream)
    except MalformedRequest as exc:
        refused = exc
    except SipParseError:
        return None
    if refused is not None:
        assert refused.status in (400, 505)
        assert isinstance(refused.reason, str)
        return None
    assert isinstance(message, Request | Response)
    return message


@FAST
@given(st.binary(max_size=800), st.booleans())
def test_parser_on_arbitrary_bytes(data: bytes, stream: bool) -> None:
    _parse(data, stream=stream)


@FAST
@given(mutated(), st.booleans())
def test_parser_on_mutated_messages(data: bytes, stream: bool) -> None:
    message = _parse(data, stream=stream)
    if message is None:
        return
    # Whatever parsed, encodes to something that parses back to the same message.
    again = parse_message(message.encode())
    assert type(again) is type(message)

    def fields(m: Request | Response) -> list[tuple[str, str]]:
        return [(n, v) for n, v in m.headers if n != "Content-Length"]

    assert fields(again) == fields(message)  # encode() sets Content-Length from the body
    assert again.body == message.body
    assert again.vias == message.vias


@FAST
@given(st.text(max_size=300))
def test_parser_on_arbitrary_text(text: str) -> None:
    _parse(text.encode("utf-8", "surrogatepass"))


def _endpoint() -> SipEndpoint:
    tags = (f"t{n}" for n in itertools.count())
    branches = (f"b{n}" for n in itertools.count())
    return SipEndpoint(
        local_host="192.0.2.1",
        local_port=5060,
        new_tag=lambda: next(tags),
        new_branch=lambda: next(branches),
        policy=EndpointPolicy(methods=frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"})),
    )


@FAST
@given(st.lists(mutated() | st.binary(max_size=300), min_size=1, max_size=6), st.booleans())
def test_endpoint_never_raises(datagrams: list[bytes], answer: bool) -> None:
    ep = _endpoint()
    now = 0.0
    for data in datagrams:
        outputs = ep.receive(data, ("192.0.2.7", 5070), now)
        for out in outputs:
            if isinstance(out, Send):
                # Only requests are ever answered, and only with a response.
                assert out.data.startswith(b"SIP/2.0 ")
                assert not data.lstrip(b"\r\n").startswith(b"SIP/")
            elif isinstance(out, RequestReceived) and answer:
                ep.respond(out.transaction, make_response(out.request, 200, to_tag="x"), now)
        now += 0.7
        ep.handle_timers(now)
    while (deadline := ep.next_deadline()) is not None:
        ep.handle_timers(deadline)
    if answer:  # every transaction was answered, so the timers end them all
        assert ep.transaction_count == 0
