"""Registrations over TCP end with their connection (RFC 5626's flow idea), a restart
does not bring them back, and Ctrl-C with TCP phones connected stops cleanly (issue 13).

A binding registered over a TCP/TLS connection is reached only through that connection
(``Binding.target``): once it closes, nothing can reach the phone there, and the phone
registers again on a new connection.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from dialtone.sip.digest import authorization
from dialtone.sip.framing import StreamFramer
from dialtone.sip.message import Request, Response, parse_message

from . import sippgen
from .baresip import Baresip, require_baresip
from .conftest import (
    Platform,
    add_user,
    calls,
    poll,
    provision,
    registrations,
    require_sipp,
    serving,
    start_platform,
    stop_platform,
)

pytestmark = pytest.mark.interop

PASSWORD = "correct-horse-1"
T = TypeVar("T")


class TcpPhone:
    """A phone on one TCP connection to the server that registers with digest and then
    just keeps its connection (what a phone behind NAT does)."""

    def __init__(self, platform: Platform) -> None:
        self.sock = socket.create_connection(("127.0.0.1", platform.sip_port), timeout=15)
        self.local = self.sock.getsockname()
        self.framer = StreamFramer()
        self.pending: list[Request | Response] = []

    def receive(self) -> Request | Response:
        while not self.pending:
            data = self.sock.recv(65535)
            assert data, "the server closed the TCP connection"
            self.pending += [
                parse_message(m, stream=True)
                for m in self.framer.feed(data)
                if isinstance(m, bytes)
            ]
        return self.pending.pop(0)

    def _register(self, user: str, cseq: int, answer: str | None) -> bytes:
        host, port = self.local
        lines = [
            "REGISTER sip:127.0.0.1 SIP/2.0",
            f"Via: SIP/2.0/TCP {host}:{port};branch=z9hG4bKtcp{cseq};rport",
            "Max-Forwards: 70",
            f"From: <sip:{user}@127.0.0.1>;tag=tcp1",
            f"To: <sip:{user}@127.0.0.1>",
            "Call-ID: tcp-reg-1",
            f"CSeq: {cseq} REGISTER",
            # A private address, as a phone behind NAT puts in its Contact.
            f"Contact: <sip:{user}@10.11.12.13:5060;transport=tcp>",
            "Expires: 300",
            "User-Agent: tcp-test-phone",
        ]
        if answer:
            lines.append(f"Authorization: {answer}")
        return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()

    def register(self, user: str) -> None:
        self.sock.sendall(self._register(user, 1, None))
        challenge = self.receive()
        assert isinstance(challenge, Response), challenge
        assert challenge.status == 401, challenge.status
        answer = authorization(
            challenge.headers.get("WWW-Authenticate") or "",
            method="REGISTER",
            uri="sip:127.0.0.1",
            username=user,
            password=PASSWORD,
            cnonce="tcpphone",
        )
        self.sock.sendall(self._register(user, 2, answer))
        ok = self.receive()
        assert isinstance(ok, Response), ok
        assert ok.status == 200, ok.status

    def close(self) -> None:
        self.sock.close()


def _platform(tmp: Path) -> Platform:
    return start_platform(tmp, ring_seconds="0.2", no_answer_seconds="2", digest_algorithms="MD5")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Platform]:
    """A platform with an account, its number and user alice (201)."""
    with serving(
        tmp_path,
        users=(("alice", "201"),),
        password=PASSWORD,
        ring_seconds="0.2",
        no_answer_seconds="2",
        digest_algorithms="MD5",
    ) as running:
        yield running


def test_closing_the_connection_drops_the_binding(server: Platform) -> None:
    phone = TcpPhone(server)
    phone.register("alice")
    [binding] = registrations(server)
    assert binding["transport"] == "tcp"
    phone.close()
    assert poll(lambda: registrations(server) == [], timeout=15.0), registrations(server)
    assert "binding via tcp" in server.log()


def test_ctrl_c_with_a_baresip_on_tcp_stops_cleanly(server: Platform, tmp_path: Path) -> None:
    require_baresip()
    phone = Baresip(
        tmp_path,
        "alice",
        user="alice",
        password=PASSWORD,
        registrar_port=server.sip_port,
        transport="tcp",
    )
    try:
        # Polled over the API: baresip's REGISTER_OK event may come before its control
        # socket is connected.
        found = poll(lambda: registrations(server), timeout=20)
        assert found, f"baresip never registered:\n{phone.log()[-4000:]}"
        [binding] = found
        assert binding["transport"] == "tcp"
        code = stop_platform(server)
    finally:
        phone.stop()
    log = server.log()
    assert code == 0, log
    assert "Traceback" not in log, log
    assert "RuntimeError" not in log, log
    assert log.rstrip().endswith("stopped"), log[-2000:]


@pytest.mark.parametrize("stop", ["ctrl-c", "kill -9"])
def test_a_restart_does_not_bring_back_a_tcp_binding(tmp_path: Path, stop: str) -> None:
    # Ctrl-C closes the phone's connection, which drops the binding; kill -9 leaves it in
    # the store, and the start drops it instead of restoring it.
    require_sipp()
    first = _platform(tmp_path)
    try:
        provision(first)
        add_user(first, "alice", "201", PASSWORD)
        with first.http() as http:
            routed = http.put(
                f"/v1/numbers/{first.number}/route",
                json={"kind": "user", "target": first.extra["alice"]},
            )
        assert routed.status_code == 200, routed.text
        phone = TcpPhone(first)
        phone.register("alice")
    finally:
        # With the phone still connected.
        if stop == "kill -9":
            first.process.kill()
            first.process.wait()
        code = stop_platform(first)
    assert code == (0 if stop == "ctrl-c" else -9), first.log()
    phone.close()
    again = _platform(tmp_path)
    again.api_key, again.number = first.api_key, first.number
    try:
        # The connection alice registered over is gone: so is her binding.
        assert registrations(again) == []
        if stop == "kill -9":
            assert "1 registration(s) over TCP/TLS connections" in again.log()
        # A call to alice goes to her voicemail, not to a dead connection: the caller is
        # answered (by voicemail) and the server never tries the phone's old address.
        scenario = sippgen.write(
            tmp_path, "caller.xml", sippgen.call(first.number[1:], bye_after_ms=500)
        )
        done = again.sipp(str(scenario), first.number[1:], timeout=30)
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{again.log()[-4000:]}"
        [call] = poll(lambda: calls(again), timeout=15.0)
        assert [leg for leg in call["legs"] if leg["kind"] == "device"] == [], call
        assert f"connect to 127.0.0.1:{phone.local[1]}" not in again.log()
    finally:
        code = stop_platform(again)
    assert code == 0, again.log()
