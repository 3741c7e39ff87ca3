"""Parsing and serialising SIP messages (RFC 3261 §7, §18.3, §20, §25)."""

from __future__ import annotations

import pytest

from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import (
    Headers,
    canonical_name,
    parse_cseq,
    parse_name_address,
    parse_uint,
    parse_via,
    split_list,
)
from dialtone.sip.message import (
    MalformedRequest,
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
    reason_phrase,
)
from dialtone.sip.uri import OtherUri, SipUri

SDP = (
    b"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\n"
    b"c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n"
)

VIA = "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"


def build(
    method: str = "OPTIONS",
    *,
    uri: str = "sip:bob@biloxi.example.com",
    version: str = "SIP/2.0",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    content_length: str | None = "auto",
    drop: tuple[str, ...] = (),
    extra: list[tuple[str, str]] | None = None,
) -> bytes:
    """A request; ``drop`` removes header lines by name, ``extra`` appends some."""
    lines = headers or [
        ("Via", VIA),
        ("Max-Forwards", "70"),
        ("To", "Bob <sip:bob@biloxi.example.com>"),
        ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710@pc33.atlanta.example.com"),
        ("CSeq", f"314159 {method}"),
        ("Contact", "<sip:alice@pc33.atlanta.example.com>"),
    ]
    lines = [(n, v) for n, v in lines if n not in drop] + (extra or [])
    if content_length == "auto":
        lines.append(("Content-Length", str(len(body))))
    elif content_length is not None:
        lines.append(("Content-Length", content_length))
    head = f"{method} {uri} {version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in lines)
    return head.encode() + b"\r\n" + body


RESPONSE = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1;"
    b"received=192.0.2.3\r\n"
    b"Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1;"
    b"received=192.0.2.2\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n"
    b"Record-Route: <sip:server10.biloxi.example.com;lr>, "
    b"<sip:bigbox3.site3.atlanta.example.com;lr>\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"Contact: <sip:bob@192.0.2.4>\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def parse_request(data: bytes, **kw: bool) -> Request:
    message = parse_message(data, **kw)
    assert isinstance(message, Request)
    return message


