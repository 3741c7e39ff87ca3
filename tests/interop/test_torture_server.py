"""RFC 4475 torture messages against the running server (the call engine), over UDP.

The in-process test (tests/sip/test_sip_rfc4475.py) grades the endpoint with a minimal
application; this one sends every message to a real ``dialtone serve``: each valid one
must be answered, each invalid one rejected with a 4xx or dropped, as INDEX.tsv grades
them, and after each the server must still answer an OPTIONS with 200.

Responses go where the top Via says (RFC 3261 §18.2.2): to the source address, and the
Via's port (5060, or 5050 for quotbal.dat) unless rport asks for the source port. The
test therefore sends from 127.0.0.3:5060 and also listens on 127.0.0.3:5050 — an address
of its own on loopback, so a platform running on 127.0.0.1:5060 does not collide.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Iterator

import pytest

from tests.sip.test_sip_rfc4475 import ROWS, corpus_bytes, grade

from .conftest import Platform, start_platform, stop_platform

HOST = "127.0.0.3"
CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)

BRANCH = re.compile(
    rb"^(?:via|v)[ \t]*:[ \t]*SIP/2\.0/\S+[ \t]+([^;,\s]+)[^\r\n]*?branch=([^;,\s]+)", re.I | re.M
)
CSEQ_METHOD = re.compile(rb"^cseq[ \t]*:[ \t]*\d+[ \t]+(\S+)", re.IGNORECASE | re.MULTILINE)


def _head(data: bytes) -> bytes:
    return re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]


def _call_id(data: bytes) -> str | None:
    found = CALL_ID.search(_head(data))
    return found.group(1).decode("latin-1") if found else None


def _transaction_key(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    via, method = BRANCH.search(_head(data)), CSEQ_METHOD.search(_head(data))
    if via is None or method is None:
        return None
    return (via.group(2), via.group(1).lower(), method.group(1))


def _same_transaction_call_ids(row: dict[str, str]) -> set[str | None]:
    """Call-IDs whose answers count for ``row``: its own, and those of corpus messages with
    the same branch, sent-by and method. The corpus reuses branches, and a server that
    saw the other message first rightly treats this one as its retransmission
    (RFC 3261 §17.2.3) and repeats that transaction's answer."""
    data = corpus_bytes(row["file"])
    key = _transaction_key(data)
    ids = {_call_id(data)}
    if key is not None:
        ids |= {
            _call_id(corpus_bytes(other["file"]))
            for other in ROWS
            if _transaction_key(corpus_bytes(other["file"])) == key
        }
    return ids


pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not ROWS, reason="RFC 4475 corpus not found (shared/testdata)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = start_platform(tmp_path_factory.mktemp("torture"))
    try:
        yield running
    finally:
        assert stop_platform(running) == 0, running.log()


@pytest.fixture(scope="module")
def sockets() -> Iterator[list[socket.socket]]:
    opened = []
    for port in (5060, 5050):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, port))
        opened.append(sock)
    yield opened
    for sock in opened:
        sock.close()


def _options(n: int) -> bytes:
    return (
        f"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {HOST}:5060;branch=z9hG4bKopt{n}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:probe@{HOST}>;tag=p{n}\r\nTo: <sip:127.0.0.1>\r\n"
        f"Call-ID: probe-{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _collect(socks: list[socket.socket], until: float) -> list[tuple[int, str | None]]:
    """(status, Call-ID) of the responses that arrive before ``until``. Read from the raw
    bytes: an answer to a torture message may echo bytes a strict parser would refuse."""
    out: list[tuple[int, str | None]] = []
    while (left := until - time.monotonic()) > 0:
        ready, _, _ = select.select(socks, [], [], left)
        for sock in ready:
            data = sock.recv(65535)
            if not data.startswith(b"SIP/2.0 "):
                continue
            out.append((int(data[8:11]), _call_id(data)))
    return out


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['section']} {r['title']}" for r in ROWS])
def test_server_grades_and_still_answers_options(
    server: Platform, sockets: list[socket.socket], row: dict[str, str]
) -> None:
    data = corpus_bytes(row["file"])
    index = ROWS.index(row)
    probe = f"probe-{index}"
    target = ("127.0.0.1", server.sip_port)
    sockets[0].sendto(data, target)
    responses = _collect(sockets, time.monotonic() + 0.25)
    sockets[0].sendto(_options(index), target)
    deadline = time.monotonic() + 3
    answered = False
    while time.monotonic() < deadline and not answered:
        batch = _collect(sockets, time.monotonic() + 0.1)
        responses += batch
        answered = (200, probe) in batch
    assert answered, f"no 200 to OPTIONS after {row['file']}:\n{server.log()[-3000:]}"
    # Only this message's answers count: a 4xx to an earlier INVITE repeats until ACKed.
    # A message without a readable Call-ID is answered (if at all) without one.
    mine = _same_transaction_call_ids(row)
    codes = [status for status, cid in responses if cid in mine]
    verdict = grade(row, codes)
    assert verdict == "pass", (
        f"{row['file']} ({row['title']}): the server sent {codes}; "
        f"RFC 4475 expects {row['rfc_expectation']!r}"
    )
