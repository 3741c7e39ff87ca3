"""RFC 4475 torture messages, read from shared/testdata (never copied into the repo).

Each message goes through the endpoint as a datagram; a minimal application answers what
reaches it. The outcome is graded exactly as INDEX.tsv's header says: response codes are
matched against the fail tokens, then pass, then soft; only final codes are graded when
any arrived; ``none`` means no response at all.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dialtone.sip.endpoint import RequestReceived
from dialtone.sip.errors import SipParseError
from dialtone.sip.message import MalformedRequest, make_response, parse_message
from dialtone.sip.transaction import Send

from .sipfix import endpoint

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "sip" / "rfc4475"


def _rows() -> list[dict[str, str]]:
    if not (CORPUS / "INDEX.tsv").exists():
        return []
    with (CORPUS / "INDEX.tsv").open() as f:
        lines = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


ROWS = _rows()
pytestmark = pytest.mark.skipif(not ROWS, reason=f"RFC 4475 corpus not found at {CORPUS}")


def _matches(token: str, codes: list[int]) -> bool:
    token = token.strip()
    if token == "none":
        return not codes
    if not codes:
        return False
    if token == "any":
        return True
    if token.endswith("xx"):
        return any(c // 100 == int(token[0]) for c in codes)
    return int(token) in codes


def grade(row: dict[str, str], codes: list[int]) -> str:
    finals = [c for c in codes if c >= 200]
    graded = finals or codes
    for verdict in ("fail", "pass", "soft"):
        tokens = [t for t in row[verdict].split(",") if t.strip()]
        if any(_matches(t, graded) for t in tokens):
            return verdict
    return "fail"


def exchange(data: bytes) -> list[int]:
    """Status codes the endpoint (plus a minimal UAS) sends back for one datagram."""
    ep = endpoint()
    outputs = ep.receive(data, ("192.0.2.99", 5060), 0.0)
    for event in [o for o in outputs if isinstance(o, RequestReceived)]:
        status = 200 if event.request.method == "OPTIONS" else 488
        outputs.extend(
            ep.respond(event.transaction, make_response(event.request, status, to_tag="x"), 0.0)
        )
    codes = []
    for item in outputs:
        if isinstance(item, Send):
            codes.append(int(item.data.split(b" ", 2)[1]))
    return codes


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_torture_message(row: dict[str, str]) -> None:
    data = (CORPUS / row["file"]).read_bytes()
    codes = exchange(data)
    verdict = grade(row, codes)
    # Every message gets the RFC's preferred outcome, not merely a tolerated one.
    assert verdict == "pass", f"{row['file']}: sent {codes}, RFC expects {row['rfc_expectation']}"


@pytest.mark.parametrize("row", [r for r in ROWS if r["class"] == "valid"], ids=lambda r: r["file"])
def test_valid_messages_parse(row: dict[str, str]) -> None:
    parse_message((CORPUS / row["file"]).read_bytes())


# baddate.dat is left out: a bad Date may be ignored by an element that does not use Date
# (RFC 4475 §3.1.2.12), and the platform does not.
@pytest.mark.parametrize(
    "row",
    [
        r
        for r in ROWS
        if r["class"] == "invalid" and r["kind"] == "request" and r["file"] != "baddate.dat"
    ],
    ids=lambda r: r["file"],
)
def test_invalid_requests_are_refused_by_the_parser(row: dict[str, str]) -> None:
    data = (CORPUS / row["file"]).read_bytes()
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    if isinstance(info.value, MalformedRequest):
        assert info.value.status in (400, 505)


def test_server_answers_options_after_each_message() -> None:
    ep = endpoint()
    for n, row in enumerate(ROWS):
        ep.receive((CORPUS / row["file"]).read_bytes(), ("192.0.2.99", 5060), float(n))
        ping = (
            "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 192.0.2.98;branch=z9hG4bKp{n}\r\n"
            f"From: <sip:p@x>;tag=p\r\nTo: <sip:ping@x>\r\nCall-ID: ping-{n}\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        events = [
            o
            for o in ep.receive(ping, ("192.0.2.98", 5060), float(n))
            if isinstance(o, RequestReceived)
        ]
        assert len(events) == 1, row["file"]
