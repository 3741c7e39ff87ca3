"""The call engine when the store fails: callers get an answer, nothing leaks.

Runs the real SIP runtime in-process (engine, answering machine, UDP channel on
loopback) on a real SQLite file; the "phone" is the test's own UDP socket.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from dialtone.runtime.server import SipRuntime, start_sip
from dialtone.services.accounts import accounts
from dialtone.services.numbering import numbers
from dialtone.settings import Settings
from dialtone.store.db import transaction
from tests.database import migrated_database

SDP = (
    b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 9 RTP/AVP 0\r\n"
)


class Phone:
    """A UDP socket that sends requests to the runtime and collects what comes back."""

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []

    def send(self, method: str, *, cseq: int, to_tag: str | None = None, body: bytes = b"") -> None:
        to = "<sip:+33123456789@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        data = (
            f"{method} sip:+33123456789@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{method}{cseq}\r\n"
            "From: <sip:+14155550100@127.0.0.1>;tag=caller\r\n"
            f"To: {to}\r\nCall-ID: fail-1\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:phone@127.0.0.1:{self.port}>\r\nMax-Forwards: 70\r\n"
            f"{ctype}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.sock.sendto(data, self.server)

    async def settle(
        self, runtime: SipRuntime, method: str, final: int, seconds: float = 10.0
    ) -> None:
        """Collect replies until ``method`` got its ``final`` status and the runtime has
        no work left (or ``seconds`` pass: the assertions then say what came). Waiting
        for the status, not for a quiet moment: on a loaded machine the runtime is idle
        between the provisional and the final answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await asyncio.sleep(0.02)
            while True:
                try:
                    self.received.append(self.sock.recv(65535))
                except BlockingIOError:
                    break
            idle = not runtime.handler.background and not runtime.engine.background
            if idle and final in self.statuses(method):
                return

    def statuses(self, method: str) -> list[int]:
        return [
            int(m.split(b" ", 2)[1])
            for m in self.received
            if m.startswith(b"SIP/2.0") and f" {method}\r\n".encode() in m
        ]

    def to_tag(self) -> str:
        for m in self.received:
            if m.startswith(b"SIP/2.0 200"):
                for line in m.split(b"\r\n"):
                    if line.lower().startswith(b"to:") and b";tag=" in line:
                        return line.split(b";tag=", 1)[1].split(b";")[0].decode()
        raise AssertionError("no 200 with a To tag")


@asynccontextmanager
async def running(tmp: Path) -> AsyncIterator[tuple[SipRuntime, Engine, Phone]]:
    engine, sessions = migrated_database(tmp / "db.sqlite")
    with transaction(sessions) as session:
        account = accounts.create_account(session, "A", now=datetime.now(UTC)).account
        numbers.add_number(session, account.id, "+33123456789", now=datetime.now(UTC))
    settings = Settings(
        data_dir=tmp / "var",
        sip_host="127.0.0.1",
        sip_port=0,
        sip_tcp_port=None,
        sip_tls_port=None,
        ring_seconds=0,
        rtp_port_min=41000,
        rtp_port_max=41100,
    )
    runtime = await start_sip(settings, sessions)
    phone = Phone(("127.0.0.1", runtime.channels["udp"].endpoint.local_port))
    try:
        yield runtime, engine, phone
    finally:
        await runtime.end_calls()
        runtime.close()
        phone.sock.close()


def test_store_down_at_invite_gives_500(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as (runtime, db, phone):
            with db.begin() as conn:
                conn.execute(text("DROP TABLE phone_numbers"))
            phone.send("INVITE", cseq=1, body=SDP)
            await phone.settle(runtime, "INVITE", 500)
            assert phone.statuses("INVITE") == [100, 500]
            assert runtime.rtp_ports.in_use == 0
            assert runtime.handler.calls == {}

    asyncio.run(scenario())


def test_store_down_at_bye_gives_500_and_frees_the_port(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as (runtime, db, phone):
            phone.send("INVITE", cseq=1, body=SDP)
            await phone.settle(runtime, "INVITE", 200)
            assert phone.statuses("INVITE") == [100, 180, 200]
            assert runtime.rtp_ports.in_use == 1
            phone.send("ACK", cseq=1, to_tag=phone.to_tag())
            with db.begin() as conn:
                conn.execute(text("DROP TABLE call_records"))
            phone.send("BYE", cseq=2, to_tag=phone.to_tag())
            phone.received.clear()
            await phone.settle(runtime, "BYE", 500)
            assert phone.statuses("BYE") == [500]
            assert runtime.rtp_ports.in_use == 0
            assert runtime.handler.calls == {}

    asyncio.run(scenario())
