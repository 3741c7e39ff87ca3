"""Shared builders for the SIP core tests."""

from __future__ import annotations

import itertools

from dialtone.sip.endpoint import SipEndpoint

_counter = itertools.count(1)


def endpoint(**kw: object) -> SipEndpoint:
    """A UDP endpoint on 127.0.0.1:5060 with predictable tags and branches."""
    tags = (f"tag{n}" for n in itertools.count(1))
    branches = (f"br{n}" for n in itertools.count(1))
    return SipEndpoint(
        local_host="127.0.0.1",
        local_port=5060,
        new_tag=lambda: next(tags),
        new_branch=lambda: next(branches),
        **kw,  # type: ignore[arg-type]
    )


def request(
    method: str = "OPTIONS",
    *,
    branch: str = "z9hG4bKabc",
    call_id: str = "call-1",
    cseq: int = 1,
    cseq_method: str | None = None,
    to_tag: str | None = None,
    uri: str = "sip:+33123456789@127.0.0.1",
    via_port: int = 5070,
    rport: bool = False,
    extra: str = "",
    body: bytes = b"",
) -> bytes:
    """A well-formed request from 127.0.0.1:5070."""
    to = "<sip:+33123456789@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    via = f"SIP/2.0/UDP 127.0.0.1:{via_port};branch={branch}" + (";rport" if rport else "")
    head = (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@127.0.0.1>;tag=from1\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {cseq_method or method}\r\n"
        "Contact: <sip:alice@127.0.0.1:5070>\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


SDP = (
    b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 6000 RTP/AVP 0\r\n"
)
