"""The guarded client pins the connection to the address it checked, while TLS stays
verified against the URL's host name: HTTPS to a name resolved (once) to loopback
succeeds with a certificate for that name, and fails for any other name or the bare
address."""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpcore
import pytest

from dialtone.runtime.guarded_http import GuardedBackend, TargetError
from dialtone.runtime.tls import ensure_certificate
from dialtone.runtime.twiml_fetch import Fetched, TwimlFetcher
from dialtone.services.accounts.webhook_targets import TargetPolicy

NAME = "hooks.example"
ONLY_LOOPBACK = TargetPolicy.of(False, ["127.0.0.1/32"])


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = f"<Response><Say>{self.headers['Host']}</Say></Response>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext]]:
    """A TLS server on loopback with a certificate for ``hooks.example`` only, and a
    client context that trusts that certificate."""
    cert, key = ensure_certificate(None, None, tmp_path, NAME)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        yield server.server_address[1], trust
    finally:
        server.shutdown()
        server.server_close()


def _fetch(url: str, trust: ssl.SSLContext, asked: list[str]) -> Fetched:
    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    async def run() -> Fetched:
        fetcher = TwimlFetcher(
            lambda account: "token", ONLY_LOOPBACK, timeout=5, resolve=resolve, verify=trust
        )
        try:
            return await fetcher.fetch("AC1", url, "POST", {"A": "1"})
        finally:
            await fetcher.close()

    return asyncio.run(run())


def test_tls_is_verified_against_the_name_while_the_checked_address_is_connected(
    https: tuple[int, ssl.SSLContext],
) -> None:
    port, trust = https
    asked: list[str] = []
    fetched = _fetch(f"https://{NAME}:{port}/voice", trust, asked)
    assert fetched.ok, fetched
    assert fetched.body == f"<Response><Say>{NAME}:{port}</Say></Response>".encode()
    assert asked == [NAME]


@pytest.mark.parametrize("host", ["other.example", "127.0.0.1"])
def test_a_certificate_for_another_name_fails(https: tuple[int, ssl.SSLContext], host: str) -> None:
    port, trust = https
    fetched = _fetch(f"https://{host}:{port}/voice", trust, [])
    assert fetched.error_code == 11220, fetched


def test_the_backend_refuses_before_connecting() -> None:
    connected: list[str] = []

    class Recording(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, **kwargs: object) -> object:  # type: ignore[override]
            connected.append(host)
            raise httpcore.ConnectError("no")

    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "169.254.169.254"]

    async def run() -> None:
        backend = GuardedBackend(TargetPolicy(), resolve=resolve, inner=Recording())
        with pytest.raises(TargetError) as refused:
            await backend.connect_tcp("metadata.example", 80)
        assert refused.value.code == 11205
        assert "169.254.169.254" in refused.value.reason
        with pytest.raises(TargetError):
            await backend.connect_unix_socket("/var/run/docker.sock")
        # Every address allowed: each is tried in order, only those.
        allowed = GuardedBackend(TargetPolicy(), resolve=lambda h, p: _public(), inner=Recording())
        with pytest.raises(httpcore.ConnectError):
            await allowed.connect_tcp("public.example", 80)

    asyncio.run(run())
    assert connected == ["93.184.216.34", "8.8.8.8"]


async def _public() -> list[str]:
    return ["93.184.216.34", "8.8.8.8"]
