"""Digest authentication (RFC 7616, RFC 2617, RFC 3261 §22, RFC 8760): vectors, round trips,
nonces and the header parser."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.sip.digest import (
    ALGORITHMS,
    DigestCredentials,
    DigestError,
    NonceSigner,
    authorization,
    challenge,
    expected_response,
    ha1,
    hash_hex,
    parse_auth_header,
    verify,
)
from dialtone.sip.errors import SipParseError

# -- RFC vectors --------------------------------------------------------------------------------

RFC7616_REALM = "http-auth@example.org"
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_PASSWORD = "Circle of Life"


def rfc7616_credentials(algorithm: str, response: str) -> str:
    """The Authorization value of RFC 7616 §3.9.1, as a client would send it."""
    return (
        f'Digest username="Mufasa", realm="{RFC7616_REALM}", uri="/dir/index.html",\r\n'
        f'  algorithm={algorithm}, nonce="{RFC7616_NONCE}", nc=00000001,\r\n'
        f'  cnonce="{RFC7616_CNONCE}", qop=auth, response="{response}",\r\n'
        f'  opaque="{RFC7616_OPAQUE}"'
    )


RFC7616_VECTORS = [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
]


@pytest.mark.parametrize(("algorithm", "response"), RFC7616_VECTORS)
def test_rfc7616_examples(algorithm: str, response: str) -> None:
    credentials = DigestCredentials.parse(rfc7616_credentials(algorithm, response))
    assert (credentials.username, credentials.realm) == ("Mufasa", RFC7616_REALM)
    assert (credentials.qop, credentials.nc, credentials.cnonce) == (
        "auth",
        "00000001",
        RFC7616_CNONCE,
    )
    assert credentials.opaque == RFC7616_OPAQUE
    assert credentials.algorithm == algorithm
    stored = ha1("Mufasa", RFC7616_REALM, RFC7616_PASSWORD, algorithm)
    assert expected_response(credentials, "GET", stored) == response
    assert verify(credentials, "GET", stored)
    assert not verify(credentials, "POST", stored)
    assert not verify(credentials, "GET", ha1("Mufasa", RFC7616_REALM, "circle of life", algorithm))


@pytest.mark.parametrize(("algorithm", "response"), RFC7616_VECTORS)
def test_rfc7616_client_side(algorithm: str, response: str) -> None:
    """The client answering the RFC 7616 §3.9.1 challenge sends the RFC's response."""
    www_authenticate = (
        f'Digest realm="{RFC7616_REALM}", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
    )
    value = authorization(
        www_authenticate,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password=RFC7616_PASSWORD,
        cnonce=RFC7616_CNONCE,
    )
    credentials = DigestCredentials.parse(value)
    assert credentials.response == response
    assert (credentials.qop, credentials.nc, credentials.opaque) == (
        "auth",
        "00000001",
        RFC7616_OPAQUE,
    )


