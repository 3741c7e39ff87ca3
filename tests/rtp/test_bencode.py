"""Bencode: known encodings, strict decoding (every malformed input a BencodeError naming
where), and round trips of any value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.rtp.bencode import MAX_DEPTH, BencodeError, Value, decode, encode


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (0, b"i0e"),
        (-42, b"i-42e"),
        (2**70, b"i1180591620717411303424e"),
        (b"", b"0:"),
        (b"spam", b"4:spam"),
        ("é", b"2:\xc3\xa9"),
        ([], b"le"),
        ([1, b"a", [b"b"]], b"li1e1:al1:bee"),
        ({}, b"de"),
        # Keys sorted by their bytes whatever the order given (BEP 3).
        (
            {"sdp": "x", "command": "offer", "call-id": "c"},
            b"d7:call-id1:c7:command5:offer3:sdp1:xe",
        ),
        ({b"b": 1, b"a": {b"z": []}}, b"d1:ad1:zlee1:bi1ee"),
    ],
)
def test_known_encodings(value: object, wire: bytes) -> None:
    assert encode(value) == wire  # type: ignore[arg-type]


def test_ng_reply_with_unsorted_keys_is_read() -> None:
    # rtpengine's own reply (research note, issue 19): "sdp" before "result".
    assert decode(b"d3:sdp3:v=06:result2:oke") == {b"sdp": b"v=0", b"result": b"ok"}


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (b"", "data ends"),
        (b"i12", "not ended"),
        (b"ie", "bad integer"),
        (b"i-e", "bad integer"),
        (b"i1x2e", "bad integer"),
        (b"i03e", "non-canonical"),
        (b"i-0e", "non-canonical"),
        (b"i--1e", "bad integer"),
        (b"5:abc", "wants 5 bytes"),
        (b"05:abcde", "non-canonical"),
        (b"-1:a", "unexpected byte"),
        (b"3abc", "not ended by"),
        (b"l", "list not ended"),
        (b"li1e", "list not ended"),
        (b"d", "dict not ended"),
        (b"d1:a", "data ends"),
        (b"di1ei2ee", "key must be a string"),
        (b"d1:ai1e1:ai2ee", "twice"),
        (b"i1ei2e", "after the value"),
        (b"4:spamX", "after the value"),
        (b"x", "unexpected byte"),
        (b"l" * (MAX_DEPTH + 2) + b"e" * (MAX_DEPTH + 2), "deeper"),
    ],
)
def test_malformed_input_is_refused_with_a_reason(wire: bytes, why: str) -> None:
    with pytest.raises(BencodeError, match=why):
        decode(wire)


@pytest.mark.parametrize("value", [1.5, None, True, {1: 2}, (1, 2)])
def test_values_bencode_has_no_form_for_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        encode(value)  # type: ignore[arg-type]


def test_the_same_key_as_str_and_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        encode({"a": 1, b"a": 2})  # type: ignore[dict-item]


values: st.SearchStrategy[Value] = st.recursive(
    st.integers() | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.binary(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(values)
def test_round_trip(value: Value) -> None:
    assert decode(encode(value)) == value


@given(st.binary(max_size=60))
def test_any_bytes_decode_or_raise_bencode_error(data: bytes) -> None:
    try:
        value = decode(data)
    except BencodeError:
        return
    # What strict decoding accepts is canonical except for the order of dict keys.
    assert decode(encode(value)) == value