def parse_response(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def malformed(data: bytes, **kw: bool) -> MalformedRequest:
    with pytest.raises(MalformedRequest) as info:
        parse_message(data, **kw)
    return info.value


# -- round trips ------------------------------------------------------------------------------

ROUND_TRIP_REQUESTS = [
    build(),
    build("INVITE", body=SDP, extra=[("Content-Type", "application/sdp")]),
    build("BYE", extra=[("Route", "<sip:p1.example;lr>, <sip:p2.example;lr>")]),
    build("REGISTER", uri="sip:registrar.example.com", extra=[("Expires", "3600")]),
    build(
        "INFO",
        uri="tel:+15551234567",
        body=b"Signal=1\r\n",
        extra=[("Content-Type", "application/dtmf-relay")],
    ),
    build(
        "MESSAGE",
        uri="sips:bob@[2001:db8::1]:5061",
        body="héllo".encode(),
        extra=[("Content-Type", "text/plain;charset=utf-8")],
    ),
    build("NEWMETHOD", extra=[("X-Unknown", ";;,,;;,;"), ("Subject", "")]),
    build(
        "OPTIONS",
        body=b"\x00\xff\r\n\r\nbinary",
        extra=[("Content-Type", "application/octet-stream")],
    ),
]


@pytest.mark.parametrize("raw", ROUND_TRIP_REQUESTS, ids=lambda r: r.split(b" ", 1)[0].decode())
def test_request_parse_encode_parse(raw: bytes) -> None:
    first = parse_request(raw)
    encoded = first.encode()
    second = parse_request(encoded)
    assert second.method == first.method
    assert second.uri == first.uri
    assert second.version == first.version == "SIP/2.0"
    assert list(second.headers) == list(first.headers)
    assert second.body == first.body
    assert second.vias == first.vias
    assert (second.from_, second.to, second.call_id, second.cseq) == (
        first.from_,
        first.to,
        first.call_id,
        first.cseq,
    )
    # Encoding is a fixed point, and these inputs were written canonically already.
    assert second.encode() == encoded
    assert encoded == raw


def test_request_fields() -> None:
    message = parse_request(build("INVITE", body=SDP, extra=[("Content-Type", "application/sdp")]))
    assert message.method == "INVITE"
    assert isinstance(message.uri, SipUri)
    assert (message.uri.user, message.uri.host) == ("bob", "biloxi.example.com")
    assert message.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert (message.cseq.number, message.cseq.method) == (314159, "INVITE")
    assert message.from_.tag == "1928301774"
    assert message.from_.display_name == "Alice"
    assert message.to.tag is None
    assert message.top_via.branch == "z9hG4bK776asdhds"
    assert message.top_via.transport == "UDP"
    assert message.contacts is not None
    assert str(message.contacts[0].uri) == "sip:alice@pc33.atlanta.example.com"
    assert message.body == SDP


def test_response_parse_encode_parse() -> None:
    first = parse_response(RESPONSE)
    assert (first.status, first.reason, first.version) == (180, "Ringing", "SIP/2.0")
    assert [v.host for v in first.vias] == [
        "server10.biloxi.example.com",
        "bigbox3.site3.atlanta.example.com",
        "pc33.atlanta.example.com",
    ]
    assert [v.param("received") for v in first.vias] == ["192.0.2.3", "192.0.2.2", "192.0.2.1"]
    assert [str(r.uri) for r in first.record_routes] == [
        "sip:server10.biloxi.example.com;lr",
        "sip:bigbox3.site3.atlanta.example.com;lr",
    ]
    assert first.to.tag == "a6c85cf"
    second = parse_response(first.encode())
    assert (second.status, second.reason) == (first.status, first.reason)
    assert list(second.headers) == list(first.headers)
    assert second.encode() == first.encode() == RESPONSE


@pytest.mark.parametrize(
    ("status_line", "status", "reason"),
    [
        (b"SIP/2.0 200 OK", 200, "OK"),
        (b"SIP/2.0 100 ", 100, ""),  # empty reason phrase (RFC 4475 §3.1.1.13)
        (b"SIP/2.0 699 Some Unknown Thing", 699, "Some Unknown Thing"),
        (b"sip/2.0 486 Busy Here", 486, "Busy Here"),
        ("SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое".encode(), 200, None),
    ],
)
def test_status_lines(status_line: bytes, status: int, reason: str | None) -> None:
    raw = RESPONSE.replace(b"SIP/2.0 180 Ringing", status_line)
    message = parse_response(raw)
    assert message.status == status
    assert message.version == "SIP/2.0"
    if reason is not None:
        assert message.reason == reason
    # The reason phrase, UTF-8 included, survives a round trip byte for byte.
    assert message.encode().split(b"\r\n", 1)[0] == b"SIP/2.0 " + status_line.split(b" ", 1)[1]


# -- header names, compact forms, folding -----------------------------------------------------

COMPACT = [
    ("i", "Call-ID", "compact-1@host"),
    ("m", "Contact", "<sip:a@192.0.2.1>"),
    ("f", "From", "<sip:a@example.com>;tag=1"),
    ("t", "To", "<sip:bob@example.com>"),
    ("v", "Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"),
    ("c", "Content-Type", "application/sdp"),
    ("k", "Supported", "timer"),
    ("s", "Subject", "lunch"),
    ("l", "Content-Length", "4"),
]
CSEQ_LINE = b"CSeq: 1 INVITE\r\n"


def test_compact_forms_are_expanded() -> None:
    raw = (
        b"INVITE sip:bob@example.com SIP/2.0\r\n"
        + CSEQ_LINE
        + b"".join(f"{short}: {value}\r\n".encode() for short, _, value in COMPACT)
        + b"\r\nbody"
    )
    message = parse_request(raw)
    names = [name for name, _ in message.headers]
    assert names == ["CSeq"] + [full for _, full, _ in COMPACT]
    for short, full, value in COMPACT:
        assert message.headers.get(full) == value
        assert message.headers.get(short) == value  # lookups by compact name work too
        assert message.headers.get(full.upper()) == value
    assert message.call_id == "compact-1@host"
    assert message.top_via.branch == "z9hG4bK1"
    assert message.from_.tag == "1"
    assert message.body == b"body"
    encoded = message.encode()
    for short, full, _ in COMPACT:
        assert f"\r\n{full}: ".encode() in encoded
        assert f"\r\n{short}: ".encode() not in encoded
    assert parse_request(encoded).body == b"body"


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("call-id", "Call-ID"),
        ("CALL-ID", "Call-ID"),
        ("cseq", "CSeq"),
        ("www-authenticate", "WWW-Authenticate"),
        ("I", "Call-ID"),
        ("V", "Via"),
        ("x-custom", "x-custom"),
        ("o", "Event"),
        ("u", "Allow-Events"),
    ],
)
def test_canonical_names(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical


def test_header_names_are_case_insensitive_and_lws_before_colon_is_allowed() -> None:
    raw = (
        b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
        b"VIA  : SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
        b"from\t: <sip:a@example.com>;tag=1\r\n"
        b"tO:<sip:bob@example.com>\r\n"
        b"CALL-id:   x1   \r\n"
        b"cseq: 1 OPTIONS\r\n"
        b"content-LENGTH: 0\r\n\r\n"
    )
    message = parse_request(raw)
    assert message.call_id == "x1"
    assert [name for name, _ in message.headers] == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Content-Length",
    ]