def test_rfc2617_example() -> None:
    value = (
        'Digest username="Mufasa", realm="testrealm@host.com", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
        'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    credentials = DigestCredentials.parse(value)
    assert credentials.algorithm == "MD5"  # absent means MD5
    stored = ha1("Mufasa", "testrealm@host.com", "Circle Of Life", "MD5")
    assert expected_response(credentials, "GET", stored) == "6629fae49393a05397450978507c4ef1"
    assert verify(credentials, "GET", stored)
    assert verify(credentials, "GET", stored.upper())  # stored hex case does not matter


def test_no_qop_rfc2069_compatibility() -> None:
    stored = ha1("alice", "dialtone", "s3cret", "MD5")
    ha2 = hashlib.md5(b"REGISTER:sip:dialtone.example").hexdigest()
    response = hashlib.md5(f"{stored}:abc:{ha2}".encode()).hexdigest()
    credentials = DigestCredentials.parse(
        'Digest username="alice", realm="dialtone", nonce="abc", uri="sip:dialtone.example", '
        f'response="{response.upper()}"'
    )
    assert (credentials.qop, credentials.nc, credentials.cnonce) == (None, None, None)
    assert verify(credentials, "REGISTER", stored)
    assert not verify(credentials, "INVITE", stored)


@pytest.mark.parametrize(
    ("algorithm", "data", "expected"),
    [
        ("MD5", "", "d41d8cd98f00b204e9800998ecf8427e"),
        ("md5-sess", "", "d41d8cd98f00b204e9800998ecf8427e"),
        ("SHA-256", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("SHA-256-sess", "abc", hashlib.sha256(b"abc").hexdigest()),
        ("MD5", "é", hashlib.md5("é".encode()).hexdigest()),
    ],
)
def test_hash_hex(algorithm: str, data: str, expected: str) -> None:
    assert hash_hex(algorithm, data) == expected


@pytest.mark.parametrize("algorithm", ["SHA-512-256", "SHA1", "", "MD5-sess-sess", "-sess"])
def test_unsupported_algorithm(algorithm: str) -> None:
    with pytest.raises(DigestError):
        hash_hex(algorithm, "x")
    with pytest.raises(DigestError):
        challenge("r", "n", algorithm=algorithm)


def test_algorithms_constant() -> None:
    assert ALGORITHMS == ("SHA-256", "MD5")
    assert issubclass(DigestError, SipParseError)


# -- client → server round trips ---------------------------------------------------------------

ROUND_TRIPS = [
    # (algorithm offered, qop offered, opaque)
    ("MD5", "auth", None),
    ("SHA-256", "auth", "op/aque=="),
    ("MD5-sess", "auth", None),
    ("SHA-256-sess", "auth", "x"),
    ("MD5", "", None),  # RFC 2069 style: no qop
    ("SHA-256", "", "o"),
    ("MD5-sess", "", None),  # -sess without qop still sends cnonce
    ("SHA-256-sess", "", None),
    ("SHA-256", "auth-int,auth", None),
]


@pytest.mark.parametrize(("algorithm", "qop", "opaque"), ROUND_TRIPS)
def test_client_server_round_trip(algorithm: str, qop: str, opaque: str | None) -> None:
    signer = NonceSigner(b"k" * 32)
    nonce = signer.make(1_700_000_000.0, b"saltsalt")
    value = challenge("dialtone", nonce, algorithm=algorithm, qop=qop, opaque=opaque)
    answer = authorization(
        value,
        method="INVITE",
        uri="sip:+15551234567@dialtone.example",
        username="alice",
        password="correct horse",
        cnonce="c0ffee",
        nc=7,
    )
    credentials = DigestCredentials.parse(answer)
    assert credentials.nonce == nonce
    assert credentials.opaque == opaque
    assert credentials.algorithm == algorithm
    assert credentials.nc == ("00000007" if qop else None)
    assert credentials.qop == ("auth" if qop else None)
    assert signer.check(credentials.nonce, 1_700_000_001.0, 300) == "ok"
    right = ha1("alice", "dialtone", "correct horse", algorithm)
    wrong = ha1("alice", "dialtone", "correct horsf", algorithm)
    assert verify(credentials, "INVITE", right)
    assert not verify(credentials, "INVITE", wrong)
    assert not verify(credentials, "BYE", right)


@pytest.mark.parametrize(
    ("challenge_value", "error"),
    [
        ('Basic realm="x"', DigestError),
        ('Digest realm="x"', DigestError),  # no nonce
        ('Digest nonce="n"', DigestError),  # no realm
        ('Digest realm="x", nonce="n", algorithm=SHA-512-256', DigestError),
        ('Digest realm="x", nonce="n", qop="auth-int"', DigestError),
        ('Digest realm="x", nonce="n", opaque="a\r\nVia: evil"', DigestError),
        ("Digest realm=", DigestError),
    ],
)
def test_authorization_refuses(challenge_value: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        authorization(
            challenge_value, method="INVITE", uri="sip:x", username="u", password="p", cnonce="c"
        )


@pytest.mark.parametrize(("nc", "ok"), [(0, False), (1, True), (0xFFFFFFFF, True), (2**32, False)])
def test_authorization_nc_bounds(nc: int, ok: bool) -> None:
    kwargs = {"method": "INVITE", "uri": "sip:x", "username": "u", "password": "p", "cnonce": "c"}
    value = 'Digest realm="x", nonce="n", qop="auth"'
    if ok:
        assert f"nc={nc:08x}" in authorization(value, nc=nc, **kwargs)
    else:
        with pytest.raises(ValueError, match="nc"):
            authorization(value, nc=nc, **kwargs)


def test_authorization_quotes_username() -> None:
    value = authorization(
        'Digest realm="r", nonce="n", qop="auth"',
        method="REGISTER",
        uri="sip:r",
        username='we"ird\\name',
        password="p",
        cnonce="c",
    )
    assert 'username="we\\"ird\\\\name"' in value
    credentials = DigestCredentials.parse(value)
    assert credentials.username == 'we"ird\\name'
    assert verify(credentials, "REGISTER", ha1('we"ird\\name', "r", "p", "MD5"))


@pytest.mark.parametrize(
    ("changes", "ok"),
    [
        ({}, True),
        ({"qop": "auth-int"}, False),  # unsupported: there is no body to check
        ({"qop": "bogus"}, False),
        ({"algorithm": "SHA-512-256"}, False),
        ({"algorithm": "MD5-sess", "cnonce": None}, False),
        ({"nc": None}, False),
        ({"response": "zz"}, False),
        ({"response": "ünïcode"}, False),
    ],
)
def test_verify_refuses(changes: dict[str, Any], ok: bool) -> None:
    stored = ha1("u", "r", "p", "MD5")
    base = DigestCredentials(
        username="u",
        realm="r",
        nonce="n",
        uri="sip:r",
        response="",
        qop="auth",
        nc="00000001",
        cnonce="c",
    )
    good = replace(base, response=expected_response(base, "GET", stored))
    assert verify(replace(good, **changes), "GET", stored) is ok


def test_expected_response_auth_int() -> None:
    stored = ha1("u", "r", "p", "SHA-256")
    credentials = DigestCredentials(
        username="u",
        realm="r",
        nonce="n",
        uri="sip:r",
        response="",
        algorithm="SHA-256",
        qop="auth-int",
        nc="00000001",
        cnonce="c",
    )
    ha2 = hash_hex("SHA-256", f"MESSAGE:sip:r:{hashlib.sha256(b'hello').hexdigest()}")
    expected = hash_hex("SHA-256", f"{stored}:n:00000001:c:auth-int:{ha2}")
    assert expected_response(credentials, "MESSAGE", stored, b"hello") == expected


# -- challenges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, 'Digest realm="dialtone", nonce="abc", algorithm=SHA-256, qop="auth"'),
        (
            {"algorithm": "MD5", "stale": True},
            'Digest realm="dialtone", nonce="abc", algorithm=MD5, qop="auth", stale=true',
        ),
        (
            {"opaque": "o", "qop": ""},
            'Digest realm="dialtone", nonce="abc", algorithm=SHA-256, opaque="o"',
        ),
        (
            {"realm": 'a "b" \\c'},
            'Digest realm="a \\"b\\" \\\\c", nonce="abc", algorithm=SHA-256, qop="auth"',
        ),
    ],
)
def test_challenge(kwargs: dict[str, object], expected: str) -> None:
    realm = str(kwargs.pop("realm", "dialtone"))
    value = challenge(realm, "abc", **kwargs)  # type: ignore[arg-type]
    assert value == expected
    scheme, params = parse_auth_header(value)
    assert scheme == "Digest"
    assert params["realm"] == realm


def test_challenge_refuses_line_breaks() -> None:
    with pytest.raises(DigestError):
        challenge("dial\r\ntone", "abc")


# -- nonces -------------------------------------------------------------------------------------

ISSUED = 1_700_000_000.123
LIFETIME = 300.0


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ISSUED, "ok"),
        (ISSUED + LIFETIME - 0.001, "ok"),  # just under
        (ISSUED + LIFETIME, "ok"),  # exactly at the lifetime
        (ISSUED + LIFETIME + 0.001, "stale"),  # just over
        (ISSUED + 86_400, "stale"),
        (ISSUED - 1.0, "ok"),  # clock stepped back a little
        (ISSUED - 1.001, "invalid"),  # from the future
        (ISSUED - 3600, "invalid"),
    ],
)
def test_nonce_lifetime(now: float, expected: str) -> None:
    signer = NonceSigner(b"s" * 32)
    nonce = signer.make(ISSUED, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    assert signer.check(nonce, now, LIFETIME) == expected


def test_nonce_shape_and_uniqueness() -> None:
    signer = NonceSigner(b"s" * 32)
    a = signer.make(ISSUED, b"salt-one")
    b = signer.make(ISSUED, b"salt-two")
    assert a != b
    assert a.isascii()
    assert set(a) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    # Carries no characters that need quoting in a header.
    assert parse_auth_header(challenge("r", a))[1]["nonce"] == a


def _flip(text: str, index: int) -> str:
    ch = "A" if text[index] != "A" else "B"
    return text[:index] + ch + text[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda n: _flip(n, 0),  # issue time
        lambda n: _flip(n, 12),  # salt
        lambda n: _flip(n, len(n) - 3),  # MAC
        lambda n: n[:-1],
        lambda n: n + "A",
        lambda n: n + "==",
        lambda n: n[:10] + "!" + n[10:],
        lambda n: n.replace("-", "+").replace("_", "/") + "+/",
        lambda n: "",
        lambda n: "A" * 5000,
        lambda n: "ü" + n,
        lambda n: NonceSigner(b"t" * 32).make(ISSUED, b"saltsalt"),  # other secret
    ],
)
def test_nonce_tampered(tamper: object) -> None:
    signer = NonceSigner(b"s" * 32)
    nonce = signer.make(ISSUED, b"saltsalt")
    assert callable(tamper)
    assert signer.check(tamper(nonce), ISSUED + 1, LIFETIME) == "invalid"


