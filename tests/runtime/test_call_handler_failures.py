"""The call handler when the store fails: callers get an answer, nothing leaks.

Runs the real handler in-process on a real SQLite file with a real SIP endpoint; the
"phone" is the test feeding datagrams and reading what the endpoint sends.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from dialtone.runtime.calls import CallConfig, CallHandler
from dialtone.runtime.media import RtpPortPool
from dialtone.services import accounts, numbers
from dialtone.sip.endpoint import Output, SipEndpoint
from dialtone.sip.transaction import Send
from dialtone.store.db import open_database, transaction

SDP = (
    b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 9 RTP/AVP 0\r\n"
)


def _request(method: str, *, cseq: int, to_tag: str | None = None, body: bytes = b"") -> bytes:
    to = "<sip:+33123456789@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return (
        f"{method} sip:+33123456789@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK{method}{cseq}\r\n"
        "From: <sip:+14155550100@127.0.0.1>;tag=caller\r\n"
        f"To: {to}\r\nCall-ID: fail-1\r\nCSeq: {cseq} {method}\r\n"
        "Contact: <sip:phone@127.0.0.1:5099>\r\n"
        f"{ctype}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.engine, self.sessions = open_database(f"sqlite:///{tmp / 'db.sqlite'}")
        with transaction(self.sessions) as session:
            account = accounts.create_account(session, "A", now=datetime.now(UTC)).account
            numbers.add_number(session, account.id, "+33123456789", now=datetime.now(UTC))
        self.sent: list[bytes] = []
        self.endpoint = SipEndpoint(
            local_host="127.0.0.1",
            local_port=5060,
            new_tag=lambda: "ourtag",
            new_branch=lambda: "b",
        )
        self.ports = RtpPortPool(41000, 41100)
        self.handler = CallHandler(
            self.endpoint,
            send=self.dispatch,
            sessions=self.sessions,
            config=CallConfig(
                advertised_host="127.0.0.1",
                rtp_host="127.0.0.1",
                recordings_dir=tmp / "rec",
                greetings_dir=tmp / "greet",
                ring_seconds=0,
            ),
            rtp_ports=self.ports,
            db=ThreadPoolExecutor(1),
        )

    def dispatch(self, outputs: list[Output]) -> None:
        for item in outputs:
            if isinstance(item, Send):
                self.sent.append(item.data)
            else:
                self.handler.handle(item)

    def feed(self, data: bytes) -> None:
        self.dispatch(
            self.endpoint.receive(data, ("127.0.0.1", 5099), asyncio.get_running_loop().time())
        )

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0.02)
            if not self.handler.background:
                return

    def statuses(self, method: str) -> list[int]:
        return [
            int(m.split(b" ", 2)[1])
            for m in self.sent
            if m.startswith(b"SIP/2.0") and f" {method}\r\n".encode() in m
        ]


def test_store_down_at_invite_gives_500(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        with h.engine.begin() as conn:
            conn.execute(text("DROP TABLE phone_numbers"))
        h.feed(_request("INVITE", cseq=1, body=SDP))
        await h.settle()
        assert h.statuses("INVITE") == [100, 500]
        assert h.ports.in_use == 0
        assert h.handler.calls == {}

    asyncio.run(scenario())


def test_store_down_at_bye_gives_500_and_frees_the_port(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = Harness(tmp_path)
        h.feed(_request("INVITE", cseq=1, body=SDP))
        await h.settle()
        assert h.statuses("INVITE") == [100, 180, 200]
        assert h.ports.in_use == 1
        h.feed(_request("ACK", cseq=1, to_tag="ourtag"))
        with h.engine.begin() as conn:
            conn.execute(text("DROP TABLE call_records"))
        h.feed(_request("BYE", cseq=2, to_tag="ourtag"))
        await h.settle()
        assert h.statuses("BYE") == [500]
        assert h.ports.in_use == 0
        assert h.handler.calls == {}

    asyncio.run(scenario())