@pytest.mark.parametrize(
    ("folded", "name", "value"),
    [
        (
            "Subject: I know you're there,\r\n   pick up the phone\r\n   and talk to me!",
            "Subject",
            "I know you're there, pick up the phone and talk to me!",
        ),
        ("Subject: tab\r\n\tfolded", "Subject", "tab folded"),
        ("X-Long:\r\n value on the next line", "X-Long", "value on the next line"),
        ("Supported: a,\r\n b,\r\n\t c", "Supported", "a, b, c"),
    ],
)
def test_folded_header_lines_are_joined(folded: str, name: str, value: str) -> None:
    raw = build(extra=[]).replace(b"Max-Forwards: 70\r\n", folded.encode() + b"\r\n")
    message = parse_request(raw)
    assert message.headers.get(name) == value


def test_folding_inside_core_headers() -> None:
    # RFC 4475 §3.1.1.1 style: CSeq, Via and From continued on the next lines.
    raw = (
        b"INVITE sip:bob@example.com SIP/2.0\r\n"
        b"Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=z9hG4bK390skdjuw\r\n"
        b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n'
        b"  ;\r\n  tag = 98asjd8\r\n"
        b"To: <sip:bob@example.com>\r\n"
        b"Call-ID: fold-1\r\n"
        b"cseq: 0009\r\n  INVITE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    message = parse_request(raw)
    assert (message.cseq.number, message.cseq.method) == (9, "INVITE")
    assert message.top_via.host == "192.0.2.2"
    assert message.top_via.transport == "UDP"
    assert message.top_via.branch == "z9hG4bK390skdjuw"
    assert message.from_.tag == "98asjd8"
    assert message.from_.display_name == 'J Rosenberg \\"'
    again = parse_request(message.encode())
    assert again.from_ == message.from_
    assert again.vias == message.vias


def test_lf_only_line_endings_are_accepted() -> None:
    raw = build().replace(b"\r\n", b"\n")
    message = parse_request(raw)
    assert message.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert message.body == b""


def test_leading_crlfs_are_ignored() -> None:
    assert parse_request(b"\r\n\r\n\r\n" + build()).method == "OPTIONS"


# -- Via ---------------------------------------------------------------------------------------

VIA_A = "SIP/2.0/UDP a.example;branch=z9hG4bK1"
VIA_B = "SIP/2.0/TCP b.example:5080;branch=z9hG4bK2"
VIA_C = "SIP/2.0/TLS [2001:db8::3]:5061;branch=z9hG4bK3;received=192.0.2.3"


@pytest.mark.parametrize(
    "via_lines",
    [
        [f"{VIA_A}, {VIA_B}, {VIA_C}"],
        [VIA_A, VIA_B, VIA_C],
        [f"{VIA_A},{VIA_B}", VIA_C],
        [VIA_A, f"{VIA_B} ,\r\n {VIA_C}"],
    ],
    ids=["one-line", "three-lines", "two-then-one", "folded"],
)
def test_multi_value_via_in_order(via_lines: list[str]) -> None:
    lines = [("Via", v) for v in via_lines]
    headers = [
        *lines,
        ("From", "<sip:a@example.com>;tag=1"),
        ("To", "<sip:b@example.com>"),
        ("Call-ID", "v1"),
        ("CSeq", "1 OPTIONS"),
    ]
    message = parse_request(build(headers=headers))
    assert [v.host for v in message.vias] == ["a.example", "b.example", "[2001:db8::3]"]
    assert [v.port for v in message.vias] == [None, 5080, 5061]
    assert [v.transport for v in message.vias] == ["UDP", "TCP", "TLS"]
    assert [v.branch for v in message.vias] == ["z9hG4bK1", "z9hG4bK2", "z9hG4bK3"]
    assert message.top_via.host == "a.example"
    # A response copies the Via lines as they were, in order.
    response = make_response(message, 200, to_tag="t")
    assert response.headers.get_all("Via") == message.headers.get_all("Via")
    assert parse_response(response.encode()).vias == message.vias


@pytest.mark.parametrize(
    ("value", "transport", "host", "port", "params"),
    [
        ("SIP/2.0/UDP h;branch=z9hG4bK1", "UDP", "h", None, (("branch", "z9hG4bK1"),)),
        ("SIP/2.0/udp h:5062;rport", "UDP", "h", 5062, (("rport", None),)),
        (
            "SIP / 2.0 / TCP h : 5062 ; branch = z9hG4bKx",
            "TCP",
            "h",
            5062,
            (("branch", "z9hG4bKx"),),
        ),
        ("SIP/2.0/SCTP [::1]:5060;maddr=[::1]", "SCTP", "[::1]", 5060, (("maddr", "[::1]"),)),
        (
            "SIP/2.0/WS h;ttl=255;received=192.0.2.1",
            "WS",
            "h",
            None,
            (("ttl", "255"), ("received", "192.0.2.1")),
        ),
        (
            "SIP/2.0/UDP h;received=2001:db8::9;rport=5060",
            "UDP",
            "h",
            None,
            (("received", "2001:db8::9"), ("rport", "5060")),
        ),
        ('SIP/2.0/UDP h;x="quoted;value"', "UDP", "h", None, (("x", '"quoted;value"'),)),
    ],
)
def test_parse_via(
    value: str,
    transport: str,
    host: str,
    port: int | None,
    params: tuple[tuple[str, str | None], ...],
) -> None:
    via = parse_via(value)
    assert (via.transport, via.host, via.port, via.params) == (transport, host, port, params)
    assert parse_via(str(via)) == via


@pytest.mark.parametrize(
    "value",
    [
        "SIP/2.0 h",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ",
        "SIP/2.0/UDPh",
        "SIP/2.0/UDP h;",
        "SIP/2.0/UDP h;;branch=z9hG4bK1",
        "SIP/2.0/UDP h;branch=",
        "SIP/2.0/UDP h;ttl=256",
        "SIP/2.0/UDP h;ttl",
        "SIP/2.0/UDP h;rport=65536",
        "SIP/2.0/UDP h;rport=x",
        "SIP/2.0/UDP h:99999",
        "SIP/2.0/UDP h junk",
        'SIP/2.0/UDP h;x="open',
        "SIP/2.0/UDP h;received=zz::1",
        "/2.0/UDP h",
    ],
)
def test_bad_via(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_via(value)


# -- Content-Length framing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "trailing", "expected"),
    [
        ("4", b"bodyEXTRA", b"body"),
        ("0", b"junk after", b""),
        ("5", b"hello", b"hello"),
        ("0005", b"hello world", b"hello"),
        (" 3 ", b"abcdef", b"abc"),
    ],
)
def test_content_length_frames_the_body(declared: str, trailing: bytes, expected: bytes) -> None:
    raw = build(content_length=declared) + trailing
    assert parse_request(raw).body == expected
    assert parse_request(raw, stream=True).body == expected


def test_trailing_octets_of_a_response_are_ignored() -> None:
    assert parse_response(RESPONSE + b"INVITE sip:x SIP/2.0\r\n").body == b""


@pytest.mark.parametrize("declared", ["6", "100", "65535"])
def test_content_length_larger_than_the_datagram(declared: str) -> None:
    error = malformed(build(content_length=declared) + b"hello")
    assert error.status == 400
    assert "larger" in error.reason


def test_missing_content_length_over_udp_takes_the_rest() -> None:
    raw = build(content_length=None) + b"the rest\r\n"
    assert parse_request(raw).body == b"the rest\r\n"
    assert parse_request(build(content_length=None)).body == b""


def test_missing_content_length_over_a_stream_is_an_error() -> None:
    error = malformed(build(content_length=None) + b"x", stream=True)
    assert "required" in error.reason
    with pytest.raises(SipParseError, match="required"):
        parse_message(RESPONSE.replace(b"Content-Length: 0\r\n", b""), stream=True)


@pytest.mark.parametrize(
    "value", ["-1", "abc", "1e3", "", "+5", "0x10", "1.0", "5 5", "65536", "99999999999999999999"]
)
def test_bad_content_length_values(value: str) -> None:
    error = malformed(build(content_length=value) + b"x" * 20)
    assert error.status == 400
    assert "Content-Length" in error.reason


@pytest.mark.parametrize(
    "pair",
    [
        [("Content-Length", "0"), ("Content-Length", "0")],
        [("Content-Length", "0"), ("l", "0")],
        [("l", "3"), ("Content-Length", "4")],
    ],
)
def test_duplicate_content_length(pair: list[tuple[str, str]]) -> None:
    error = malformed(build(content_length=None, extra=pair) + b"body")
    assert "Content-Length" in error.reason


def test_response_content_length_errors_are_plain_parse_errors() -> None:
    for raw in (
        RESPONSE.replace(b"Content-Length: 0", b"Content-Length: 10"),
        RESPONSE.replace(b"Content-Length: 0", b"Content-Length: -1"),
        RESPONSE.replace(b"Content-Length: 0", b"Content-Length: 0\r\nl: 0"),
    ):
        with pytest.raises(SipParseError) as info:
            parse_message(raw)
        assert not isinstance(info.value, MalformedRequest)


# -- mandatory headers and error responses -----------------------------------------------------

MANDATORY = ["Via", "From", "To", "Call-ID", "CSeq"]


@pytest.mark.parametrize("missing", MANDATORY)
def test_missing_mandatory_header(missing: str) -> None:
    error = malformed(build("INVITE", drop=(missing,)))
    assert error.status == 400
    assert error.method == "INVITE"
    assert missing in error.reason
    present = [name for name in MANDATORY if name != missing]
    for name in present:
        assert name in error.headers
    response = make_error_response(error)
    if missing == "Via":
        assert response is None  # nowhere to send it (RFC 3261 §18.2.2)
        return
    assert response is not None
    assert (response.status, response.reason) == (400, "Bad Request")
    for name in present:
        assert response.headers.get_all(name) == error.headers.get_all(name)
    assert missing not in response.headers
    assert "Warning" in response.headers
    assert missing in (response.headers.get("Warning") or "")
    encoded = response.encode()
    assert encoded.startswith(b"SIP/2.0 400 Bad Request\r\n")
    assert f"\r\n{missing}:".encode() not in encoded


@pytest.mark.parametrize("empty", ["From", "To", "Call-ID", "CSeq"])
def test_empty_mandatory_header(empty: str) -> None:
    raw = build().replace(f"\r\n{empty}: ".encode(), f"\r\n{empty}:\r\nX-Was: ".encode())
    error = malformed(raw)
    assert error.status == 400


def test_error_response_copies_every_via_line_in_order() -> None:
    headers = [
        ("Via", f"{VIA_A}, {VIA_B}"),
        ("Via", VIA_C),
        ("From", "<sip:a@example.com>;tag=1"),
        ("To", "<sip:b@example.com>"),
        ("Call-ID", "e1"),
        ("CSeq", "1 INVITE"),
    ]
    error = malformed(build("OPTIONS", headers=headers))  # CSeq method mismatch
    response = make_error_response(error)
    assert response is not None
    assert response.headers.get_all("Via") == [f"{VIA_A}, {VIA_B}", VIA_C]
    assert response.headers.get("CSeq") == "1 INVITE"
    assert response.headers.get("Call-ID") == "e1"


def test_error_response_is_dropped_when_the_via_is_unreadable() -> None:
    raw = build().replace(VIA.encode(), b"SIP/2.0/UDP ;;bad")
    error = malformed(raw)
    assert make_error_response(error) is None


@pytest.mark.parametrize(
    ("method", "cseq"),
    [("OPTIONS", "1 INVITE"), ("INVITE", "1 invite"), ("BYE", "1 ACK"), ("NEWMETHOD", "1 INVITE")],
)
def test_cseq_method_mismatch(method: str, cseq: str) -> None:
    headers = [
        ("Via", VIA),
        ("From", "<sip:a@example.com>;tag=1"),
        ("To", "<sip:b@example.com>"),
        ("Call-ID", "m1"),
        ("CSeq", cseq),
    ]
    error = malformed(build(method, headers=headers))
    assert error.status == 400
    assert "CSeq" in error.reason


@pytest.mark.parametrize("version", ["SIP/3.0", "SIP/7.0", "SIP/1.0", "SIP/2.1", "SIP/20.0"])
def test_unsupported_version_gives_505(version: str) -> None:
    error = malformed(build(version=version))
    assert error.status == 505
    response = make_error_response(error)
    assert response is not None
    assert (response.status, response.reason) == (505, "Version Not Supported")
    assert parse_response(response.encode()).status == 505


def test_version_is_case_insensitive() -> None:
    assert parse_request(build(version="sip/2.0")).version == "SIP/2.0"


@pytest.mark.parametrize("version", ["HTTP/1.1", "SIP/2", "SIP/2.0x", "SIP2.0", "SIP/a.b"])
def test_garbled_version_gives_400(version: str) -> None:
    assert malformed(build(version=version)).status == 400


@pytest.mark.parametrize(
    "start_line",
    [
        b"OPTIONS  sip:bob@biloxi.example.com SIP/2.0",
        b"OPTIONS sip:bob@biloxi.example.com SIP/2.0 ",
        b"OPTIONS sip:bob@biloxi.example.com",
        b"OPTIONS",
        b"OPTIONS <sip:bob@biloxi.example.com> SIP/2.0",
        b"OPTIONS sip:bob@biloxi.example.com;lr?x=y SIP/2.0",
        b"OPTIONS notauri SIP/2.0",
        b"OPTIONS sip:bob@biloxi example.com SIP/2.0",
    ],
)
def test_bad_request_lines_get_400(start_line: bytes) -> None:
    raw = build().replace(b"OPTIONS sip:bob@biloxi.example.com SIP/2.0", start_line)
    error = malformed(raw)
    assert error.status == 400
    assert make_error_response(error) is not None


@pytest.mark.parametrize(
    "start_line",
    [b"@@@ sip:a@b SIP/2.0", b"\x00\x01 sip:a@b SIP/2.0", b"", b"OPT(IONS sip:a@b SIP/2.0"],
)
def test_unreadable_request_lines_are_plain_parse_errors(start_line: bytes) -> None:
    raw = build().replace(b"OPTIONS sip:bob@biloxi.example.com SIP/2.0", start_line)
    with pytest.raises(SipParseError) as info:
        parse_message(raw)
    assert not isinstance(info.value, MalformedRequest)


@pytest.mark.parametrize(
    "start_line",
    [
        b"SIP/2.0 2000 OK",
        b"SIP/2.0 4294967301 better not break the receiver",
        b"SIP/2.0 99 Low",
        b"SIP/2.0 700 High",
        b"SIP/2.0 000 Zero",
        b"SIP/2.0 OK",
        b"SIP/2.0 abc Bad",
        b"SIP/2.0 200",
        b"SIP/2.0  200 OK",
        b"SIP/2.0200 OK",
        b"SIP/ 200 OK",
    ],
)
def test_bad_status_lines_are_never_malformed_requests(start_line: bytes) -> None:
    raw = RESPONSE.replace(b"SIP/2.0 180 Ringing", start_line)
    with pytest.raises(SipParseError) as info:
        parse_message(raw)
    assert not isinstance(info.value, MalformedRequest)


@pytest.mark.parametrize("missing", [b"Via", b"From", b"To", b"Call-ID", b"CSeq"])
def test_responses_missing_core_headers_are_plain_parse_errors(missing: bytes) -> None:
    lines = [ln for ln in RESPONSE.split(b"\r\n") if not ln.startswith(missing + b":")]
    with pytest.raises(SipParseError) as info:
        parse_message(b"\r\n".join(lines))
    assert not isinstance(info.value, MalformedRequest)


def test_response_without_blank_line_is_an_error() -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(RESPONSE[:-4])
    assert not isinstance(info.value, MalformedRequest)


def test_request_without_blank_line_is_malformed() -> None:
    error = malformed(build()[:-4])
    assert make_error_response(error) is not None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CSeq", "2147483648 OPTIONS"),
        ("CSeq", "4294967296 OPTIONS"),
        ("CSeq", "-1 OPTIONS"),
        ("CSeq", "1"),
        ("CSeq", "1 OPTIONS extra"),
        ("CSeq", "one OPTIONS"),
        ("Max-Forwards", "256"),
        ("Max-Forwards", "-1"),
        ("Max-Forwards", "ten"),
        ("Expires", "4294967296"),
        ("Expires", "soon"),
        ("Call-ID", "has space"),
        ("From", "Bob, Smith <sip:b@x>;tag=1"),
        ("From", '"unterminated <sip:b@x>;tag=1'),
        ("From", "sip:b@x?x=y;tag=1"),
        ("To", "< sip:b@x >"),
        ("To", "<sip:b@x"),
        ("To", "<sip:b@x> junk"),
        ("Contact", "<sip:b@x>;;"),
        ("Contact", "<sip:b@x>;expires=forever"),
        ("Contact", "sip:b@x, sip:c@y?z=1"),
        ("Route", "<sip:p1;lr>, junk"),
        ("Record-Route", "<sip:p1;lr"),
        ("Via", "SIP/2.0/UDP h;;branch=z9hG4bK1"),
    ],
)
def test_bad_values_of_known_headers(name: str, value: str) -> None:
    raw = build(drop=(name,), extra=[(name, value)])
    assert malformed(raw).status == 400


