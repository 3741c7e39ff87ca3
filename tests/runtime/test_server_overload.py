"""What ``serve`` wires into overload control: emergency calls are never shed (TERMS V7)."""

from __future__ import annotations

import pytest

from dialtone.runtime.server import emergency_dialled
from dialtone.sip.message import Request, parse_message


def invite(uri: str) -> Request:
    data = (
        f"INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKx\r\n"
        "From: <sip:a@192.0.2.7>;tag=f\r\nTo: <sip:b@192.0.2.1>\r\nCall-ID: c\r\n"
        "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


@pytest.mark.parametrize(
    ("uri", "priority"),
    [
        ("sip:112@192.0.2.1", True),  # everywhere
        ("sip:17@192.0.2.1", True),  # France's police, by the default country
        ("sip:911@192.0.2.1", True),  # a common region's
        ("sip:+33123456789@192.0.2.1", False),
        ("sip:201@192.0.2.1", False),  # an extension
        ("sip:1120000@192.0.2.1", False),  # longer than any emergency number
        ("sip:192.0.2.1", False),  # no user part
        ("tel:112", True),  # a tel URI names the number too
    ],
)
def test_emergency_numbers_are_never_shed(uri: str, priority: bool) -> None:
    assert emergency_dialled("FR")(invite(uri)) is priority