def test_nonce_last_character_not_canonical() -> None:
    """Base64 leaves spare bits in the last character; only one spelling is accepted."""
    signer = NonceSigner(b"s" * 32)
    nonce = signer.make(ISSUED, b"sal")  # 8 + 3 + 16 = 27 bytes: 36 chars, no spare bits
    assert signer.check(nonce, ISSUED, LIFETIME) == "ok"
    nonce = signer.make(ISSUED, b"salt")  # 28 bytes: 38 chars, 4 spare bits at the end
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variants = [nonce[:-1] + ch for ch in alphabet if ch != nonce[-1]]
    assert [signer.check(v, ISSUED, LIFETIME) for v in variants] == ["invalid"] * len(variants)


@pytest.mark.parametrize(("secret", "ok"), [(b"", False), (b"x" * 15, False), (b"x" * 16, True)])
def test_nonce_secret_length(secret: bytes, ok: bool) -> None:
    if ok:
        NonceSigner(secret)
    else:
        with pytest.raises(ValueError, match="secret"):
            NonceSigner(secret)


# -- parser -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "scheme", "params"),
    [
        ('Digest realm="a"', "Digest", {"realm": "a"}),
        ("digest REALM=a", "digest", {"realm": "a"}),
        ("Digest", "Digest", {}),
        ('  Digest   realm = "a" ,  nonce="b"  ', "Digest", {"realm": "a", "nonce": "b"}),
        ('Digest realm="a",nonce="b"', "Digest", {"realm": "a", "nonce": "b"}),
        ('Digest\trealm="a",\r\n\tnonce="b"', "Digest", {"realm": "a", "nonce": "b"}),
        ('Digest , realm="a",, ,nonce="b",', "Digest", {"realm": "a", "nonce": "b"}),
        ('Digest realm="say \\"hi\\""', "Digest", {"realm": 'say "hi"'}),
        ('Digest realm="back\\\\slash"', "Digest", {"realm": "back\\slash"}),
        ('Digest realm="\\a\\b"', "Digest", {"realm": "ab"}),
        ('Digest realm="a, b=c", nonce="x"', "Digest", {"realm": "a, b=c", "nonce": "x"}),
        ('Digest qop="auth,auth-int"', "Digest", {"qop": "auth,auth-int"}),
        ('Digest realm=""', "Digest", {"realm": ""}),
        ('Digest username="Jäsøn Doe"', "Digest", {"username": "Jäsøn Doe"}),
        ("Digest nc=00000001, stale=TRUE", "Digest", {"nc": "00000001", "stale": "TRUE"}),
    ],
)
def test_parse_auth_header(value: str, scheme: str, params: dict[str, str]) -> None:
    assert parse_auth_header(value) == (scheme, params)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        '"Digest" realm=a',
        "Digest,realm=a",
        "Digest realm",
        "Digest realm=",
        "Digest realm= ,nonce=b",
        'Digest realm="a',
        'Digest realm="a\\"',
        'Digest realm="a" nonce="b"',  # missing comma
        "Digest realm=a b",
        "Digest realm=sip:x@y",  # not a token: must be quoted
        'Digest realm="a", realm="b"',
        'Digest Realm="a", realm="b"',
        "Digest =a",
        'Digest realm="a";nonce="b"',
        "Basic dXNlcjpwYXNz==",  # token68 is not an auth-param list
    ],
)
def test_parse_auth_header_rejects(value: str) -> None:
    with pytest.raises(DigestError):
        parse_auth_header(value)


