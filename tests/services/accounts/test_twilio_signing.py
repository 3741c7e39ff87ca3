"""X-Twilio-Signature as Twilio publishes it, checked by Twilio's own SDK validator:
POST and GET, unicode, repeated parameters, query strings, ports, credentials."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from dialtone.services.accounts import twilio_signing as ts

TOKEN = "12345"

# Twilio's documented example: this URL, these parameters, token 12345.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_the_documented_example() -> None:
    signed = ts.signature(TOKEN, DOC_URL, ts.as_params(DOC_PARAMS))
    assert signed == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert RequestValidator(TOKEN).validate(DOC_URL, DOC_PARAMS, signed)


class MultiDict:
    """A form as a web framework gives it: several values per name (``getall``)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(dict.fromkeys(name for name, _ in self.pairs))

    def getall(self, name: str) -> list[str]:
        return [v for n, v in self.pairs if n == name]


def _validates(method: str, url: str, params: list[tuple[str, str]], token: str = TOKEN) -> bool:
    target, body, signed = ts.sign_request(token, method, url, params)
    form = MultiDict(ts.decode(body)) if body is not None else {}
    return RequestValidator(token).validate(ts.without_credentials(target), form, signed)


CASES = [
    ("POST", "https://example.com/hook", [("Body", "hello"), ("From", "+15551234567")]),
    ("GET", "https://example.com/hook", [("Body", "hello"), ("From", "+15551234567")]),
    ("POST", "https://example.com/hook?a=1&b=two", [("Body", "x")]),
    ("GET", "https://example.com/hook?a=1&b=two", [("Body", "x y+z&w=1")]),
    ("POST", "https://example.com:8443/hook", [("Body", "port kept")]),
    ("GET", "http://example.com:8080/twiml?x=1", [("Digits", "1#")]),
    ("POST", "http://127.0.0.1:5000/", [("Body", "héllo ✓ 你好 👋")]),
    ("GET", "https://example.com/v", [("Body", "héllo ✓ 你好 👋")]),
    ("POST", "https://example.com/r", [("Tag", "b"), ("Tag", "a"), ("Tag", "c")]),
    ("GET", "https://example.com/r", [("Tag", "b"), ("Tag", "a")]),
    ("POST", "https://example.com/e", [("Empty", ""), ("Z", "1")]),
    ("POST", "https://example.com/none", []),
    ("GET", "https://example.com/none", []),
    ("POST", "https://user:pa%40ss@example.com/basic", [("Body", "credentials left out")]),
]


@pytest.mark.parametrize(("method", "url", "params"), CASES)
def test_the_sdk_validates_what_we_sign(
    method: str, url: str, params: list[tuple[str, str]]
) -> None:
    assert _validates(method, url, ts.as_params(params))


@pytest.mark.parametrize(("method", "url", "params"), CASES[:4])
def test_the_sdk_refuses_a_changed_request(
    method: str, url: str, params: list[tuple[str, str]]
) -> None:
    target, body, signed = ts.sign_request(TOKEN, method, url, params)
    form = MultiDict(ts.decode(body)) if body is not None else {}
    validator = RequestValidator(TOKEN)
    assert not RequestValidator("other").validate(target, form, signed)
    assert not validator.validate(target + ("&" if "?" in target else "?") + "x=1", form, signed)
    if body is not None:
        tampered = MultiDict([*ts.decode(body), ("Extra", "1")])
        assert not validator.validate(target, tampered, signed)


def test_repeated_identical_pairs_are_sent_once() -> None:
    assert ts.as_params([("A", "1"), ("A", "1"), ("A", "2"), ("B", None)]) == [
        ("A", "1"),
        ("A", "2"),
    ]
    assert ts.as_params({"On": True, "Off": False, "N": 3}) == [
        ("On", "true"),
        ("Off", "false"),
        ("N", "3"),
    ]


def test_a_get_carries_its_parameters_in_the_query_string() -> None:
    target, body = ts.request_of("GET", "https://e.com/p?x=1", [("A", "b c")])
    assert (target, body) == ("https://e.com/p?x=1&A=b+c", None)
    assert ts.request_of("POST", "https://e.com/p", [("A", "b c")]) == ("https://e.com/p", "A=b+c")


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@given(
    method=st.sampled_from(["GET", "POST"]),
    path=st.text("abcxyz/-_.~", max_size=10),
    query=st.lists(st.tuples(st.text("abc", min_size=1, max_size=3), st.text("0123", max_size=3))),
    params=st.lists(st.tuples(st.text("ABCDabcd_", min_size=1, max_size=5), _text), max_size=6),
    token=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
)
def test_any_request_validates(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    params: list[tuple[str, str]],
    token: str,
) -> None:
    url = "https://example.com/" + path + ("?" + ts.encode(query) if query else "")
    assert _validates(method, url, ts.as_params(params), token)
