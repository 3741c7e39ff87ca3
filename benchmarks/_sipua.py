"""Just enough SIP over UDP to set up and tear down many calls through dialtone with the
SDP the benchmark chooses: a carrier-like UAC (INVITE, ACK, BYE) and a carrier-like UAS
(200 to INVITE, 200 to BYE). Loopback only; not a general SIP stack. Not a benchmark
itself (leading ``_``)."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from dataclasses import dataclass, field

COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
}
SDP_PORT = re.compile(rb"^m=audio (\d+) ", re.MULTILINE)
URI = re.compile(r"<([^>]+)>")
T1 = 0.5


@dataclass
class Message:
    first: str
    headers: list[tuple[str, str]]
    body: bytes

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def status(self) -> int | None:
        if self.first.startswith("SIP/2.0 "):
            return int(self.first.split(" ", 2)[1])
        return None

    @property
    def method(self) -> str:
        return self.first.split(" ", 1)[0]

    @property
    def cseq_method(self) -> str:
        return (self.get("cseq") or " ").split()[-1]

    def media_port(self) -> int | None:
        found = SDP_PORT.search(self.body)
        return int(found.group(1)) if found else None


def parse(data: bytes) -> Message:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        headers.append((COMPACT.get(name, name), value.strip()))
    return Message(lines[0], headers, body)


def sdp(session: int, port: int, *, telephone_event: int | None = None) -> bytes:
    """PCMA alone, or with RFC 4733 telephone-events at payload type ``telephone_event``."""
    formats = "8" if telephone_event is None else f"8 {telephone_event}"
    events = (
        ""
        if telephone_event is None
        else f"a=rtpmap:{telephone_event} telephone-event/8000\r\na=fmtp:{telephone_event} 0-15\r\n"
    )
    return (
        "v=0\r\n"
        f"o=bench {session} 1 IN IP4 127.0.0.1\r\n"
        "s=bench\r\n"
        "c=IN IP4 127.0.0.1\r\n"
        "t=0 0\r\n"
        f"m=audio {port} RTP/AVP {formats}\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        f"{events}"
        "a=sendrecv\r\n"
    ).encode()


def _branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


@dataclass
class OutCall:
    """A call the UAC placed."""

    index: int
    call_id: str
    tag: str
    media_port: int  # ours, in the offer
    invite: bytes
    answered: asyncio.Future[int]  # dialtone's relay port facing us
    to: str = ""
    target: str = ""
    bye: bytes = b""
    ended: asyncio.Future[int] | None = None
    status: int = 0


class Uac(asyncio.DatagramProtocol):
    """Places calls to ``dialed`` at dialtone, like a carrier's trunk would."""

    def __init__(
        self, server: tuple[str, int], dialed: str, *, telephone_event: int | None = None
    ) -> None:
        self.server = server
        self.dialed = dialed
        self.telephone_event = telephone_event  # offered with PCMA when set (RFC 4733)
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.calls: dict[str, OutCall] = {}
        self._counter = itertools.count()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]

    def _send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data, self.server)

    async def _retransmit(self, data: bytes, done: asyncio.Future[int]) -> int:
        """Send until answered (RFC 3261 timer A/E doubling, 32 s in all)."""
        interval, waited = T1, 0.0
        while True:
            self._send(data)
            try:
                return await asyncio.wait_for(asyncio.shield(done), interval)
            except TimeoutError:
                waited += interval
                if waited >= 32:
                    raise
                interval = min(interval * 2, 4.0)

    async def call(self, media_port: int) -> OutCall:
        """INVITE with our SDP at ``media_port``; returns once answered and ACKed."""
        index = next(self._counter)
        call_id = f"{secrets.token_hex(10)}@bench"
        tag = secrets.token_hex(6)
        body = sdp(index, media_port, telephone_event=self.telephone_event)
        uri = f"sip:{self.dialed}@{self.server[0]}:{self.server[1]}"
        invite = (
            f"INVITE {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={_branch()};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:+1555010{index:04d}@127.0.0.1>;tag={tag}\r\n"
            f"To: <{uri}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:carrier@127.0.0.1:{self.port}>\r\n"
            "Content-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        loop = asyncio.get_running_loop()
        call = OutCall(index, call_id, tag, media_port, invite, loop.create_future())
        self.calls[call_id] = call
        await self._retransmit(invite, call.answered)
        return call

    async def hang_up(self, call: OutCall) -> None:
        call.ended = asyncio.get_running_loop().create_future()
        call.bye = (
            f"BYE {call.target} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={_branch()};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:+1555010{call.index:04d}@127.0.0.1>;tag={call.tag}\r\n"
            f"To: {call.to}\r\n"
            f"Call-ID: {call.call_id}\r\n"
            "CSeq: 2 BYE\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        await self._retransmit(call.bye, call.ended)
        self.calls.pop(call.call_id, None)

    def _ack(self, call: OutCall) -> bytes:
        return (
            f"ACK {call.target} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={_branch()};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:+1555010{call.index:04d}@127.0.0.1>;tag={call.tag}\r\n"
            f"To: {call.to}\r\n"
            f"Call-ID: {call.call_id}\r\n"
            "CSeq: 1 ACK\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = parse(data)
        status = message.status
        call = self.calls.get(message.get("call-id") or "")
        if status is None:
            # A request from dialtone (a BYE of its own, say): accept it.
            self._answer_request(message, addr)
            return
        if call is None:
            return
        method = message.cseq_method
        if method == "INVITE" and status >= 200:
            call.status = status
            call.to = message.get("to") or ""
            contact = URI.search(message.get("contact") or "")
            call.target = contact.group(1) if contact else f"sip:{self.server[0]}"
            if status < 300:
                self._send(self._ack(call))  # every 2xx, retransmissions too
                port = message.media_port()
                if not call.answered.done():
                    call.answered.set_result(port or 0)
            elif not call.answered.done():
                call.answered.set_exception(RuntimeError(f"INVITE answered {status}"))
        elif method == "BYE" and status >= 200 and call.ended is not None and not call.ended.done():
            call.ended.set_result(status)

    def _answer_request(self, message: Message, addr: tuple[str, int]) -> None:
        if message.method == "ACK" or self.transport is None:
            return
        self.transport.sendto(response(message, 200, "", b"", self.port), addr)


def response(request: Message, status: int, tag: str, body: bytes, port: int) -> bytes:
    """A response copying the request's Via, From, To (+ our tag), Call-ID and CSeq."""
    to = request.get("to") or ""
    if tag and ";tag=" not in to:
        to = f"{to};tag={tag}"
    lines = [f"SIP/2.0 {status} {'OK' if status == 200 else 'Other'}"]
    lines += [f"Via: {via}" for via in request.all("via")]
    lines += [
        f"From: {request.get('from')}",
        f"To: {to}",
        f"Call-ID: {request.get('call-id')}",
        f"CSeq: {request.get('cseq')}",
        f"Contact: <sip:carrier@127.0.0.1:{port}>",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class InCall:
    """A call dialtone placed to the UAS."""

    index: int
    call_id: str
    relay_port: int  # dialtone's relay port facing us (from its offer)
    media_port: int  # ours, in the answer
    ok: bytes
    ended: bool = False


@dataclass
class Uas(asyncio.DatagramProtocol):
    """Answers every INVITE at once (200 with SDP; the n-th call's media port is
    ``media_ports[n % len(media_ports)]``) and every other request with 200."""

    media_ports: list[int]
    transport: asyncio.DatagramTransport | None = None
    port: int = 0
    calls: dict[str, InCall] = field(default_factory=dict)
    answered: int = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        message = parse(data)
        if message.status is not None:
            return  # a response to nothing we sent
        method = message.method
        call_id = message.get("call-id") or ""
        if method == "INVITE":
            call = self.calls.get(call_id)
            if call is None:
                index = self.answered
                self.answered += 1
                media_port = self.media_ports[index % len(self.media_ports)]
                ok = response(message, 200, secrets.token_hex(6), sdp(index, media_port), self.port)
                call = InCall(index, call_id, message.media_port() or 0, media_port, ok)
                self.calls[call_id] = call
            self.transport.sendto(call.ok, addr)
        elif method == "ACK":
            return
        else:
            if method == "BYE" and call_id in self.calls:
                self.calls[call_id].ended = True
            self.transport.sendto(response(message, 200, "", b"", self.port), addr)