VALID = (
    'Digest username="u", realm="r", nonce="n", uri="sip:r", response="0123abcdEF", '
    'qop=auth, nc=0000000a, cnonce="c", algorithm=SHA-256'
)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (VALID, True),
        (VALID.replace("Digest", "DIGEST"), True),
        (VALID.replace("Digest", "Basic"), False),
        (VALID.replace('username="u", ', ""), False),
        (VALID.replace('realm="r", ', ""), False),
        (VALID.replace('nonce="n", ', ""), False),
        (VALID.replace('uri="sip:r", ', ""), False),
        (VALID.replace('response="0123abcdEF", ', ""), False),
        (VALID.replace("0123abcdEF", "0123abcdEG"), False),  # not hex
        (VALID.replace("0123abcdEF", ""), False),
        (VALID.replace("nc=0000000a", "nc=0000000A"), True),
        (VALID.replace("nc=0000000a", "nc=000000a"), False),  # 7 digits
        (VALID.replace("nc=0000000a", "nc=00000000a"), False),  # 9 digits
        (VALID.replace("nc=0000000a", "nc=0000000g"), False),
        (VALID.replace(", nc=0000000a", ""), False),  # qop without nc
        (VALID.replace(', cnonce="c"', ""), False),  # qop without cnonce
        (VALID.replace("qop=auth, ", ""), True),  # nc and cnonce without qop: tolerated
    ],
)
def test_credentials_parse(value: str, ok: bool) -> None:
    if not ok:
        with pytest.raises(DigestError):
            DigestCredentials.parse(value)
        return
    credentials = DigestCredentials.parse(value)
    assert credentials.response == "0123abcdef"
    assert credentials.algorithm == "SHA-256"
    assert credentials.uri == "sip:r"


