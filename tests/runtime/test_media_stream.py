"""Media streams end to end: a real WebSocket server written from Twilio's published
protocol (JSON read and written here with the standard library, not with our messages),
real RTP from UDP sockets on loopback into a one-sided call or a relay."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.server import Request, Response, ServerConnection, serve

from dialtone.codecs.g711 import ulaw_decode, ulaw_encode
from dialtone.rtp.packet import RtpPacket
from dialtone.runtime.media import RtpPortPool, RtpSession, open_rtp_session
from dialtone.runtime.media_stream import StreamEnd, StreamLimits, open_media_stream
from dialtone.runtime.relay import open_relay
from dialtone.sip.sdp import NegotiatedAudio

ACCOUNT = "AC" + "0123456789abcdef" * 2
CALL = "CA" + "fedcba9876543210" * 2


class Server:
    """The customer's WebSocket server: records what arrives, says what a test asks."""

    def __init__(self, on_start: Callable[[ServerConnection], Awaitable[None]] | None = None):
        self.on_start = on_start
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.arrived_at: dict[int, float] = {}
        self.connections = 0
        self.path = ""
        self.headers: dict[str, str] = {}
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.connection: ServerConnection | None = None

    async def handler(self, connection: ServerConnection) -> None:
        self.connections += 1
        self.connection = connection
        self.path = connection.request.path if connection.request else ""
        if connection.request is not None:
            self.headers = dict(connection.request.headers.raw_items())
        try:
            async for text in connection:
                message = json.loads(text)
                await self.received.put(message)
                if message["event"] == "start" and self.on_start is not None:
                    await self.on_start(connection)
        except Exception:
            pass
        finally:
            self.close_code = connection.close_code
            self.close_reason = connection.close_reason or ""
            self.closed.set()

    async def next(self, event: str | None = None, timeout: float = 3.0) -> dict[str, Any]:
        """The next message (of ``event``, skipping others)."""
        deadline = time.monotonic() + timeout
        while True:
            message = await asyncio.wait_for(self.received.get(), deadline - time.monotonic())
            if event is None or message["event"] == event:
                message["_at"] = time.monotonic()
                return message

    async def say(self, message: dict[str, Any]) -> None:
        assert self.connection is not None
        await self.connection.send(json.dumps(message))


@asynccontextmanager
async def running(server: Server, **kwargs: Any) -> AsyncIterator[str]:
    async with serve(server.handler, "127.0.0.1", 0, **kwargs) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/media"


def udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def pcmu_audio(sock: socket.socket | None = None) -> NegotiatedAudio:
    host, port = sock.getsockname() if sock is not None else ("127.0.0.1", 9)
    return NegotiatedAudio(host, port, "PCMU", 0, 8000, 20, "sendrecv", 101)


def rtp(seq: int, payload: bytes, ssrc: int = 0x4242) -> bytes:
    return bytes(
        RtpPacket(
            payload_type=0, sequence_number=seq, timestamp=seq * 160, ssrc=ssrc, payload=payload
        )
    )


