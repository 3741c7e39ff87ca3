"""Fuzzing: the parser lets only its own error out; the endpoint never raises."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialtone.sip.errors import SipParseError
from dialtone.sip.message import parse_message

from .sipfix import SDP, endpoint, request

SEEDS = [
    request(),
    request("INVITE", body=SDP, extra="Content-Type: application/sdp\r\n"),
    request("BYE", to_tag="t"),
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(
                st.sampled_from(
                    [b";", b",", b"<", b">", b'"', b"\r\n", b" ", b":", b"%", b"\x00", b"\r\n "]
                )
            )
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 10))]
    return bytes(data)


FAST = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=600))
def test_parser_on_random_bytes(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        parse_message(data)


@FAST
@given(mutated())
def test_parser_on_mutated_messages(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        parse_message(data)


@FAST
@given(st.lists(mutated() | st.binary(max_size=200), min_size=1, max_size=5))
def test_endpoint_never_raises(datagrams: list[bytes]) -> None:
    ep = endpoint()
    for n, data in enumerate(datagrams):
        ep.receive(data, ("127.0.0.1", 5070), float(n))
        ep.handle_timers(float(n))