# -- fuzzing ------------------------------------------------------------------------------------

HEADER_ALPHABET = st.sampled_from(
    list('Digest realm=nonce,"\\ \t\r\nauth qop=nc=00000001 response=abc é\x00=,,""')
)


@given(st.text() | st.text(HEADER_ALPHABET, max_size=80) | st.from_regex(r"\ADigest [ -~]*\Z"))
def test_parsers_let_only_digest_error_out(value: str) -> None:
    for parse in (parse_auth_header, DigestCredentials.parse):
        with contextlib.suppress(DigestError):
            parse(value)


@given(st.text(max_size=200), st.floats(-1e12, 1e12), st.floats(0, 1e6))
def test_nonce_check_never_raises(nonce: str, now: float, lifetime: float) -> None:
    assert NonceSigner(b"s" * 32).check(nonce, now, lifetime) in ("ok", "stale", "invalid")


@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_authorization_round_trip_any_text(username: str, realm: str, password: str) -> None:
    try:
        value = challenge(realm, "n0nce", algorithm="MD5")
        answer = authorization(
            value, method="REGISTER", uri="sip:r", username=username, password=password, cnonce="c"
        )
    except DigestError:
        # Only control characters cannot travel in a quoted-string.
        assert any((ord(ch) < 0x20 and ch != "\t") or ch == "\x7f" for ch in username + realm)
        return
    credentials = DigestCredentials.parse(answer)
    assert (credentials.username, credentials.realm) == (username, realm)
    assert verify(credentials, "REGISTER", ha1(username, realm, password, "MD5"))