@pytest.mark.parametrize(
    "name", ["From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Type", "Expires"]
)
def test_single_value_headers_may_not_repeat(name: str) -> None:
    extra = {
        "From": "<sip:x@y>;tag=2",
        "To": "<sip:x@y>",
        "Call-ID": "other",
        "CSeq": "314159 OPTIONS",
        "Max-Forwards": "70",
        "Content-Type": "text/plain",
        "Expires": "10",
    }[name]
    raw = build(
        extra=[(name, extra), (name, extra)]
        if name in ("Content-Type", "Expires")
        else [(name, extra)]
    )
    error = malformed(raw)
    assert "more than once" in error.reason


def test_unknown_headers_stay_opaque() -> None:
    message = parse_request(
        build(extra=[("X-Odd", ";;,,;;,;"), ("X-Empty", ""), ("Date", "not a date")])
    )
    assert message.headers.get("x-odd") == ";;,,;;,;"
    assert message.headers.get("X-Empty") == ""
    assert message.headers.get("date") == "not a date"


@pytest.mark.parametrize("line", [b"NoColonHere", b": no name", b"Bad Name: x", b"Bad\x00Name: x"])
def test_unreadable_header_lines(line: bytes) -> None:
    raw = build().replace(b"Max-Forwards: 70", line)
    error = malformed(raw)
    assert error.status == 400
    # Nothing could be read reliably, so there is nobody to answer.
    assert make_error_response(error) is None