async def phone_hears(
    sock: socket.socket, count: int, timeout: float = 3.0
) -> list[tuple[float, RtpPacket]]:
    loop = asyncio.get_running_loop()
    got: list[tuple[float, RtpPacket]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        data = await asyncio.wait_for(loop.sock_recv(sock, 2048), deadline - time.monotonic())
        got.append((time.monotonic(), RtpPacket.parse(data)))
    return got


def drain(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            sock.recv(2048)
        except BlockingIOError:
            return count
        count += 1


def frame(seed: int) -> bytes:
    """160 µ-law bytes, different for each seed."""
    return bytes((seed * 31 + i * 7) % 256 for i in range(160))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def one_sided(port: int) -> tuple[RtpSession, socket.socket]:
    phone = udp()
    session = await open_rtp_session(
        RtpPortPool(port, port + 20), "127.0.0.1", pcmu_audio(phone), None
    )
    return session, phone


def ended(ends: list[StreamEnd]) -> Callable[[], Awaitable[None]]:
    async def wait() -> None:
        for _ in range(300):
            if ends:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("on_end was not called")

    return wait


# -- (a) the caller's audio reaches the server ---------------------------------------------


async def _forked() -> None:
    server = Server()
    session, phone = await one_sided(44000)
    ends: list[StreamEnd] = []
    async with running(server) as url:
        stream = open_media_stream(
            session,
            url=url,
            account_sid=ACCOUNT,
            call_sid=CALL,
            on_end=ends.append,
            name="fork",
            parameters=[("FirstName", "Jane"), ("RemoteParty", "Bob")],
            headers=[("X-Twilio-Signature", "abc=")],
        )
        first = await server.next()
        del first["_at"]
        assert first == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
        start = await server.next()
        assert start["event"] == "start"
        assert start["sequenceNumber"] == "1"
        sid = start["streamSid"]
        assert re.fullmatch(r"MZ[0-9a-f]{32}", sid)
        assert sid == stream.stream_sid
        assert start["start"] == {
            "accountSid": ACCOUNT,
            "streamSid": sid,
            "callSid": CALL,
            "tracks": ["inbound"],
            "customParameters": {"FirstName": "Jane", "RemoteParty": "Bob"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }
        assert server.headers["X-Twilio-Signature"] == "abc="
        assert server.path == "/media"
        sent = [frame(seq) for seq in range(20)]
        for seq, payload in enumerate(sent):
            phone.sendto(rtp(seq, payload), ("127.0.0.1", session.local_port))
            await asyncio.sleep(0.005)
        media = [await server.next("media") for _ in sent]
        # Byte-exact after the µ-law round trip (PCM for the taps, µ-law on the wire).
        assert [base64.b64decode(m["media"]["payload"]) for m in media] == [
            ulaw_encode(ulaw_decode(p)) for p in sent
        ]
        assert {m["media"]["track"] for m in media} == {"inbound"}
        assert {m["streamSid"] for m in media} == {sid}
        assert [int(m["media"]["chunk"]) for m in media] == list(range(1, 21))
        stamps = [int(m["media"]["timestamp"]) for m in media]
        assert all(b > a for a, b in itertools.pairwise(stamps))
        numbers = [int(m["sequenceNumber"]) for m in media]
        assert numbers == list(range(2, 22))
        # A forked stream gets no digits (Twilio sends dtmf on bidirectional ones only).
        stream.digit("5")
        stream.stop()
        stop = await server.next()
        assert stop == {
            "event": "stop",
            "sequenceNumber": "22",
            "stop": {"accountSid": ACCOUNT, "callSid": CALL},
            "streamSid": sid,
            "_at": stop["_at"],
        }
        await asyncio.wait_for(server.closed.wait(), 3)
        assert server.close_code == 1000
        await ended(ends)()
        assert ends == [StreamEnd("fork", sid, None)]
        # The tap is gone with the stream: the call's audio goes nowhere now.
        phone.sendto(rtp(99, frame(99)), ("127.0.0.1", session.local_port))
        await asyncio.sleep(0.05)
        assert session._taps == []
    session.close()
    phone.close()


def test_the_callers_audio_reaches_the_server_in_order_byte_exact() -> None:
    asyncio.run(_forked())


# -- (b), (c): the server speaks, marks, clears --------------------------------------------


async def _connected() -> None:
    server = Server()
    session, phone = await one_sided(44040)
    ends: list[StreamEnd] = []
    async with running(server) as url:
        open_media_stream(
            session, url=url, account_sid=ACCOUNT, call_sid=CALL, on_end=ends.append, connect=True
        )
        start = await server.next("start")
        sid = start["streamSid"]
        speech = b"".join(frame(seq) for seq in range(10)).replace(b"\x7f", b"\x7e")
        await server.say({"event": "media", "streamSid": sid, "media": {"payload": b64(speech)}})
        await server.say({"event": "mark", "streamSid": sid, "mark": {"name": "first"}})
        heard = await phone_hears(phone, 10)
        assert b"".join(p.payload for _, p in heard) == speech
        span = heard[-1][0] - heard[0][0]
        assert 0.15 <= span <= 0.4  # nine 20 ms steps: paced, not a burst
        seqs = [p.sequence_number for _, p in heard]
        assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(10)]
        mark = await server.next("mark")
        assert mark["mark"] == {"name": "first"}
        assert mark["streamSid"] == sid
        assert mark["_at"] >= heard[-1][0]  # after its audio
        # clear: queued audio dropped, the pending mark answered at once.
        long = b"".join(frame(seq) for seq in range(100))
        await server.say({"event": "media", "streamSid": sid, "media": {"payload": b64(long)}})
        await server.say({"event": "mark", "streamSid": sid, "mark": {"name": "second"}})
        await phone_hears(phone, 3)
        cleared = time.monotonic()
        await server.say({"event": "clear", "streamSid": sid})
        mark = await server.next("mark")
        assert mark["mark"] == {"name": "second"}
        assert mark["_at"] - cleared < 0.5  # not after the 2 s of audio
        await asyncio.sleep(0.1)
        drain(phone)
        await asyncio.sleep(0.1)
        assert drain(phone) == 0  # nothing more is sent
        # The client ends it: a normal end.
        assert server.connection is not None
        await server.connection.close()
        await ended(ends)()
        assert ends[0].error is None
    session.close()
    phone.close()


def test_the_server_speaks_at_the_20ms_pace_marks_after_its_audio_and_clears() -> None:
    asyncio.run(_connected())


async def _digits_and_limits() -> None:
    server = Server()
    session, phone = await one_sided(44080)
    ends: list[StreamEnd] = []
    async with running(server) as url:
        stream = open_media_stream(
            session,
            url=url,
            account_sid=ACCOUNT,
            call_sid=CALL,
            on_end=ends.append,
            connect=True,
            limits=StreamLimits(max_queued_seconds=0.2),
        )
        sid = (await server.next("start"))["streamSid"]
        stream.digit("7")
        dtmf = await server.next("dtmf")
        assert dtmf["dtmf"] == {"track": "inbound_track", "digit": "7"}
        # A second of audio at once, 0.2 s allowed ahead: the rest is dropped.
        second = b"\x10" * 8000
        await server.say({"event": "media", "streamSid": sid, "media": {"payload": b64(second)}})
        await server.say({"event": "mark", "streamSid": sid, "mark": {"name": "end"}})
        await server.next("mark")
        await asyncio.sleep(0.05)
        assert drain(phone) == 10
        stream.stop()
        await ended(ends)()
        assert ends[0].error is None
    session.close()
    phone.close()


def test_digits_reach_a_connected_stream_and_audio_far_ahead_is_dropped() -> None:
    asyncio.run(_digits_and_limits())


# -- (d) a malformed message closes the stream, not the call -------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json", "protocol error: malformed JSON"),
        (b"\x00\x01\x02", "protocol error: binary frame"),
        ('{"event": "media", "media": {"payload": "%%%"}}', "protocol error: 'media.payload'"),
    ],
)
def test_a_malformed_message_closes_the_stream_not_the_call(bad: str | bytes, reason: str) -> None:
    async def main() -> None:
        async def send_bad(connection: ServerConnection) -> None:
            await connection.send(bad)

        server = Server(on_start=send_bad)
        session, phone = await one_sided(44120)
        ends: list[StreamEnd] = []
        async with running(server) as url:
            open_media_stream(
                session,
                url=url,
                account_sid=ACCOUNT,
                call_sid=CALL,
                on_end=ends.append,
                connect=True,
            )
            assert (await server.next("stop"))["stop"]["callSid"] == CALL
            await asyncio.wait_for(server.closed.wait(), 3)
            assert server.close_code == 1008
            assert server.close_reason.startswith(reason)
            await ended(ends)()
            assert ends[0].error is not None
            assert ends[0].error.startswith(reason)
            # The call goes on: its media plays, and another stream can follow.
            session.play(b"\xff" * 320)
            assert len(await phone_hears(phone, 2)) == 2
            again = Server()
            async with running(again) as url2:
                second = open_media_stream(
                    session, url=url2, account_sid=ACCOUNT, call_sid=CALL, on_end=ends.append
                )
                await again.next("start")
                second.stop()
                await second.wait()
            assert ends[1].error is None
        session.close()
        phone.close()

    asyncio.run(main())


