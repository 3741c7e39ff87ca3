"""Parsing and serialising SIP messages (RFC 3261 §7, §25)."""

from __future__ import annotations

import pytest

from dialtone.sip.errors import SipParseError
from dialtone.sip.message import (
    MalformedRequest,
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from dialtone.sip.uri import SipUri

from .sipfix import SDP, request


def test_request_round_trip() -> None:
    raw = request("INVITE", body=SDP, extra="Content-Type: application/sdp\r\n")
    message = parse_message(raw)
    assert isinstance(message, Request)
    assert message.method == "INVITE"
    assert isinstance(message.uri, SipUri)
    assert message.uri.user == "+33123456789"
    assert message.call_id == "call-1"
    assert (message.cseq.number, message.cseq.method) == (1, "INVITE")
    assert message.from_.tag == "from1"
    assert message.to.tag is None
    assert message.top_via.branch == "z9hG4bKabc"
    assert message.body == SDP
    again = parse_message(message.encode())
    assert isinstance(again, Request)
    assert again.encode() == message.encode()
    assert list(again.headers) == list(message.headers)


def test_response_round_trip() -> None:
    req = parse_message(request())
    assert isinstance(req, Request)
    response = make_response(req, 200, to_tag="xyz", extra_headers=(("Allow", "INVITE"),))
    parsed = parse_message(response.encode())
    assert isinstance(parsed, Response)
    assert (parsed.status, parsed.reason) == (200, "OK")
    assert parsed.to.tag == "xyz"
    assert parsed.headers.get("Allow") == "INVITE"
    assert parsed.headers.get_all("Via") == req.headers.get_all("Via")
    assert parsed.headers.get("Content-Length") == "0"


def test_compact_forms_and_folding() -> None:
    raw = (
        b"INVITE sip:bob@example.com SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
        b"f: <sip:a@example.com>;tag=1\r\n"
        b"t: <sip:bob@example.com>\r\n"
        b"i: compact-1\r\n"
        b"CSeq: 7\r\n INVITE\r\n"
        b"m: <sip:a@192.0.2.1>\r\n"
        b"k: timer\r\n"
        b"s: folded\r\n\t subject\r\n"
        b"c: application/sdp\r\n"
        b"l: 4\r\n\r\nbody"
    )
    message = parse_message(raw)
    assert message.call_id == "compact-1"
    assert message.cseq.number == 7
    assert message.headers.get("Supported") == "timer"
    assert message.headers.get("Subject") == "folded subject"
    assert message.headers.get("Content-Type") == "application/sdp"
    assert message.body == b"body"
    assert b"Call-ID: compact-1" in message.encode()


def test_multi_value_via_in_order() -> None:
    raw = request(extra="").replace(
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n",
        b"Via: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/TCP b.example;branch=z9hG4bK2\r\n"
        b"Via: SIP/2.0/UDP c.example:5080;branch=z9hG4bK3\r\n",
    )
    message = parse_message(raw)
    assert [v.host for v in message.vias] == ["a.example", "b.example", "c.example"]
    assert [v.transport for v in message.vias] == ["UDP", "TCP", "UDP"]
    assert message.vias[2].port == 5080


@pytest.mark.parametrize(
    ("declared", "body", "expected"),
    [("4", b"bodyEXTRA", b"body"), ("0", b"junk after", b"")],
)
def test_content_length_frames_the_body(declared: str, body: bytes, expected: bytes) -> None:
    raw = (
        request().replace(
            b"Content-Length: 0\r\n\r\n", f"Content-Length: {declared}\r\n\r\n".encode()
        )
        + body
    )
    assert parse_message(raw).body == expected


def test_missing_content_length_over_udp_takes_the_rest() -> None:
    raw = request().replace(b"Content-Length: 0\r\n", b"") + b"rest"
    assert parse_message(raw).body == b"rest"
    with pytest.raises(SipParseError, match="required"):
        parse_message(raw, stream=True)


@pytest.mark.parametrize("value", ["99", "-1", "abc", "1e3", ""])
def test_bad_content_length(value: str) -> None:
    raw = request().replace(b"Content-Length: 0", f"Content-Length: {value}".encode())
    with pytest.raises(MalformedRequest) as info:
        parse_message(raw)
    assert info.value.status == 400


def test_two_content_lengths() -> None:
    raw = request().replace(b"Content-Length: 0", b"Content-Length: 0\r\nl: 0")
    with pytest.raises(MalformedRequest, match="Content-Length"):
        parse_message(raw)


@pytest.mark.parametrize("header", ["From", "To", "Call-ID", "CSeq"])
def test_missing_mandatory_header_gives_a_400(header: str) -> None:
    lines = [ln for ln in request().split(b"\r\n") if not ln.startswith(header.encode() + b":")]
    with pytest.raises(MalformedRequest) as info:
        parse_message(b"\r\n".join(lines))
    response = make_error_response(info.value)
    assert response is not None
    assert response.status == 400
    assert response.headers.get("Via") is not None
    assert header not in response.headers
    assert "Warning" in response.headers


def test_missing_via_is_dropped() -> None:
    lines = [ln for ln in request().split(b"\r\n") if not ln.startswith(b"Via:")]
    with pytest.raises(MalformedRequest) as info:
        parse_message(b"\r\n".join(lines))
    assert make_error_response(info.value) is None


def test_cseq_method_mismatch_and_version() -> None:
    with pytest.raises(MalformedRequest, match="CSeq"):
        parse_message(request("OPTIONS", cseq_method="INVITE"))
    with pytest.raises(MalformedRequest) as info:
        parse_message(request().replace(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia"))
    assert info.value.status == 505


@pytest.mark.parametrize(
    "start_line",
    [b"SIP/2.0 2000 OK", b"SIP/2.0 99 Low", b"SIP/2.0 700 High", b"SIP/2.0 OK", b"SIP/2.0 abc Bad"],
)
def test_bad_status_lines_never_get_a_response(start_line: bytes) -> None:
    raw = start_line + b"\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n"
    with pytest.raises(SipParseError) as info:
        parse_message(raw)
    assert not isinstance(info.value, MalformedRequest)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("CSeq", "2147483648 OPTIONS"),
        ("Max-Forwards", "256"),
        ("Expires", "4294967296"),
        ("From", "Bob, Smith <sip:b@x>;tag=1"),
        ("To", "< sip:b@x >"),
        ("Contact", "<sip:b@x>;;"),
        ("Via", "SIP/2.0/UDP h;;branch=z9hG4bK1"),
        ("From", '"unterminated <sip:b@x>;tag=1'),
    ],
)
def test_bad_values_of_known_headers(header: str, value: str) -> None:
    raw = request()
    lines = raw.split(b"\r\n")
    out = [
        f"{header}: {value}".encode() if ln.split(b":", 1)[0] == header.encode() else ln
        for ln in lines
    ]
    if not any(ln.startswith(header.encode() + b":") for ln in lines):
        out.insert(1, f"{header}: {value}".encode())
    with pytest.raises(MalformedRequest):
        parse_message(b"\r\n".join(out))


def test_unknown_headers_stay_opaque() -> None:
    message = parse_message(request(extra="X-Odd: ;;,,;;,;\r\nX-Empty:\r\n"))
    assert message.headers.get("x-odd") == ";;,,;;,;"
    assert message.headers.get("X-Empty") == ""


def test_leading_crlf_is_ignored() -> None:
    assert parse_message(b"\r\n\r\n" + request()).call_id == "call-1"
