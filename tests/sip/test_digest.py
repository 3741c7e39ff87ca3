"""Digest authentication (RFC 7616) on its published vectors and at its boundaries."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.sip.digest import (
    DigestCredentials,
    DigestError,
    NonceSigner,
    authorization,
    challenge,
    ha1,
    parse_auth_header,
    verify,
)

RFC7616 = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "uri": "/dir/index.html",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
}


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1(algorithm: str, response: str) -> None:
    value = (
        f'Digest username="Mufasa", realm="{RFC7616["realm"]}", uri="{RFC7616["uri"]}", '
        f'algorithm={algorithm}, nonce="{RFC7616["nonce"]}", nc=00000001, '
        f'cnonce="{RFC7616["cnonce"]}", qop=auth, response="{response}", '
        f'opaque="{RFC7616["opaque"]}"'
    )
    credentials = DigestCredentials.parse(value)
    stored = ha1("Mufasa", RFC7616["realm"], "Circle of Life", algorithm)
    assert verify(credentials, "GET", stored)
    assert not verify(
        credentials, "GET", ha1("Mufasa", RFC7616["realm"], "circle of life", algorithm)
    )
    assert not verify(credentials, "POST", stored)


def test_rfc2617_section_3_5_without_qop_sess() -> None:
    value = (
        'Digest username="Mufasa", realm="testrealm@host.com", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
        'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    stored = ha1("Mufasa", "testrealm@host.com", "Circle Of Life", "MD5")
    assert verify(DigestCredentials.parse(value), "GET", stored)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"])
@pytest.mark.parametrize("qop", ["auth", None])
def test_client_answer_verifies_on_the_server(algorithm: str, qop: str | None) -> None:
    base = algorithm.removesuffix("-sess")
    offered = challenge("dialtone", "n0nce", algorithm=algorithm, qop=qop or "")
    value = authorization(
        offered, method="INVITE", uri="sip:+33123@h", username="alice", password="pw", cnonce="c1"
    )
    credentials = DigestCredentials.parse(value)
    assert credentials.qop == qop
    assert verify(credentials, "INVITE", ha1("alice", "dialtone", "pw", base))
    assert not verify(credentials, "INVITE", ha1("alice", "dialtone", "pw2", base))


@pytest.mark.parametrize(
    ("age", "state"),
    [(299.999, "ok"), (300.0, "ok"), (300.001, "stale"), (-0.5, "ok"), (-1.5, "invalid")],
)
def test_nonce_lifetime_boundaries(age: float, state: str) -> None:
    signer = NonceSigner(b"s" * 32)
    nonce = signer.make(10_000.0, b"saltsalt")
    assert signer.check(nonce, 10_000.0 + age, 300.0) == state


@pytest.mark.parametrize("forge", ["tamper", "other-key", "garbage", "empty"])
def test_forged_nonces_are_invalid(forge: str) -> None:
    signer = NonceSigner(b"s" * 32)
    nonce = signer.make(10_000.0, b"saltsalt")
    forged = {
        "tamper": nonce[:-3] + ("AAA" if not nonce.endswith("AAA") else "BBB"),
        "other-key": NonceSigner(b"t" * 32).make(10_000.0, b"saltsalt"),
        "garbage": "!!not base64!!",
        "empty": "",
    }[forge]
    assert signer.check(forged, 10_000.0, 300.0) == "invalid"


def test_parser_handles_quotes_escapes_and_spacing() -> None:
    scheme, params = parse_auth_header(
        'Digest  realm = "a, \\"b\\"" ,nonce="x",algorithm=MD5 ,  qop="auth,auth-int"'
    )
    assert scheme == "Digest"
    assert params == {"realm": 'a, "b"', "nonce": "x", "algorithm": "MD5", "qop": "auth,auth-int"}


@pytest.mark.parametrize(
    "value",
    [
        'Basic realm="x"',
        'Digest realm="x", nonce="n", uri="u", response="abc"',  # no username
        'Digest username="a", realm="x", nonce="n", uri="u", response="zz"',  # not hex
        'Digest username="a", realm="x", nonce="n", uri="u", response="ab", nc=1, qop=auth',
        'Digest username="a", realm="x", nonce="n", uri="u", response="ab", qop=auth',
        'Digest username="a", realm="unterminated',
        'Digest username="a", username="b"',
    ],
)
def test_unusable_credentials_raise(value: str) -> None:
    with pytest.raises(DigestError):
        DigestCredentials.parse(value)


def test_unsupported_challenges_raise() -> None:
    with pytest.raises(DigestError):
        authorization(
            'Digest realm="r", nonce="n", algorithm=SHA-512-256',
            method="INVITE",
            uri="sip:x",
            username="u",
            password="p",
            cnonce="c",
        )
    with pytest.raises(DigestError):
        authorization(
            'Digest realm="r", nonce="n", qop="auth-int"',
            method="INVITE",
            uri="sip:x",
            username="u",
            password="p",
            cnonce="c",
        )


@given(st.text(max_size=300))
def test_only_digest_errors_escape(text: str) -> None:
    for parse in (parse_auth_header, DigestCredentials.parse):
        with contextlib.suppress(DigestError):
            parse(text)
