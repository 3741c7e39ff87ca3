"""RFC 4475 torture messages, read from ../shared/testdata (never copied into the repo).

Every message goes through a :class:`SipEndpoint` as one UDP datagram; a minimal
application answers what reaches it. The outcome is graded exactly as INDEX.tsv's header
describes: the response codes are matched against the ``fail`` tokens, then ``pass``, then
``soft``; anything unmatched is a fail. Tokens: ``NNN`` exact code, ``Nxx`` code class,
``any`` any response, ``none`` no response at all; only final (>= 200) codes are graded when
any arrived.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from dialtone.sip.endpoint import EndpointPolicy, RequestReceived, SipEndpoint
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import parse_via, split_list
from dialtone.sip.message import (
    MalformedRequest,
    Request,
    make_error_response,
    make_response,
    parse_message,
)
from dialtone.sip.transaction import Send

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "sip" / "rfc4475"
INDEX = CORPUS / "INDEX.tsv"
SOURCE = ("192.0.2.99", 5060)
COLUMNS = ["file", "section", "title", "kind", "class", "rfc_expectation", "pass", "soft", "fail"]


def _rows() -> list[dict[str, str]]:
    if not INDEX.is_file():
        return []
    with INDEX.open(encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#") and line.strip()]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    assert reader.fieldnames is not None
    assert reader.fieldnames[: len(COLUMNS)] == COLUMNS, reader.fieldnames
    return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


ROWS = _rows()
BY_FILE = {row["file"]: row for row in ROWS}
pytestmark = pytest.mark.skipif(
    not ROWS, reason=f"RFC 4475 corpus (INDEX.tsv) not found at {CORPUS}; it lives outside the repo"
)


def _id(row: dict[str, str]) -> str:
    # RFC section and title rather than the file name: `pytest -k "not sdp"` (which leaves
    # out the SDP tests) would otherwise leave out sdp01.dat too.
    return f"{row['section']} {row['title']}"


def _ids(rows: list[dict[str, str]]) -> list[str]:
    return [_id(row) for row in rows]


# -- grading -------------------------------------------------------------------------------


def tokens(row: dict[str, str], column: str) -> list[str]:
    return [t.strip() for t in row[column].split(",") if t.strip()]


def token_matches(token: str, codes: list[int]) -> bool:
    if token == "none":
        return not codes
    if not codes:
        return False
    if token == "any":
        return True
    if len(token) == 3 and token.endswith("xx") and token[0].isdigit():
        return any(code // 100 == int(token[0]) for code in codes)
    if len(token) == 3 and token.isdigit():
        return int(token) in codes
    raise AssertionError(f"unknown grading token {token!r}")


def grade(row: dict[str, str], codes: list[int]) -> str:
    finals = [c for c in codes if c >= 200]
    graded = finals or codes
    for verdict in ("fail", "pass", "soft"):
        if any(token_matches(t, graded) for t in tokens(row, verdict)):
            return verdict
    return "fail"


GRADE_CASES = [
    # (pass, soft, fail, codes, verdict): the grading itself, so a broken grader cannot
    # make the corpus test pass vacuously.
    ("any", "none", "400", [100, 200], "pass"),
    ("any", "none", "400", [100, 400], "fail"),
    ("any", "none", "400", [], "soft"),
    ("any", "none", "400", [100], "pass"),
    ("400,none", "", "", [400], "pass"),
    ("400,none", "", "", [], "pass"),
    ("400,none", "", "", [500], "fail"),
    ("400,none", "4xx,5xx,6xx", "", [415], "soft"),
    ("416", "any,none", "400", [416], "pass"),
    ("416", "any,none", "400", [405], "soft"),
    ("4xx,5xx,6xx", "any,none", "2xx", [100, 200], "fail"),
    ("4xx,5xx,6xx", "any,none", "2xx", [100, 405], "pass"),
    ("none", "", "", [481], "fail"),
    ("none", "", "", [], "pass"),
    ("406,400", "any,none", "2xx", [100, 488], "soft"),
]


@pytest.mark.parametrize(("pass_", "soft", "fail", "codes", "verdict"), GRADE_CASES)
def test_grader(pass_: str, soft: str, fail: str, codes: list[int], verdict: str) -> None:
    row = {"pass": pass_, "soft": soft, "fail": fail}
    assert grade(row, codes) == verdict


# -- driving the endpoint --------------------------------------------------------------------


def new_endpoint() -> SipEndpoint:
    tags = iter(range(1, 1_000_000))
    branches = iter(range(1, 1_000_000))
    return SipEndpoint(
        local_host="192.0.2.1",
        local_port=5060,
        new_tag=lambda: f"t{next(tags)}",
        new_branch=lambda: f"b{next(branches)}",
        policy=EndpointPolicy(methods=frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"})),
    )


def application(ep: SipEndpoint, event: RequestReceived) -> list[object]:
    """A minimal UAS application: OPTIONS → 200; INVITE with SDP → 200, else 488."""
    request = event.request
    if request.method == "OPTIONS":
        status = 200
    elif request.method == "INVITE":
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        status = 200 if request.body and content_type.lower() == "application/sdp" else 488
    else:
        return []  # REGISTER and others: whatever the endpoint did stands
    response = make_response(request, status, to_tag=ep.new_tag())
    return list(ep.respond(event.transaction, response, 0.0))


def exchange(data: bytes) -> tuple[list[int], list[Send]]:
    """Status codes sent back for one datagram (endpoint plus application)."""
    ep = new_endpoint()
    outputs: list[object] = list(ep.receive(data, SOURCE, now=0.0))
    for event in [o for o in outputs if isinstance(o, RequestReceived)]:
        outputs.extend(application(ep, event))
    sends = [o for o in outputs if isinstance(o, Send)]
    codes = []
    for send in sends:
        assert send.data.startswith(b"SIP/2.0 "), send.data[:60]
        codes.append(int(send.data.split(b" ", 2)[1]))
    return codes, sends


def corpus_bytes(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


# Files whose best achievable grade is only "soft", with the reason. Empty: every message
# of the corpus gets the RFC's preferred outcome.
SOFT_ONLY: dict[str, str] = {}


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_torture_message_grades_pass(row: dict[str, str]) -> None:
    codes, _ = exchange(corpus_bytes(row["file"]))
    verdict = grade(row, codes)
    expected = "soft" if row["file"] in SOFT_ONLY else "pass"
    assert verdict == expected, (
        f"{row['file']} ({row['section']} {row['title']}): sent {codes}, "
        f"RFC expects {row['rfc_expectation']!r}"
    )


EXPECTED_CODES = {
    # The exact outcome, pinned, where INDEX.tsv allows several.
    "wsinv.dat": [100, 200],
    "intmeth.dat": [501],
    "esc02.dat": [501],
    "escnull.dat": [405],
    "dblreq.dat": [405],
    "unreason.dat": [],
    "noreason.dat": [],
    "badinv01.dat": [],  # its Via is unreadable: nowhere to send a 400
    "clerr.dat": [400],
    "ncl.dat": [400],
    "badvers.dat": [505],
    "mismatch02.dat": [400],
    "bigcode.dat": [],
    "scalarlg.dat": [],
    "bcast.dat": [],
    "insuf.dat": [400],
    "unkscm.dat": [416],
    "novelsc.dat": [416],
    "bext01.dat": [420],
    "invut.dat": [415],
    "regaut01.dat": [405],
    "multi01.dat": [400],
    "mcl01.dat": [400],
    "zeromf.dat": [200],  # an endpoint ignores Max-Forwards: 0 (only proxies answer 483)
    "sdp01.dat": [406],
    "inv2543.dat": [100, 200],
}


@pytest.mark.parametrize(
    ("name", "codes"),
    sorted(EXPECTED_CODES.items()),
    ids=[_id(BY_FILE[n]) if n in BY_FILE else n for n in sorted(EXPECTED_CODES)],
)
def test_exact_outcomes(name: str, codes: list[int]) -> None:
    if name not in BY_FILE:
        pytest.fail(f"{name} missing from INDEX.tsv")
    assert exchange(corpus_bytes(name))[0] == codes


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_responses_go_where_the_top_via_says(row: dict[str, str]) -> None:
    """RFC 3261 §18.2.2 / RFC 3581: the source address, and the rport (source port) when
    asked for, else the port of the sent-by, else 5060."""
    _, sends = exchange(corpus_bytes(row["file"]))
    for send in sends:
        head = send.data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "surrogateescape")
        via_line = next(ln for ln in head.split("\r\n") if ln.startswith("Via:"))
        via = parse_via(split_list(via_line[4:])[0])
        if via.param("rport"):
            expected = (SOURCE[0], int(via.param("rport") or 0))
        else:
            expected = (SOURCE[0], via.port or 5060)
        assert send.destination == expected


def test_quotbal_answer_goes_to_the_via_port() -> None:
    _, sends = exchange(corpus_bytes("quotbal.dat"))
    assert [s.destination for s in sends] == [("192.0.2.99", 5050)]


def test_mpart01_answer_uses_rport() -> None:
    _, sends = exchange(corpus_bytes("mpart01.dat"))
    assert [s.destination for s in sends] == [SOURCE]
    assert b";rport=5060" in sends[0].data
    assert b"received=192.0.2.99" in sends[0].data


def test_dblreq_trailing_invite_is_ignored() -> None:
    # RFC 4475 §3.1.1.8: the INVITE after the REGISTER's body is junk, never a request.
    _, sends = exchange(corpus_bytes("dblreq.dat"))
    assert len(sends) == 1
    assert b"dblreq.0ha0isnda977644900765" not in sends[0].data
    assert b"CSeq: 8 REGISTER" in sends[0].data


def test_bext01_names_the_unsupported_extensions() -> None:
    _, sends = exchange(corpus_bytes("bext01.dat"))
    response = parse_message(sends[0].data)
    assert response.headers.get("Unsupported") is not None
    required = response.headers.values("Unsupported")
    assert sorted(required) == sorted(
        parse_message(corpus_bytes("bext01.dat")).headers.values("Require")
    )


# -- parser-level expectations -----------------------------------------------------------------


VALID = [r for r in ROWS if r["class"] == "valid"]


@pytest.mark.parametrize("row", VALID, ids=_ids(VALID))
def test_valid_messages_parse(row: dict[str, str]) -> None:
    message = parse_message(corpus_bytes(row["file"]))
    assert (row["kind"] == "request") == isinstance(message, Request)


# Every message that must not be answered 400 has to get through the parser, whatever its
# class (valid, application, backcompat).
MUST_PARSE = [r for r in ROWS if "400" in tokens(r, "fail")]


@pytest.mark.parametrize("row", MUST_PARSE, ids=_ids(MUST_PARSE))
def test_messages_that_must_not_get_400_parse(row: dict[str, str]) -> None:
    parse_message(corpus_bytes(row["file"]))


# baddate.dat is invalid-class but its pass tokens are "any,none": a Date with a bad time
# zone may be ignored by an element that does not use Date (RFC 4475 §3.1.2.12), and this
# one does not, so the parser is not expected to refuse it.
INVALID_REQUESTS = [
    r
    for r in ROWS
    if r["class"] == "invalid" and r["kind"] == "request" and "any" not in tokens(r, "pass")
]


@pytest.mark.parametrize("row", INVALID_REQUESTS, ids=_ids(INVALID_REQUESTS))
def test_invalid_requests_are_refused_by_the_parser(row: dict[str, str]) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(corpus_bytes(row["file"]))
    code: list[int] = []
    if isinstance(info.value, MalformedRequest):
        assert info.value.status in (400, 505)
        response = make_error_response(info.value)
        if response is not None:
            code = [response.status]
    assert any(token_matches(t, code) for t in tokens(row, "pass")), (row["file"], code)


INVALID_RESPONSES = [r for r in ROWS if r["class"] == "invalid" and r["kind"] == "response"]


@pytest.mark.parametrize("row", INVALID_RESPONSES, ids=_ids(INVALID_RESPONSES))
def test_invalid_responses_are_plain_parse_errors(row: dict[str, str]) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(corpus_bytes(row["file"]))
    assert not isinstance(info.value, MalformedRequest)


def test_baddate_is_accepted() -> None:
    assert isinstance(parse_message(corpus_bytes("baddate.dat")), Request)


# -- the corpus itself ---------------------------------------------------------------------


def test_index_lists_every_file_once_with_its_hash() -> None:
    listed = [row["file"] for row in ROWS]
    assert len(listed) == len(set(listed)) == 50
    assert sorted(listed) == sorted(p.name for p in CORPUS.glob("*.dat"))
    for row in ROWS:
        assert hashlib.sha256(corpus_bytes(row["file"])).hexdigest() == row["sha256"], row["file"]
        assert row["kind"] in ("request", "response")
        for column in ("pass", "soft", "fail"):
            for token in tokens(row, column):
                token_matches(token, [200])  # raises on an unknown token


def test_one_endpoint_survives_the_whole_corpus() -> None:
    """All 50 datagrams through one endpoint, each followed by a probe OPTIONS; then the
    timers run out and every transaction is forgotten."""
    ep = new_endpoint()
    for n, row in enumerate(ROWS):
        now = float(n)
        for event in ep.receive(corpus_bytes(row["file"]), SOURCE, now):
            if isinstance(event, RequestReceived):
                ep.respond(event.transaction, make_response(event.request, 486, to_tag="x"), now)
        probe = (
            "OPTIONS sip:probe@192.0.2.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 192.0.2.98;branch=z9hG4bKprobe{n}\r\n"
            "From: <sip:p@192.0.2.98>;tag=p\r\nTo: <sip:probe@192.0.2.1>\r\n"
            f"Call-ID: probe-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        events = [
            o
            for o in ep.receive(probe, ("192.0.2.98", 5060), now)
            if isinstance(o, RequestReceived)
        ]
        assert len(events) == 1, row["file"]
        ep.respond(events[0].transaction, make_response(events[0].request, 200, to_tag="p"), now)
        ep.handle_timers(now)
    now = float(len(ROWS))
    while (deadline := ep.next_deadline()) is not None:
        assert deadline < now + 100
        now = max(now, deadline)
        ep.handle_timers(now)
    assert ep.transaction_count == 0
