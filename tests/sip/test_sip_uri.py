"""SIP, SIPS and other URIs (RFC 3261 §19.1, §25.1; RFC 3966 tel; RFC 4475 §3.1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.sip.errors import SipParseError
from dialtone.sip.uri import OtherUri, SipUri, parse_uri, unescape

# text, scheme, user, password, host, port, params, headers
VALID_SIP: list[
    tuple[
        str,
        str,
        str | None,
        str | None,
        str,
        int | None,
        tuple[tuple[str, str | None], ...],
        str | None,
    ]
] = [
    ("sip:alice@atlanta.com", "sip", "alice", None, "atlanta.com", None, (), None),
    (
        "sip:alice:secretword@atlanta.com;transport=tcp",
        "sip",
        "alice",
        "secretword",
        "atlanta.com",
        None,
        (("transport", "tcp"),),
        None,
    ),
    (
        "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sips",
        "alice",
        None,
        "atlanta.com",
        None,
        (),
        "subject=project%20x&priority=urgent",
    ),
    (
        "sip:+1-212-555-1212:1234@gateway.com;user=phone",
        "sip",
        "+1-212-555-1212",
        "1234",
        "gateway.com",
        None,
        (("user", "phone"),),
        None,
    ),
    ("sips:1212@gateway.com", "sips", "1212", None, "gateway.com", None, (), None),
    ("sip:alice@192.0.2.4", "sip", "alice", None, "192.0.2.4", None, (), None),
    (
        "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
        "sip",
        None,
        None,
        "atlanta.com",
        None,
        (("method", "REGISTER"),),
        "to=alice%40atlanta.com",
    ),
    # ';' belongs to the user part when it comes before '@' (RFC 4475 §3.1.1.9).
    (
        "sip:alice;day=tuesday@atlanta.com",
        "sip",
        "alice;day=tuesday",
        None,
        "atlanta.com",
        None,
        (),
        None,
    ),
    ("sip:[2001:db8::10]:5070", "sip", None, None, "[2001:db8::10]", 5070, (), None),
    ("sip:user@[2001:db8::10]", "sip", "user", None, "[2001:db8::10]", None, (), None),
    (
        "sip:user@[::ffff:192.0.2.1]:5061;transport=tls",
        "sip",
        "user",
        None,
        "[::ffff:192.0.2.1]",
        5061,
        (("transport", "tls"),),
        None,
    ),
    (
        "sip:host.example.com:5060;lr",
        "sip",
        None,
        None,
        "host.example.com",
        5060,
        (("lr", None),),
        None,
    ),
    (
        "sip:proxy.example;lr;maddr=239.255.255.1;ttl=15",
        "sip",
        None,
        None,
        "proxy.example",
        None,
        (("lr", None), ("maddr", "239.255.255.1"), ("ttl", "15")),
        None,
    ),
    ("sip:%61lice@atlanta.com", "sip", "%61lice", None, "atlanta.com", None, (), None),
    (
        "sip:I%20have%20spaces@example.net",
        "sip",
        "I%20have%20spaces",
        None,
        "example.net",
        None,
        (),
        None,
    ),
    (
        "sip:sips%3Auser%40example.com@example.net",
        "sip",
        "sips%3Auser%40example.com",
        None,
        "example.net",
        None,
        (),
        None,
    ),
    (
        "sip:user;par=u%40example.net@example.com",
        "sip",
        "user;par=u%40example.net",
        None,
        "example.com",
        None,
        (),
        None,
    ),
    # RFC 4475 §3.1.1.2 (intmeth.dat): every character the user and password may hold.
    (
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
        "(doesn't-it)@example.com",
        "sip",
        "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*",
        "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)",
        "example.com",
        None,
        (),
        None,
    ),
    (
        "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
        "sip",
        "cal%6Cer",
        None,
        "host5.example.net",
        None,
        (("%6C%72", None), ("n%61me", "v%61lue%25%34%31")),
        None,
    ),
    ("sip:example.com.", "sip", None, None, "example.com.", None, (), None),
    ("sip:u@h:0", "sip", "u", None, "h", 0, (), None),
    ("sip:u@h:65535", "sip", "u", None, "h", 65535, (), None),
    ("sip:u:@h", "sip", "u", "", "h", None, (), None),
    ("sip:h;x=[2001:db8::1]", "sip", None, None, "h", None, (("x", "[2001:db8::1]"),), None),
    ("sip:h?a=b&c=%20d", "sip", None, None, "h", None, (), "a=b&c=%20d"),
]


@pytest.mark.parametrize("row", VALID_SIP, ids=[row[0][:40] for row in VALID_SIP])
def test_sip_uri_fields_and_round_trip(row: tuple[object, ...]) -> None:
    text, scheme, user, password, host, port, params, headers = row
    assert isinstance(text, str)
    uri = parse_uri(text)
    assert isinstance(uri, SipUri)
    assert uri.scheme == scheme
    assert uri.user == user
    assert uri.password == password
    assert uri.host == host
    assert uri.port == port
    assert uri.params == params
    assert uri.headers == headers
    assert str(uri) == text
    assert parse_uri(str(uri)) == uri


@pytest.mark.parametrize(
    ("text", "scheme", "opaque", "user"),
    [
        ("tel:+1-201-555-0123", "tel", "+1-201-555-0123", "+1-201-555-0123"),
        ("tel:7042;phone-context=example.com", "tel", "7042;phone-context=example.com", "7042"),
        ("TEL:+33123456789", "tel", "+33123456789", "+33123456789"),
        ("im:user@example.com", "im", "user@example.com", None),
        ("pres:user@example.com", "pres", "user@example.com", None),
        ("urn:service:sos", "urn", "service:sos", None),
        ("http://www.example.com/a?b=c", "http", "//www.example.com/a?b=c", None),
        ("mailto:a@b.example", "mailto", "a@b.example", None),
    ],
)
def test_other_uris_are_kept_opaque(text: str, scheme: str, opaque: str, user: str | None) -> None:
    uri = parse_uri(text)
    assert isinstance(uri, OtherUri)
    assert (uri.scheme, uri.opaque, uri.user) == (scheme, opaque, user)
    assert str(uri) == f"{scheme}:{opaque}"
    assert parse_uri(str(uri)) == uri


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SIP:Alice@Atlanta.COM", "sip:Alice@Atlanta.COM"),
        ("SiPs:h;Transport=TCP", "sips:h;Transport=TCP"),
    ],
)
def test_scheme_is_case_insensitive_and_lowered(text: str, expected: str) -> None:
    uri = parse_uri(text)
    assert str(uri) == expected
    assert uri.scheme == expected.split(":", 1)[0]


INVALID = [
    "",
    "sip",
    "sip:",
    ":host",
    "1sip:host",
    "s p:host",
    "sip:user@",
    "sip:@host",
    "sip:host:",
    "sip:host:65536",
    "sip:host:123456",
    "sip:host:abc",
    "sip:host:-1",
    "sip:host:+5",
    "sip:host:\uff15\uff10\uff16\uff10",  # full-width digits are not DIGIT
    "sip:host;",
    "sip:host;;lr",
    "sip:host;a=",
    "sip:host;=b",
    "sip:host;a=b;",
    "sip:host?",
    "sip:ho st",
    "sip:host ",
    " sip:host",
    "sip:us er@host",
    "sip:<host>",
    "sip:user@<host>",
    'sip:"host"',
    "sip:host;a=<b>",
    "sip:host?a=b c",
    "sip:host\t",
    "sip:[::1",
    "sip:[::1]x",
    "sip:[::1]:",
    "sip:[zz::1]",
    "sip:[]",
    "sip:-host",
    "sip:host_name.example",
    "sip:host..example/x",
    "sip:user@host@other",
    "sip:user:pa@ss@host",
    "sip:user%@host",
    "sip:user%4@host",
    "sip:user%zz@host",
    "sip:user:pass word@host",
    "sip:user@host;lr%",
    "sip:user@host;x=%g0",
    "sip:user@host?a=%",
    "sip:user@host?a=<b>",
    "sip:user@host;a=b?c=d e",
    "tel: +1234",
    "tel:<+1234>",
    'tel:"+1234"',
    "tel:",
    "sip:h\r\nVia: x",
]


@pytest.mark.parametrize("text", INVALID, ids=[repr(t)[:40] for t in INVALID])
def test_invalid_uris_raise_sip_parse_error(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(text)


@pytest.mark.parametrize(
    "text",
    ["sip:h?a=b", "sip:u@h;lr?subject=x", "sips:u@h?to=a%40b"],
)
def test_headers_are_refused_in_a_request_uri(text: str) -> None:
    assert parse_uri(text).headers is not None  # type: ignore[union-attr]
    with pytest.raises(SipParseError, match="Request-URI"):
        parse_uri(text, allow_headers=False)


def test_request_uri_without_headers_is_fine() -> None:
    assert parse_uri("sip:u@h;lr", allow_headers=False) == parse_uri("sip:u@h;lr")


def test_param_lookup_is_case_insensitive() -> None:
    uri = parse_uri("sip:h;Transport=TCP;LR;maddr=1.2.3.4")
    assert isinstance(uri, SipUri)
    assert uri.param("transport") == "TCP"
    assert uri.param("lr") == ""
    assert uri.has_param("Lr")
    assert uri.param("ttl") is None
    assert not uri.has_param("ttl")
    assert uri.host_port == "h"
    other = parse_uri("sip:u@[2001:db8::1]:5062")
    assert isinstance(other, SipUri)
    assert other.host_port == "[2001:db8::1]:5062"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%61lice", "alice"),
        ("I%20have%20spaces", "I have spaces"),
        ("no-escapes", "no-escapes"),
        ("100%", "100%"),
        ("%4", "%4"),
        ("%zz%41", "%zzA"),
        ("v%61lue%25%34%31", "value%41"),  # one pass only: %25 becomes '%', not re-decoded
        ("%C3%A9", "é"),
    ],
)
def test_unescape(text: str, expected: str) -> None:
    assert unescape(text) == expected


def test_escaped_and_unescaped_users_compare_equal_after_unescape() -> None:
    a = parse_uri("sip:%61lice@atlanta.com")
    b = parse_uri("sip:alice@atlanta.com")
    assert isinstance(a, SipUri)
    assert isinstance(b, SipUri)
    assert a != b  # kept as received …
    assert unescape(a.user or "") == b.user  # … and equal once unescaped (§19.1.4)


# -- generated round trips ------------------------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_USER_CHARS = _ALNUM + "-_.!~*'()&=+$,;?/"
_PASSWORD_CHARS = _ALNUM + "-_.!~*'()&=+$,"
_PARAM_CHARS = _ALNUM + "-_.!~*'()[]/:&+$"
_HEADER_CHARS = _ALNUM + "-_.!~*'()[]/?:+$"


def _escaped(chars: str) -> st.SearchStrategy[str]:
    piece = st.sampled_from(list(chars)) | st.sampled_from(["%20", "%40", "%3A", "%25", "%3b"])
    return st.lists(piece, min_size=1, max_size=8).map("".join)


_label = st.text(alphabet=_ALNUM, min_size=1, max_size=8)
_hostname = (
    st.lists(_label, min_size=1, max_size=4).map(".".join).filter(lambda h: not h.startswith("-"))
)
_ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
_ipv6 = st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8).map(
    lambda g: "[" + ":".join(f"{x:x}" for x in g) + "]"
)
_param = st.tuples(_escaped(_PARAM_CHARS), st.none() | _escaped(_PARAM_CHARS))
_header = st.tuples(_escaped(_HEADER_CHARS), _escaped(_HEADER_CHARS)).map("=".join)


@st.composite
def sip_uris(draw: st.DrawFn) -> SipUri:
    user = draw(st.none() | _escaped(_USER_CHARS))
    password = draw(st.none() | _escaped(_PASSWORD_CHARS)) if user is not None else None
    headers = draw(st.lists(_header, max_size=3))
    return SipUri(
        scheme=draw(st.sampled_from(["sip", "sips"])),
        host=draw(_hostname | _ipv4 | _ipv6),
        user=user,
        password=password,
        port=draw(st.none() | st.integers(0, 65535)),
        params=tuple(draw(st.lists(_param, max_size=4))),
        headers="&".join(headers) if headers else None,
    )


@settings(max_examples=300, deadline=None)
@given(sip_uris())
def test_generated_sip_uris_round_trip(uri: SipUri) -> None:
    assert parse_uri(str(uri)) == uri


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_uri_raises_only_sip_parse_error(text: str) -> None:
    try:
        uri = parse_uri(text)
    except SipParseError:
        return
    # Whatever was accepted prints back to something that parses to the same URI.
    assert parse_uri(str(uri)) == uri