def test_oversized_datagram_is_refused() -> None:
    with pytest.raises(SipParseError, match="too large"):
        parse_message(build(body=b"x" * 70000))


# -- make_response -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "tagged"), [(100, False), (180, True), (200, True), (486, True)]
)
def test_make_response_copies_and_tags(status: int, tagged: bool) -> None:
    request = parse_request(build("INVITE", extra=[("Via", VIA_B)]))
    response = make_response(request, status, to_tag="abc")
    assert response.status == status
    assert response.reason == reason_phrase(status)
    assert response.headers.get_all("Via") == request.headers.get_all("Via")
    assert response.headers.get("From") == request.headers.get("From")
    assert response.headers.get("Call-ID") == request.headers.get("Call-ID")
    assert response.headers.get("CSeq") == request.headers.get("CSeq")
    assert response.to.tag == ("abc" if tagged else None)
    assert response.to.uri == request.to.uri
    assert "Contact" not in response.headers


def test_make_response_keeps_an_existing_to_tag() -> None:
    request = parse_request(build(drop=("To",), extra=[("To", "<sip:bob@b.example>;tag=existing")]))
    assert make_response(request, 200, to_tag="new").to.tag == "existing"


def test_make_response_body_and_extra_headers() -> None:
    request = parse_request(build("INVITE"))
    response = make_response(
        request,
        200,
        to_tag="t",
        extra_headers=(("Contact", "<sip:me@192.0.2.9>"), ("Allow", "INVITE, ACK")),
        body=SDP,
        content_type="application/sdp",
    )
    parsed = parse_response(response.encode())
    assert parsed.body == SDP
    assert parsed.headers.get("Content-Type") == "application/sdp"
    assert parsed.headers.get("Content-Length") == str(len(SDP))
    assert parsed.headers.get("Allow") == "INVITE, ACK"


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (200, "OK"),
        (481, "Call/Transaction Does Not Exist"),
        (299, "OK"),
        (499, "Client Error"),
        (555, "Server Error"),
        (699, "Global Failure"),
        (199, "Progress"),
        (399, "Redirect"),
    ],
)
def test_reason_phrases(status: int, phrase: str) -> None:
    assert reason_phrase(status) == phrase


