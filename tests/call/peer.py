"""A scripted peer for the call core's tests: builds the requests a caller sends (through a
real SipEndpoint, so transactions are real) and the responses a callee sends, and runs a
call on a fake clock, keeping what it asked for."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dialtone.call import actions as act
from dialtone.call import application as app
from dialtone.call import events as ev
from dialtone.call.call import Call, CallSpec
from dialtone.call.context import CallSettings
from dialtone.call.dialer import Step, ring_failover
from dialtone.call.leg import Credentials, Destination
from dialtone.sip.endpoint import AckReceived, EndpointPolicy, RequestReceived, SipEndpoint
from dialtone.sip.headers import Via, parse_name_address
from dialtone.sip.message import Request, make_response
from dialtone.sip.transaction import (
    MAGIC_COOKIE,
    InviteClientTransaction,
    ResponseReceived,
    TransactionTimedOut,
)
from dialtone.sip.uri import parse_uri

CALLER = ("192.0.2.10", 5062)
SDP_ALAW = (
    b"v=0\r\no=a 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)
SDP_G729 = (
    b"v=0\r\no=a 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 18\r\n"
)
STARTED = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SETTINGS = CallSettings(advertised_host="203.0.113.1", max_call_seconds=3600.0)


class FakePath:
    """A signalling path: deterministic branches and tags."""

    def __init__(self, name: str = "udp") -> None:
        self.name = name
        self.contact = "<sip:dialtone@203.0.113.1:5060>"
        self._n = itertools.count(1)

    def via(self) -> Via:
        return Via("UDP", "203.0.113.1", 5060, (("branch", f"{MAGIC_COOKIE}b{next(self._n)}"),))

    def new_tag(self) -> str:
        return f"t{next(self._n)}"


class FakeIds:
    def __init__(self) -> None:
        self._n = itertools.count(1)

    def call_id(self) -> str:
        return f"leg{next(self._n)}@dialtone"

    def cnonce(self) -> str:
        return "cnonce"

    def local_seq(self) -> int:
        return 100

    def session_id(self) -> str:
        # A new id at every draw, so a session id drawn twice for one session shows.
        return str(next(self._n) + 4000)

    def glare_delay(self, owner: bool) -> float:
        return 3.0 if owner else 1.0


def spec(**kw: object) -> CallSpec:
    base: dict[str, object] = {
        "record_id": "CA1",
        "account_id": "AC1",
        "direction": "inbound",
        "from_number": "+14155550100",
        "to_number": "+33123456789",
        "started_at": STARTED,
        "legs": ({"kind": "public", "id": None},),
    }
    base.update(kw)
    return CallSpec(**base)  # type: ignore[arg-type]


def destination(n: int, *, kind: str = "device", credentials: bool = False) -> Destination:
    return Destination(
        uri=parse_uri(f"sip:d{n}@192.0.2.{20 + n}:5060"),
        path=FakePath(),
        peer=(f"192.0.2.{20 + n}", 5060),
        to=parse_name_address(f"<sip:d{n}@203.0.113.1>"),
        caller=parse_name_address("<sip:+14155550100@203.0.113.1>"),
        trace={"kind": kind, "id": f"{kind}{n}"},
        user_id=f"US{n}" if kind == "device" else None,
        credentials=Credentials("u", "p") if credentials else None,
    )


def step(
    *numbers: int, timeout: float | None = 20.0, kind: str = "device", failover=ring_failover
) -> Step:  # type: ignore[no-untyped-def]
    return Step(tuple(destination(n, kind=kind) for n in numbers), timeout, failover)


@dataclass
class Harness:
    """One call on a fake clock; ``out`` holds every action so far."""

    call: Call | None = None
    now: float = 100.0
    out: list[act.Action] = field(default_factory=list)
    endpoint: SipEndpoint = field(
        default_factory=lambda: SipEndpoint(
            local_host="203.0.113.1",
            local_port=5060,
            new_tag=lambda: "eptag",
            new_branch=lambda: "epbr",
            policy=EndpointPolicy(
                methods=frozenset(
                    {
                        "INVITE",
                        "ACK",
                        "BYE",
                        "CANCEL",
                        "OPTIONS",
                        "INFO",
                        "NOTIFY",
                        "REFER",
                        "MESSAGE",
                    }
                ),
                content_types=frozenset({"application/sdp", "application/dtmf-relay"}),
            ),
        )
    )
    cseq: int = 1
    path: FakePath = field(default_factory=FakePath)
    ids: FakeIds = field(default_factory=FakeIds)

    # -- starting ---------------------------------------------------------------------

    def invite_event(self, body: bytes = SDP_ALAW) -> RequestReceived:
        data = (
            "INVITE sip:+33123456789@203.0.113.1 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKcaller1\r\n"
            "From: <sip:+14155550100@192.0.2.10>;tag=caller\r\n"
            "To: <sip:+33123456789@203.0.113.1>\r\nCall-ID: a-leg\r\nCSeq: 1 INVITE\r\n"
            "Contact: <sip:caller@192.0.2.10:5062>\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        events = [
            o
            for o in self.endpoint.receive(data, CALLER, self.now)
            if isinstance(o, RequestReceived)
        ]
        return events[0]

    def incoming(
        self, application: app.Application, *, sides: int = 1, body: bytes = SDP_ALAW, **kw: object
    ) -> list[act.Action]:
        self.invite = self.invite_event(body)
        self.call, actions = Call.incoming(
            spec(**kw),
            settings=SETTINGS,
            ids=self.ids,
            application=application,
            event=self.invite,
            path=self.path,
            now=self.now,
            sides=sides,
        )
        self.out.extend(actions)
        return actions

    def originate(self, devices: Sequence[Step], target: str = "+33999") -> list[act.Action]:
        self.call, actions = Call.originate(
            spec(direction="outbound", legs=(), user_id="US0", caller_user_id="US0"),
            settings=SETTINGS,
            ids=self.ids,
            devices=devices,
            target=target,
            now=self.now,
        )
        self.out.extend(actions)
        return actions

    def feed(self, event: ev.Event, *, after: float = 0.0) -> list[act.Action]:
        assert self.call is not None
        self.now += after
        actions = self.call.handle(event, self.now)
        self.out.extend(actions)
        return actions

    def open_media(self, *ports: int) -> list[act.Action]:
        return self.feed(ev.MediaOpened(ports or (30000, 30002)))

    # -- the caller -------------------------------------------------------------------

    def a_tag(self) -> str:
        assert self.call is not None
        assert self.call.a is not None
        return self.call.a.local_tag

    def caller_request(
        self, method: str, body: bytes = b"", headers: str = "", cseq: int | None = None
    ) -> RequestReceived | None:
        self.cseq += 1
        number = cseq if cseq is not None else self.cseq
        ctype = (
            "Content-Type: application/sdp\r\n" if body and "Content-Type" not in headers else ""
        )
        data = (
            f"{method} sip:dialtone@203.0.113.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK{method}{number}x{self.cseq}\r\n"
            "From: <sip:+14155550100@192.0.2.10>;tag=caller\r\n"
            f"To: <sip:+33123456789@203.0.113.1>;tag={self.a_tag()}\r\nCall-ID: a-leg\r\n"
            f"CSeq: {number} {method}\r\nContact: <sip:caller@192.0.2.10:5062>\r\n"
            f"Max-Forwards: 70\r\n{headers}{ctype}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        for o in self.endpoint.receive(data, CALLER, self.now):
            if isinstance(o, RequestReceived):
                return o
        return None

    def ack(self) -> list[act.Action]:
        """The caller's ACK for our 200 (CSeq 1, like its INVITE)."""
        data = (
            "ACK sip:dialtone@203.0.113.1:5060 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKack1\r\n"
            "From: <sip:+14155550100@192.0.2.10>;tag=caller\r\n"
            f"To: <sip:+33123456789@203.0.113.1>;tag={self.a_tag()}\r\nCall-ID: a-leg\r\n"
            "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        out: list[act.Action] = []
        for o in self.endpoint.receive(data, CALLER, self.now):
            if isinstance(o, AckReceived):
                out.extend(self.feed(o))
        return out

    def cancel(self) -> list[act.Action]:
        data = (
            b"CANCEL sip:+33123456789@203.0.113.1 SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKcaller1\r\n"
            b"From: <sip:+14155550100@192.0.2.10>;tag=caller\r\n"
            b"To: <sip:+33123456789@203.0.113.1>\r\nCall-ID: a-leg\r\nCSeq: 1 CANCEL\r\n"
            b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        out: list[act.Action] = []
        for o in self.endpoint.receive(data, CALLER, self.now):
            if not hasattr(o, "data"):
                out.extend(self.feed(o))  # type: ignore[arg-type]
        return out

    def answers_to_a(self) -> list[int]:
        return [
            a.response.status
            for a in self.out
            if isinstance(a, act.SendResponse) and a.transaction is self.invite.transaction
        ]

    # -- callees ----------------------------------------------------------------------

    def sent(
        self, method: str, actions: Sequence[act.Action] | None = None
    ) -> list[act.SendRequest]:
        return [
            a
            for a in (self.out if actions is None else actions)
            if isinstance(a, act.SendRequest) and a.request.method == method
        ]

    def respond(
        self,
        request: Request,
        status: int,
        *,
        tag: str = "far",
        body: bytes = b"",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> list[act.Action]:
        response = make_response(
            request,
            status,
            to_tag=tag,
            body=body,
            content_type="application/sdp" if body else None,
            extra_headers=headers,
        )
        if status < 300 and status != 100:
            response.add_header("Contact", f"<sip:{tag}@192.0.2.99:5060>")
        return self.feed(
            ResponseReceived(
                InviteClientTransaction(request, ("192.0.2.99", 5060), now=self.now), response
            )
        )

    def time_out(self, request: Request) -> list[act.Action]:
        return self.feed(
            TransactionTimedOut(
                InviteClientTransaction(request, ("192.0.2.99", 5060), now=self.now)
            )
        )

    def callee_request(
        self,
        leg_request: Request,
        method: str,
        *,
        tag: str = "far",
        cseq: int = 1,
        body: bytes = b"",
    ) -> RequestReceived:
        """A request from the callee of an outgoing leg, inside its dialog."""
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        data = (
            f"{method} sip:dialtone@203.0.113.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKcallee{method}{cseq}\r\n"
            f"From: {leg_request.headers.get('To')};tag={tag}\r\n"
            f"To: {leg_request.headers.get('From')}\r\nCall-ID: {leg_request.call_id}\r\n"
            f"CSeq: {cseq} {method}\r\nContact: <sip:{tag}@192.0.2.99:5060>\r\n"
            f"Max-Forwards: 70\r\n{ctype}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        for o in self.endpoint.receive(data, ("192.0.2.99", 5060), self.now):
            if isinstance(o, RequestReceived):
                return o
        raise AssertionError("not received")

    def answer_sdp(self, port: int = 5000) -> bytes:
        return (
            b"v=0\r\no=b 1 1 IN IP4 192.0.2.99\r\ns=-\r\nc=IN IP4 192.0.2.99\r\nt=0 0\r\n"
            + f"m=audio {port} RTP/AVP 8 101\r\n".encode()
            + b"a=rtpmap:101 telephone-event/8000\r\n"
        )

    def records(self) -> list[act.WriteRecord]:
        return [a for a in self.out if isinstance(a, act.WriteRecord)]

    def write_record(self, ok: bool = True) -> list[act.Action]:
        return self.feed(ev.RecordWritten(self.records()[-1].ref, ok))


def responses(actions: Sequence[act.Action]) -> list[int]:
    return [a.response.status for a in actions if isinstance(a, act.SendResponse)]


def kinds(actions: Sequence[act.Action]) -> list[str]:
    """A compact view of actions: "SendRequest:INVITE", "SendResponse:180", "SetTimer:ring"."""
    out = []
    for a in actions:
        if isinstance(a, act.SendRequest):
            out.append(f"req:{a.request.method}")
        elif isinstance(a, act.SendResponse):
            out.append(f"resp:{a.response.status}")
        elif isinstance(a, (act.SetTimer, act.CancelTimer)):
            out.append(f"{type(a).__name__}:{a.name}")
        else:
            out.append(type(a).__name__)
    return out
