"""Stream framing (RFC 3261 §18.3): messages split and joined at any byte boundary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.sip.framing import MAX_MESSAGE, FramingError, KeepAlivePing, StreamFramer


def message(n: int, body: bytes = b"", *, header: str = "Content-Length") -> bytes:
    return (
        f"OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK{n}\r\n"
        f"Call-ID: c{n}\r\n{header}: {len(body)}\r\n\r\n"
    ).encode() + body


def test_two_messages_in_one_read() -> None:
    a, b = message(1, b"v=0\r\n"), message(2)
    assert StreamFramer().feed(a + b) == [a, b]


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
def test_any_split_gives_the_same_messages(cuts: list[int]) -> None:
    stream = message(1, b"abc") + b"\r\n" + message(2, b"x" * 50, header="l") + message(3)
    framer = StreamFramer()
    out: list[object] = []
    pos = 0
    for cut in cuts:
        out.extend(framer.feed(stream[pos : pos + cut]))
        pos += cut
    out.extend(framer.feed(stream[pos:]))
    assert out == [message(1, b"abc"), message(2, b"x" * 50, header="l"), message(3)]
    assert framer.pending == 0


def test_keepalive_ping_between_messages() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n") == [KeepAlivePing()]
    assert framer.feed(b"\r\n") == []  # a lone CRLF (pong) is padding
    assert framer.feed(message(1)) == [message(1)]


def test_body_waits_for_all_its_octets() -> None:
    framer = StreamFramer()
    whole = message(1, b"0123456789")
    assert framer.feed(whole[:-1]) == []
    assert framer.feed(whole[-1:]) == [whole]


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n", "no Content-Length"),
        (b"OPTIONS sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n", "bad"),
        (b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 1x\r\n\r\n", "bad"),
        (b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\n", "conflicting"),
    ],
)
def test_unframeable_streams_raise(head: bytes, why: str) -> None:
    with pytest.raises(FramingError, match=why):
        StreamFramer().feed(head)


@pytest.mark.parametrize(
    ("body_len", "ok"),
    [(MAX_MESSAGE - 200, True), (MAX_MESSAGE - len(message(1)) + 1, False)],
    ids=["under", "over"],
)
def test_size_limit(body_len: int, ok: bool) -> None:
    data = message(1, b"x" * body_len)
    framer = StreamFramer()
    if ok:
        assert framer.feed(data) == [data]
    else:
        with pytest.raises(FramingError, match="over"):
            framer.feed(data)


def test_endless_header_block_is_refused() -> None:
    with pytest.raises(FramingError, match="header block"):
        StreamFramer().feed(b"X" * (MAX_MESSAGE + 1))


def test_exactly_at_size_limit_is_accepted() -> None:
    base = len(message(1, b"x" * 1000)) - 1000
    # Content-Length digits may change length; pick a body that makes the total exact.
    body_len = MAX_MESSAGE - base - 1
    data = message(1, b"x" * body_len)
    assert len(data) == MAX_MESSAGE
    assert StreamFramer().feed(data) == [data]
