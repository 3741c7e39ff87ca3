"""The NG client over a real UDP socket against a NG server played by the test: replies
matched by cookie with many in flight, retransmissions with the same cookie, the
request given up after the schedule, errors, and close."""

from __future__ import annotations

import asyncio
import socket

import pytest

from dialtone.rtp import ng
from dialtone.rtp.bencode import decode, encode
from dialtone.runtime.ng_client import NgClient, NgRefused, NgUnavailable, parse_address


class FakeEngine(asyncio.DatagramProtocol):
    """Answers pings with pong (in reverse order of arrival when ``batch`` > 1), drops
    the first ``drop`` datagrams, answers ``query`` with an error."""

    def __init__(self, *, drop: int = 0, batch: int = 1) -> None:
        self.drop = drop
        self.batch = batch
        self.seen: list[bytes] = []
        self.held: list[tuple[bytes, tuple[str, int]]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.seen.append(data)
        if self.drop > 0:
            self.drop -= 1
            return
        cookie, _, body = data.partition(b" ")
        request = decode(body)
        assert isinstance(request, dict)
        if request[b"command"] == b"ping":
            reply = encode({"result": "pong"})
        else:
            reply = encode({"result": "error", "error-reason": "Unknown call-id"})
        self.held.append((cookie + b" " + reply, addr))
        if len(self.held) >= self.batch:
            assert self.transport is not None
            for datagram, to in reversed(self.held):
                self.transport.sendto(datagram, to)
            self.held.clear()


async def _engine(**kwargs: int) -> tuple[FakeEngine, tuple[str, int], asyncio.DatagramTransport]:
    loop = asyncio.get_running_loop()
    engine = FakeEngine(**kwargs)
    transport, _ = await loop.create_datagram_endpoint(lambda: engine, local_addr=("127.0.0.1", 0))
    return engine, transport.get_extra_info("sockname"), transport  # type: ignore[return-value]


def test_many_requests_in_flight_are_matched_by_cookie() -> None:
    async def run() -> None:
        _, address, transport = await _engine(batch=50)
        client = await NgClient.open(address, (1.0,))
        replies = await asyncio.gather(*(client.call(*ng.ping()) for _ in range(50)))
        assert [r.result for r in replies] == ["pong"] * 50
        assert len({r.cookie for r in replies}) == 50
        assert client.in_flight == 0
        client.close()
        transport.close()

    asyncio.run(run())


def test_a_lost_request_is_sent_again_with_the_same_cookie() -> None:
    async def run() -> None:
        engine, address, transport = await _engine(drop=2)
        client = await NgClient.open(address, (0.05, 0.05, 0.05))
        reply = await client.call(*ng.ping())
        assert reply.result == "pong"
        assert len(engine.seen) == 3
        assert len(set(engine.seen)) == 1  # the same datagram, cookie and all
        client.close()
        transport.close()

    asyncio.run(run())


def test_no_answer_after_the_schedule_is_unavailable() -> None:
    async def run() -> None:
        engine, address, transport = await _engine(drop=100)
        client = await NgClient.open(address, (0.05, 0.1))
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(NgUnavailable, match="did not answer ping"):
            await client.call(*ng.ping())
        assert 0.14 <= loop.time() - started < 1.0
        assert len(engine.seen) == 2
        client.close()
        transport.close()

    asyncio.run(run())


def test_a_closed_port_is_unavailable_not_a_hang() -> None:
    async def run() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            address = probe.getsockname()
        client = await NgClient.open(address, (0.05, 0.05))
        with pytest.raises(NgUnavailable):
            await asyncio.wait_for(client.call(*ng.ping()), 2)
        client.close()

    asyncio.run(run())


def test_an_error_reply_is_refused_with_its_reason() -> None:
    async def run() -> None:
        _, address, transport = await _engine()
        client = await NgClient.open(address, (1.0,))
        with pytest.raises(NgRefused, match="Unknown call-id"):
            await client.call(*ng.query("nope"))
        reply = await client.request(*ng.query("nope"))
        assert reply.error == "Unknown call-id"
        client.close()
        transport.close()

    asyncio.run(run())


def test_close_fails_what_is_in_flight() -> None:
    async def run() -> None:
        _, address, transport = await _engine(drop=100)
        client = await NgClient.open(address, (10.0,))
        waiting = asyncio.ensure_future(client.call(*ng.ping()))
        await asyncio.sleep(0.01)
        client.close()
        with pytest.raises(NgUnavailable, match="closed"):
            await waiting
        with pytest.raises(NgUnavailable, match="closed"):
            await client.call(*ng.ping())
        transport.close()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:22222", ("127.0.0.1", 22222)),
        ("[::1]:2223", ("::1", 2223)),
        ("rtp.example:1", ("rtp.example", 1)),
    ],
)
def test_parse_address(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["127.0.0.1", ":22222", "h:0", "h:65536", "h:x"])
def test_parse_address_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_address(text)