def test_encode_replaces_a_stale_content_length() -> None:
    request = parse_request(build(body=b"abc", extra=[("Content-Type", "text/plain")]))
    request.body = b"longer body"
    encoded = request.encode()
    assert encoded.count(b"Content-Length") == 1
    assert parse_request(encoded).body == b"longer body"


# -- helpers of headers.py ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("a, b ,c", ["a", "b", "c"]),
        ('"Doe, John" <sip:j@x>, <sip:k@y;a=1,2>', ['"Doe, John" <sip:j@x>', "<sip:k@y;a=1,2>"]),
        ('"a\\", b" <sip:x@y>', ['"a\\", b" <sip:x@y>']),
        ("single", ["single"]),
        ("a,,b", ["a", "", "b"]),
        (",", ["", ""]),
    ],
)
def test_split_list(value: str, parts: list[str]) -> None:
    assert split_list(value) == parts


@pytest.mark.parametrize(
    ("value", "display", "uri", "params"),
    [
        ('"Bob" <sip:bob@b.example>;tag=1', "Bob", "sip:bob@b.example", (("tag", "1"),)),
        ("Bob Smith <sip:bob@b.example>", "Bob Smith", "sip:bob@b.example", ()),
        (
            "caller<sip:caller@example.com>;tag=323",
            "caller",
            "sip:caller@example.com",
            (("tag", "323"),),
        ),
        ("sip:bob@b.example;tag=1", None, "sip:bob@b.example", (("tag", "1"),)),
        (
            "<sip:bob@b.example;transport=tcp>;tag=1",
            None,
            "sip:bob@b.example;transport=tcp",
            (("tag", "1"),),
        ),
        ('"" <tel:+1555>', "", "tel:+1555", ()),
        ('"\\"q\\"" <sip:q@x>', '"q"', "sip:q@x", ()),
        ("<sip:a@b> ; tag = x ; q = 0.5", None, "sip:a@b", (("tag", "x"), ("q", "0.5"))),
    ],
)
def test_parse_name_address(
    value: str, display: str | None, uri: str, params: tuple[tuple[str, str], ...]
) -> None:
    address = parse_name_address(value)
    assert address.display_name == display
    assert str(address.uri) == uri
    assert address.params == params
    assert parse_name_address(str(address)) == address


