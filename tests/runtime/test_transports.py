"""SIP over real TCP and TLS sockets on loopback: framing, keep-alives, responses on the
connection the request came on, and connections we open ourselves."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dialtone.runtime.metrics import CallAttempts
from dialtone.runtime.tls import client_context, ensure_certificate, server_context
from dialtone.runtime.transports import (
    OverloadGate,
    SipChannel,
    StreamChannel,
    UdpChannel,
    udp_socket,
)
from dialtone.sip.endpoint import Output, RequestReceived, SipEndpoint
from dialtone.sip.message import Response, make_response, parse_message
from dialtone.sip.overload import OverloadController, OverloadLimits

OPTIONS = (
    "OPTIONS sip:dialtone@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK{n}\r\n"
    "From: <sip:t@127.0.0.1>;tag=t{n}\r\nTo: <sip:dialtone@127.0.0.1>\r\n"
    "Call-ID: tcp-{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


def endpoint(transport: str) -> SipEndpoint:
    tags = (f"t{n}" for n in itertools.count())
    return SipEndpoint(
        local_host="127.0.0.1",
        local_port=0,
        new_tag=lambda: next(tags),
        new_branch=lambda: "b",
        transport=transport,
    )


def answering(channel: SipChannel) -> None:
    def on_event(event: Output, ch: SipChannel) -> None:
        if isinstance(event, RequestReceived):
            loop = asyncio.get_running_loop()
            ch.dispatch(
                ch.endpoint.respond(
                    event.transaction, make_response(event.request, 200), loop.time()
                )
            )

    channel.on_event = on_event


async def read_response(reader: asyncio.StreamReader) -> Response:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    message = parse_message(head, stream=True)
    assert isinstance(message, Response)
    return message


async def _tcp_roundtrip() -> None:
    channel = StreamChannel(endpoint("TCP"))
    answering(channel)
    port = await channel.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # Two requests, split at awkward places, plus a keep-alive ping between them.
    data = OPTIONS.format(n=1).encode() + b"\r\n\r\n" + OPTIONS.format(n=2).encode()
    for cut in range(0, len(data), 37):
        writer.write(data[cut : cut + 37])
        await writer.drain()
        await asyncio.sleep(0)
    first = await read_response(reader)
    assert first.status == 200
    assert first.call_id == "tcp-1"
    pong = await asyncio.wait_for(reader.readexactly(2), 5)
    assert pong == b"\r\n"
    second = await read_response(reader)
    assert second.call_id == "tcp-2"
    assert len(channel.connections) == 1
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.05)
    assert channel.connections == {}
    channel.close()


def test_tcp_framing_keepalive_and_response_on_the_same_connection() -> None:
    asyncio.run(_tcp_roundtrip())


async def _unframeable_closes() -> None:
    channel = StreamChannel(endpoint("TCP"))
    port = await channel.start("127.0.0.1", 0)
    closed: list[tuple[str, int]] = []
    channel.on_closed = lambda peer, ch: closed.append(peer)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n")  # no Content-Length
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the server hung up
    await asyncio.sleep(0.05)
    assert len(closed) == 1
    channel.close()


def test_stream_without_content_length_is_closed() -> None:
    asyncio.run(_unframeable_closes())


async def _close_waits_for_every_connection() -> None:
    channel = StreamChannel(endpoint("TCP"))
    port = await channel.start("127.0.0.1", 0)
    closed: list[tuple[str, int]] = []
    channel.on_closed = lambda peer, ch: closed.append(peer)
    assert await channel.wait_closed(0.1)  # nothing open
    clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
    for _ in range(100):
        if len(channel.connections) == 3:
            break
        await asyncio.sleep(0.02)
    assert len(channel.connections) == 3
    channel.close()
    # Shutdown waits on this before stopping the executors the on_closed work uses
    # (issue 13, item 25): every connection's end has been handled when it returns.
    assert await channel.wait_closed(5)
    assert sorted(closed) == sorted(w.get_extra_info("sockname")[:2] for _, w in clients)
    assert channel.connections == {}
    for _, writer in clients:
        writer.close()


def test_close_then_wait_closed_reports_every_connection() -> None:
    asyncio.run(_close_waits_for_every_connection())


async def _tls_both_ways(tmp: Path) -> None:
    cert, key = ensure_certificate(None, None, tmp, "127.0.0.1")
    server = StreamChannel(
        endpoint("TLS"), server_ssl=server_context(cert, key), client_ssl=client_context()
    )
    answering(server)
    port = await server.start("127.0.0.1", 0)
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    writer.write(OPTIONS.format(n=3).replace("TCP", "TLS").encode())
    await writer.drain()
    assert (await read_response(reader)).status == 200
    writer.close()
    # Our own connection out: a request to a peer we have no connection with opens one.
    client = StreamChannel(
        endpoint("TLS"), server_ssl=server_context(cert, key), client_ssl=client_context()
    )
    await client.start("127.0.0.1", 0)
    client._transmit(OPTIONS.format(n=4).replace("TCP", "TLS").encode(), ("127.0.0.1", port))
    for _ in range(100):
        if client.connections:
            break
        await asyncio.sleep(0.02)
    assert ("127.0.0.1", port) in client.connections
    server.close()
    client.close()


def test_tls_with_a_generated_certificate(tmp_path: Path) -> None:
    asyncio.run(_tls_both_ways(tmp_path))
    # The pair is generated once and reused.
    first = (tmp_path / "sip-cert.pem").read_bytes()
    ensure_certificate(None, None, tmp_path, "127.0.0.1")
    assert (tmp_path / "sip-cert.pem").read_bytes() == first


@pytest.mark.parametrize("asked", [256 * 1024, 64 * 1024 * 1024])
def test_sip_udp_socket_gets_the_receive_buffer_the_kernel_allows(
    asked: int, caplog: pytest.LogCaptureFixture
) -> None:
    ceiling = int(Path("/proc/sys/net/core/rmem_max").read_text())
    with caplog.at_level(logging.WARNING, logger="dialtone.sip"):
        sock = udp_socket("127.0.0.1", 0, asked)
    try:
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        assert granted >= min(asked, ceiling)
        assert sock.getsockname()[1] != 0
        assert not sock.getblocking()
    finally:
        sock.close()
    warned = "raise net.core.rmem_max" in caplog.text
    assert warned == (granted < asked)


# -- overload control at the SIP entry (issue 14) ----------------------------------------

INVITE = (
    "INVITE sip:{user}@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{n}\r\n"
    "From: <sip:c@127.0.0.1>;tag=f{n}\r\nTo: <sip:{user}@127.0.0.1>\r\n"
    "Call-ID: udp-{n}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


async def _gate_sheds_over_the_window() -> None:
    loop = asyncio.get_running_loop()
    channel = UdpChannel(endpoint("UDP"))
    seen: list[str] = []
    channel.on_event = lambda event, ch: (
        seen.append(event.request.call_id) if isinstance(event, RequestReceived) else None
    )
    await loop.create_datagram_endpoint(lambda: channel, local_addr=("127.0.0.1", 0))
    gate = OverloadGate(
        OverloadController(OverloadLimits(setups_high=1, setups_low=0, retry_after=5)),
        priority=lambda request: getattr(request.uri, "user", None) == "112",
    )
    gate.start({"udp": channel})
    lags: list[float] = []
    gate.on_lag = lags.append  # the metrics' histogram (runtime.metrics)
    attempts = CallAttempts()
    channel.endpoint.on_final = attempts
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    port = peer.getsockname()[1]
    target = channel.own_address()
    assert target is not None

    async def call(n: int, user: str = "+33123456789") -> Response:
        peer.sendto(INVITE.format(n=n, user=user, port=port).encode(), target)
        data = await asyncio.wait_for(loop.sock_recv(peer, 65536), 5)
        message = parse_message(data)
        assert isinstance(message, Response)
        return message

    try:
        assert (await call(1)).status == 100  # admitted: it fills the window
        refused = await call(2)
        assert refused.status == 503
        assert refused.headers.get("Retry-After") == "5"
        assert refused.headers.get("Reason") == 'SIP;cause=503;text="overload.busy"'
        assert (refused.headers.get("Warning") or "").startswith('399 dialtone "overload.busy')
        assert refused.to.tag  # a final response carries a To tag
        assert (await call(3, user="112")).status == 100  # an emergency call is never shed
        await asyncio.sleep(0.2)  # a few measurements: the probe goes and comes back
        assert seen == ["udp-1", "udp-3"]  # the application never heard of the shed one
        assert channel.endpoint.stats["shed"] == 1
        assert gate.shed == {"INVITE": 1, "REGISTER": 0}
        assert attempts.counts == {("refused", "503", "overload.busy"): 1}
        assert lags
        assert all(0 <= lag < 0.2 for lag in lags)
        assert gate.controller.load.setups == 2
        assert gate.controller.load.lag < 0.2
    finally:
        gate.close()
        channel.close()
        peer.close()


def test_the_gate_answers_503_over_the_window_and_lets_emergency_calls_in() -> None:
    asyncio.run(_gate_sheds_over_the_window())


async def _gate_measures_the_database_thread() -> None:
    database = ThreadPoolExecutor(1)
    gate = OverloadGate(OverloadController(OverloadLimits()), database=database)
    try:
        busy = asyncio.get_running_loop().run_in_executor(database, time.sleep, 0.6)
        gate.start({})
        await asyncio.sleep(0.4)  # the first probe waits behind the slow commit
        assert gate.controller.load.lag >= 0.2
        await busy
        await asyncio.sleep(0.3)  # the next probes find the thread free
        assert gate.controller.load.lag < 0.3
    finally:
        gate.close()
        database.shutdown(wait=True)


def test_the_gate_counts_a_slow_database_thread_as_lag() -> None:
    asyncio.run(_gate_measures_the_database_thread())