# -- the relay: both tracks ------------------------------------------------------------------


async def _relay_both_tracks() -> None:
    server = Server()
    relay = await open_relay(RtpPortPool(44160, 44180), "127.0.0.1", audio=pcmu_audio())
    a, b = udp(), udp()
    relay.a.set_remote(a.getsockname())
    relay.b.set_remote(b.getsockname())
    ends: list[StreamEnd] = []
    async with running(server) as url:
        stream = open_media_stream(
            relay,
            url=url,
            account_sid=ACCOUNT,
            call_sid=CALL,
            on_end=ends.append,
            track="both_tracks",
        )
        start = await server.next("start")
        assert start["start"]["tracks"] == ["inbound", "outbound"]
        for seq in range(3):
            a.sendto(rtp(seq, frame(seq)), ("127.0.0.1", relay.a.port))
            b.sendto(rtp(seq, frame(50 + seq), ssrc=7), ("127.0.0.1", relay.b.port))
            await asyncio.sleep(0.01)
        media = [await server.next("media") for _ in range(6)]
        by_track: dict[str, list[bytes]] = {"inbound": [], "outbound": []}
        for m in media:
            by_track[m["media"]["track"]].append(base64.b64decode(m["media"]["payload"]))
        assert by_track["inbound"] == [ulaw_encode(ulaw_decode(frame(s))) for s in range(3)]
        assert by_track["outbound"] == [ulaw_encode(ulaw_decode(frame(50 + s))) for s in range(3)]
        # Streaming does not change the relay: both legs still hear each other.
        assert drain(a) == 3
        assert drain(b) == 3
        stream.stop()
        await stream.wait()
    relay.close()
    for sock in (a, b):
        sock.close()