def test_other_uri_in_name_address() -> None:
    address = parse_name_address("<tel:+15551234567;phone-context=x>;tag=9")
    assert isinstance(address.uri, OtherUri)
    assert address.tag == "9"
    assert address.with_tag("10").tag == "10"


@pytest.mark.parametrize(
    ("value", "number", "method"),
    [("1 INVITE", 1, "INVITE"), ("0009   ACK", 9, "ACK"), ("2147483647 BYE", 2**31 - 1, "BYE")],
)
def test_parse_cseq(value: str, number: int, method: str) -> None:
    cseq = parse_cseq(value)
    assert (cseq.number, cseq.method) == (number, method)


@pytest.mark.parametrize(
    ("text", "maximum", "expected"), [("0", 5, 0), ("005", 5, 5), (" 7 ", 9, 7)]
)
def test_parse_uint(text: str, maximum: int, expected: int) -> None:
    assert parse_uint(text, what="x", maximum=maximum) == expected


@pytest.mark.parametrize("text", ["6", "-1", "", "1.5", "٣", "0" * 30 + "6"])
def test_parse_uint_bad(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uint(text, what="x", maximum=5)


def test_headers_multimap() -> None:
    headers = Headers(
        [("Via", "a"), ("X-A", "1"), ("v", "b"), ("Route", "<r1>, <r2>"), ("route", "<r3>")]
    )
    assert headers.get_all("VIA") == ["a", "b"]
    assert headers.values("Route") == ["<r1>", "<r2>", "<r3>"]
    headers.set("via", "c")
    assert list(headers) == [("Via", "c"), ("X-A", "1"), ("Route", "<r1>, <r2>"), ("Route", "<r3>")]
    copy = headers.copy()
    copy.remove("Route")
    assert "Route" in headers
    assert "Route" not in copy
    assert len(copy) == 2
    headers.set("New", "n")
    assert list(headers)[-1] == ("New", "n")
    assert headers.encode().endswith("New: n\r\n")


# -- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Call-ID", "abc\rVia: SIP/2.0/UDP evil"),  # a bare CR would split the copied line
        ("CSeq", "314159\rOPTIONS"),
        ("Subject", "a\x00b"),
        ("X-Thing", "bell\x07"),
        ("X-Thing", "del\x7f"),
        ("To", '"a\\\rb" <sip:b@x>'),  # CR may not even be quoted
    ],
)
def test_control_characters_in_header_lines_are_refused(name: str, value: str) -> None:
    raw = build(drop=(name,), extra=[(name, value)])
    malformed(raw)


def test_control_characters_in_the_start_line_are_refused() -> None:
    assert malformed(build(uri="tel:+1\x00555")).status == 400
    with pytest.raises(SipParseError) as info:
        parse_message(RESPONSE.replace(b"180 Ringing", b"180 Ring\x00ing"))
    assert not isinstance(info.value, MalformedRequest)


def test_quoted_pairs_may_escape_control_characters() -> None:
    # RFC 4475 §3.1.1.2: "BEL:\^G NUL:\^@ DEL:\^?" in a quoted display name is valid.
    to = '"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:b@biloxi.example.com>'
    message = parse_request(build(drop=("To",), extra=[("To", to)]))
    assert message.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.headers.get("To") == to


# -- To tags on error responses ------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "expected_tag"),
    [
        ("Bob <sip:bob@biloxi.example.com>", "err1"),
        ("<sip:bob@biloxi.example.com>;tag=theirs", "theirs"),
    ],
)
def test_error_response_gets_a_to_tag(to: str, expected_tag: str) -> None:
    error = malformed(build(drop=("To", "Call-ID"), extra=[("To", to)]))
    response = make_error_response(error, to_tag="err1")
    assert response is not None
    to_value = response.headers.get("To") or ""
    assert parse_name_address(to_value).tag == expected_tag
    untagged = make_error_response(error)
    assert untagged is not None
    assert untagged.headers.get("To") == to


def test_unreadable_to_is_copied_as_is() -> None:
    error = malformed(build(drop=("To",), extra=[("To", "< sip:bob@b >")]))
    response = make_error_response(error, to_tag="err1")
    assert response is not None
    assert response.headers.get("To") == "< sip:bob@b >"


def test_address_and_uri_parses_are_memoised_but_failures_are_not() -> None:
    from dialtone.sip.headers import parse_name_address
    from dialtone.sip.uri import parse_uri

    value = '"Bob" <sip:bob@example.com>;tag=a1'
    assert parse_name_address(value) is parse_name_address(value)
    assert parse_uri("sip:bob@example.com") is parse_uri("sip:bob@example.com")
    for _ in range(2):
        with pytest.raises(SipParseError):
            parse_name_address("<sip:bob@example.com")