def test_a_relay_streams_both_tracks() -> None:
    asyncio.run(_relay_both_tracks())


# -- ends that are not normal ---------------------------------------------------------------


async def _ends_badly(
    url_of: Callable[[str], str], reason: str, **kwargs: Any
) -> tuple[Server, list[StreamEnd]]:
    server = Server()
    session, phone = await one_sided(44200)
    ends: list[StreamEnd] = []
    async with running(server, **kwargs.pop("serve", {})) as url:
        open_media_stream(
            session,
            url=url_of(url),
            account_sid=ACCOUNT,
            call_sid=CALL,
            on_end=ends.append,
            **kwargs,
        )
        await ended(ends)()
    session.close()
    phone.close()
    assert len(ends) == 1
    assert ends[0].error is not None
    assert re.search(reason, ends[0].error), ends[0].error
    return server, ends


def test_a_refused_target_is_never_connected() -> None:
    async def refuse(url: str) -> None:
        raise ValueError("10.0.0.1 is a private address")

    server, _ = asyncio.run(
        _ends_badly(
            lambda url: url, "^refused target: 10.0.0.1 is a private address$", check_target=refuse
        )
    )
    assert server.connections == 0


def test_an_http_answer_instead_of_a_websocket() -> None:
    def forbid(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(HTTPStatus.FORBIDDEN, "no\n")

    asyncio.run(
        _ends_badly(
            lambda url: url, "^the server answered HTTP 403$", serve={"process_request": forbid}
        )
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/media", "^not a WebSocket URL"),
        ("wss//nowhere", "^not a WebSocket URL"),
        ("ws://127.0.0.1:1/media", "^connection failed"),
    ],
)
def test_urls_that_cannot_be_streamed_to(url: str, reason: str) -> None:
    asyncio.run(_ends_badly(lambda _: url, reason))


def test_a_track_that_is_not_one_ends_at_once() -> None:
    asyncio.run(_ends_badly(lambda url: url, "both_tracks, not 'left'", track="left"))
    asyncio.run(
        _ends_badly(lambda url: url, "inbound track only", track="both_tracks", connect=True)
    )


async def _silent_server(stop_early: bool) -> list[StreamEnd]:
    accepted: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # and never answer the handshake

    tcp = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    session, phone = await one_sided(44240)
    ends: list[StreamEnd] = []
    began = time.monotonic()
    stream = open_media_stream(
        session,
        url=f"ws://127.0.0.1:{port}/",
        account_sid=ACCOUNT,
        call_sid=CALL,
        on_end=ends.append,
        limits=StreamLimits(connect_timeout=0.3),
    )
    if stop_early:
        await asyncio.sleep(0.05)
        stream.stop()
    await stream.wait()
    took = time.monotonic() - began
    assert took < 0.2 if stop_early else 0.25 <= took < 1.5
    assert stream.done
    for writer in accepted:
        writer.close()
    tcp.close()
    session.close()
    phone.close()
    return ends


def test_a_server_that_never_answers_times_out() -> None:
    ends = asyncio.run(_silent_server(stop_early=False))
    assert [e.error for e in ends] == ["connect timeout after 0.3 s"]


def test_stopped_while_connecting_ends_normally_at_once() -> None:
    ends = asyncio.run(_silent_server(stop_early=True))
    assert [e.error for e in ends] == [None]


def test_the_client_closing_with_an_error_code() -> None:
    async def main() -> None:
        async def close_badly(connection: ServerConnection) -> None:
            await connection.close(1011, "agent crashed")

        server = Server(on_start=close_badly)
        session, phone = await one_sided(44280)
        ends: list[StreamEnd] = []
        async with running(server) as url:
            open_media_stream(
                session,
                url=url,
                account_sid=ACCOUNT,
                call_sid=CALL,
                on_end=ends.append,
                connect=True,
            )
            await ended(ends)()
        assert ends[0].error == "the client closed with 1011 agent crashed"
        session.close()
        phone.close()

    asyncio.run(main())


def test_unknown_events_and_messages_for_another_stream_are_ignored() -> None:
    async def main() -> None:
        server = Server()
        session, phone = await one_sided(44320)
        ends: list[StreamEnd] = []
        async with running(server) as url:
            stream = open_media_stream(
                session,
                url=url,
                account_sid=ACCOUNT,
                call_sid=CALL,
                on_end=ends.append,
                connect=True,
            )
            sid = (await server.next("start"))["streamSid"]
            await server.say({"event": "transcript", "streamSid": sid, "text": "hello"})
            other = "MZ" + "0" * 32
            await server.say(
                {"event": "media", "streamSid": other, "media": {"payload": b64(frame(1))}}
            )
            await server.say({"event": "mark", "streamSid": sid, "mark": {"name": "still here"}})
            assert (await server.next("mark"))["mark"]["name"] == "still here"
            await asyncio.sleep(0.05)
            assert drain(phone) == 0  # the other stream's audio was not played
            assert not ends
            stream.stop()
            await stream.wait()
        assert ends[0].error is None
        session.close()
        phone.close()

    asyncio.run(main())


def test_a_message_over_the_size_limit_ends_the_stream() -> None:
    async def main() -> None:
        async def flood(connection: ServerConnection) -> None:
            payload = b64(b"\xff" * 4000)
            await connection.send(json.dumps({"event": "media", "media": {"payload": payload}}))

        server = Server(on_start=flood)
        session, phone = await one_sided(44360)
        ends: list[StreamEnd] = []
        async with running(server) as url:
            open_media_stream(
                session,
                url=url,
                account_sid=ACCOUNT,
                call_sid=CALL,
                on_end=ends.append,
                connect=True,
                limits=StreamLimits(max_message_bytes=1000),
            )
            await ended(ends)()
            await asyncio.wait_for(server.closed.wait(), 3)
        assert server.close_code == 1009
        assert [e.error for e in ends] == [
            "closed with 1009 frame with 5380 bytes exceeds limit of 1000 bytes"
        ]
        assert drain(phone) == 0
        session.close()
        phone.close()

    asyncio.run(main())


def test_a_connection_dropped_without_a_close_frame() -> None:
    async def main() -> None:
        async def drop(connection: ServerConnection) -> None:
            connection.transport.abort()

        server = Server(on_start=drop)
        session, phone = await one_sided(44400)
        ends: list[StreamEnd] = []
        async with running(server) as url:
            open_media_stream(
                session,
                url=url,
                account_sid=ACCOUNT,
                call_sid=CALL,
                on_end=ends.append,
                connect=True,
            )
            await ended(ends)()
        assert [e.error for e in ends] == ["the client connection lost"]
        session.close()
        phone.close()

    asyncio.run(main())


def test_a_client_that_reads_slowly_loses_audio_not_memory() -> None:
    async def main() -> None:
        server = Server()
        session, phone = await one_sided(44440)
        ends: list[StreamEnd] = []
        async with running(server) as url:
            stream = open_media_stream(
                session,
                url=url,
                account_sid=ACCOUNT,
                call_sid=CALL,
                on_end=ends.append,
                limits=StreamLimits(max_waiting_messages=50),
            )
            await server.next("start")
            (tap,) = session._taps
            # 120 frames within one step of the loop: the writer cannot send meanwhile,
            # as when the client's socket is full.
            for _ in range(120):
                tap.fn(b"\x00\x00" * 160)
            await asyncio.sleep(0.05)
            tap.fn(b"\x00\x00" * 160)
            chunks = [int((await server.next("media"))["media"]["chunk"]) for _ in range(51)]
            # 50 waited; the other 70 were dropped, and the chunk numbers show the gap.
            assert chunks == [*range(1, 51), 121]
            stream.stop()
            await stream.wait()
        assert ends[0].error is None
        session.close()
        phone.close()

    asyncio.run(main())
