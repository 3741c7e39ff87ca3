"""rtpengine's NG control protocol, sans-I/O (issue 19): what to send, what came back.

A request is one UDP datagram ``<cookie> <bencoded dict>`` whose dict names the
``command`` and its parameters with hyphenated keys (``call-id``, ``from-tag``); the
reply is ``<the same cookie> <bencoded dict>`` with ``result`` ("ok", "pong", "error"
with ``error-reason``). rtpengine keeps each reply by its cookie and answers a repeated
cookie with the first reply, whatever the command: a retransmission reuses the cookie
and a new request always gets a new one (:class:`Requests` hands them out, a prefix of
the caller's choosing then a counter, so cookies of a restarted controller do not meet
the cache's).

:class:`Requests` tracks the requests in flight by cookie and their retransmissions as
data: ``schedule`` is the wait after each send, the request expires after the last one.
Time comes in as ``now``. The commands dialtone uses are built by the functions below
(``offer``, ``answer``, ``delete``...), the SDP each party is described with by
:func:`party_sdp`, and a reply's packet counts are read by :func:`media_totals`.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

from dialtone.rtp.bencode import BencodeError, Encodable, Value, decode, encode

# Waits after the first send and each retransmission (seconds): 0.5 + 1 + 1.5 = 3 s in
# all before the request is given up (rtpengine on the same LAN answers in under a ms).
DEFAULT_SCHEDULE = (0.5, 1.0, 1.5)
# The largest datagram: a NG message travels in one UDP datagram.
MAX_DATAGRAM = 65507
# The flags every offer and answer carries: the SDP's address is the party's (dialtone
# is not on the media path), and rtpengine keeps its ports when a party's address
# changes (a re-INVITE, a transfer), since dialtone's own SDPs carry them.
MEDIA_FLAGS = ("trust-address", "port-latching")


def schedule(first: float, total: float) -> tuple[float, ...]:
    """The waits of a request: ``first``, then twice the last, until ``total`` has
    passed (the last wait cut to land on it). Raises ValueError unless 0 < first."""
    if first <= 0 or total <= 0:
        raise ValueError("the first wait and the total must be positive")
    waits: list[float] = []
    spent = 0.0
    wait = first
    while spent + wait < total:
        waits.append(wait)
        spent += wait
        wait *= 2
    waits.append(total - spent)
    return tuple(waits)


class NgError(ValueError):
    """A datagram that is not a NG reply."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A NG reply: its cookie and its dict (keys as text)."""

    cookie: str
    fields: dict[str, Value]

    @property
    def result(self) -> str:
        """ "ok", "pong", "error", or "load limit" (rtpengine refusing new calls)."""
        return text(self.fields.get("result", b""))

    @property
    def ok(self) -> bool:
        """Whether the command was done."""
        return self.result in ("ok", "pong")

    @property
    def error(self) -> str:
        """Why it was not (rtpengine's ``error-reason``), or the result itself."""
        reason = self.fields.get("error-reason")
        return text(reason) if reason is not None else self.result

    def get_text(self, key: str) -> str | None:
        """A string field as text, None when absent or not a string."""
        value = self.fields.get(key)
        return text(value) if isinstance(value, bytes) else None

    def get_int(self, key: str) -> int | None:
        """An integer field, None when absent or not an integer."""
        value = self.fields.get(key)
        return value if isinstance(value, int) else None


def text(value: Value) -> str:
    """A bencoded string as text (NG strings are UTF-8; anything else is an empty
    string, never an exception)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return ""


def datagram(cookie: str, command: str, params: Mapping[str, Encodable]) -> bytes:
    """The request ``command`` with ``params`` as sent under ``cookie``.

    Raises ValueError for a cookie with a space (the separator) or a message too long
    for one datagram."""
    if not cookie or " " in cookie:
        raise ValueError(f"bad cookie {cookie!r}")
    body: dict[str, Encodable] = dict(params)
    body["command"] = command
    out = cookie.encode() + b" " + encode(body)
    if len(out) > MAX_DATAGRAM:
        raise ValueError(f"NG message of {len(out)} bytes does not fit a datagram")
    return out


def parse_reply(data: bytes) -> Reply:
    """A reply datagram read. Raises NgError when it is not ``<cookie> <dict>``."""
    cookie, space, body = data.partition(b" ")
    if not space or not cookie:
        raise NgError("no cookie")
    try:
        value = decode(body)
    except BencodeError as exc:
        raise NgError(f"bad bencode: {exc}") from None
    if not isinstance(value, dict):
        raise NgError("the reply is not a dict")
    try:
        name = cookie.decode("ascii")
    except UnicodeDecodeError:
        raise NgError("the cookie is not ASCII") from None
    return Reply(name, {key.decode("utf-8", "replace"): item for key, item in value.items()})


# -- requests in flight -------------------------------------------------------------


@dataclass(slots=True)
class Pending:
    """One request in flight."""

    cookie: str
    data: bytes
    sent: int  # how many times, the first included
    deadline: float


@dataclass(frozen=True, slots=True)
class Resend:
    """Send ``data`` again (same cookie)."""

    cookie: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Expired:
    """No reply to ``cookie`` after every retransmission."""

    cookie: str


@dataclass(slots=True)
class Requests:
    """The requests in flight and their retransmission schedule.

    ``prefix`` starts every cookie (the caller draws it at random once, so that cookies
    of a restarted controller do not meet rtpengine's cache); ``schedule`` is the wait
    after each send."""

    prefix: str
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    _next: int = 0
    _pending: dict[str, Pending] = field(default_factory=dict)
    _deadlines: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.schedule or any(wait <= 0 for wait in self.schedule):
            raise ValueError("the schedule needs at least one positive wait")
        if " " in self.prefix:
            raise ValueError("a cookie prefix has no space")

    def __len__(self) -> int:
        return len(self._pending)

    def new(self, command: str, params: Mapping[str, Encodable], now: float) -> Pending:
        """A new request: its cookie (never used before) and the datagram to send now."""
        self._next += 1
        cookie = f"{self.prefix}{self._next:x}"
        pending = Pending(cookie, datagram(cookie, command, params), 1, now + self.schedule[0])
        self._pending[cookie] = pending
        heapq.heappush(self._deadlines, (pending.deadline, cookie))
        return pending

    def received(self, data: bytes) -> Reply | None:
        """A datagram from rtpengine: the reply to a request in flight (no longer in
        flight), or None for a late duplicate or a stranger's cookie. Raises NgError for
        a datagram that is not a reply."""
        reply = parse_reply(data)
        if self._pending.pop(reply.cookie, None) is None:
            return None
        return reply

    def forget(self, cookie: str) -> None:
        """Stop waiting for ``cookie`` (its caller gave up)."""
        self._pending.pop(cookie, None)

    def due(self, now: float) -> list[Resend | Expired]:
        """What is due at ``now``: datagrams to send again and requests given up."""
        out: list[Resend | Expired] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, cookie = heapq.heappop(self._deadlines)
            pending = self._pending.get(cookie)
            if pending is None or pending.deadline != deadline:
                continue  # answered or forgotten since
            if pending.sent >= len(self.schedule):
                del self._pending[cookie]
                out.append(Expired(cookie))
                continue
            pending.deadline = deadline + self.schedule[pending.sent]
            pending.sent += 1
            heapq.heappush(self._deadlines, (pending.deadline, cookie))
            out.append(Resend(cookie, pending.data))
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`due` next has something, None when nothing is in flight."""
        while self._deadlines:
            deadline, cookie = self._deadlines[0]
            pending = self._pending.get(cookie)
            if pending is not None and pending.deadline == deadline:
                return deadline
            heapq.heappop(self._deadlines)
        return None


# -- the commands dialtone sends ----------------------------------------------------


def party_sdp(
    address: str,
    port: int,
    *,
    payload_type: int,
    codec: str,
    telephone_event: int | None,
    version: int,
) -> str:
    """The SDP rtpengine is told one party has: where it receives and what it speaks.

    dialtone writes the SDPs the parties see itself (from rtpengine's ports), so these
    only carry what rtpengine needs; an unknown party is ``0.0.0.0`` port 9, which
    rtpengine does not send to until the party is known or sends first."""
    family = "IP6" if ":" in address else "IP4"
    formats = f"{payload_type}" if telephone_event is None else f"{payload_type} {telephone_event}"
    lines = [
        "v=0",
        f"o=- 1 {version} IN {family} {address}",
        "s=-",
        f"c=IN {family} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {formats}",
        f"a=rtpmap:{payload_type} {codec}/8000",
    ]
    if telephone_event is not None:
        lines += [
            f"a=rtpmap:{telephone_event} telephone-event/8000",
            f"a=fmtp:{telephone_event} 0-16",
        ]
    lines.append("a=sendrecv")
    return "\r\n".join(lines) + "\r\n"


def _media(call_id: str, from_tag: str, sdp: str) -> dict[str, Encodable]:
    return {
        "call-id": call_id,
        "from-tag": from_tag,
        "sdp": sdp,
        "flags": list(MEDIA_FLAGS),
        "ICE": "remove",
        "transport-protocol": "RTP/AVP",
    }


def offer(call_id: str, from_tag: str, sdp: str) -> tuple[str, dict[str, Encodable]]:
    """``offer``: the caller (``from_tag``) and its SDP; the reply's SDP carries the
    port rtpengine gives the callee."""
    return "offer", _media(call_id, from_tag, sdp)


def answer(call_id: str, from_tag: str, to_tag: str, sdp: str) -> tuple[str, dict[str, Encodable]]:
    """``answer``: the callee (``to_tag``) and its SDP; the reply's SDP carries the port
    rtpengine gives the caller. Repeated to tell a callee's new address."""
    params = _media(call_id, from_tag, sdp)
    params["to-tag"] = to_tag
    return "answer", params


def delete(call_id: str, from_tag: str) -> tuple[str, dict[str, Encodable]]:
    """``delete`` the whole call; with the from-tag the reply carries its totals."""
    return "delete", {"call-id": call_id, "from-tag": from_tag}


def query(call_id: str) -> tuple[str, dict[str, Encodable]]:
    """``query``: the call's streams and totals."""
    return "query", {"call-id": call_id}


def start_recording(call_id: str) -> tuple[str, dict[str, Encodable]]:
    """``start recording``: from now, the packets received from each party go to the
    call's pcap under rtpengine's recording directory."""
    return "start recording", {"call-id": call_id}


def stop_recording(call_id: str) -> tuple[str, dict[str, Encodable]]:
    """``stop recording``: no more packets recorded; the pcap is written out."""
    return "stop recording", {"call-id": call_id}


def play_media(
    call_id: str,
    *,
    blob: bytes | None = None,
    file: str | None = None,
    listener: str | None = None,
) -> tuple[str, dict[str, Encodable]]:
    """``play media``: a WAV (``blob``, its bytes; or ``file``, a path on rtpengine's
    machine) to the party whose tag is ``listener`` (rtpengine's from-tag names the
    party that hears it), or to every party when None. The reply's ``duration`` is in ms."""
    params: dict[str, Encodable] = {"call-id": call_id}
    if (blob is None) == (file is None):
        raise ValueError("play media wants a blob or a file")
    if blob is not None:
        params["blob"] = blob
    if file is not None:
        params["file"] = file
    if listener is None:
        params["flags"] = ["all"]
    else:
        params["from-tag"] = listener
    return "play media", params


def stop_media(call_id: str, listener: str | None = None) -> tuple[str, dict[str, Encodable]]:
    """``stop media``: end what ``play media`` plays (to every party when None)."""
    params: dict[str, Encodable] = {"call-id": call_id}
    if listener is None:
        params["flags"] = ["all"]
    else:
        params["from-tag"] = listener
    return "stop media", params


def block_media(call_id: str) -> tuple[str, dict[str, Encodable]]:
    """``block media`` from every party: nothing is forwarded (what ``play media`` plays
    still goes out). rtpengine otherwise passes a party's audio on over a prompt."""
    return "block media", {"call-id": call_id, "flags": ["all"]}


def unblock_media(call_id: str) -> tuple[str, dict[str, Encodable]]:
    """``unblock media``: forwarding again after :func:`block_media`."""
    return "unblock media", {"call-id": call_id, "flags": ["all"]}


def ping() -> tuple[str, dict[str, Encodable]]:
    """``ping``: answered ``pong``."""
    return "ping", {}


def answered_port(reply: Reply) -> int:
    """The audio port in a reply's SDP (offer: the callee's; answer: the caller's).

    Raises NgError when the reply carries none."""
    sdp = reply.get_text("sdp")
    if sdp is None:
        raise NgError(f"no SDP in the reply ({reply.error})")
    for line in sdp.splitlines():
        if line.startswith("m=audio "):
            parts = line.split()
            if len(parts) > 1 and parts[1].isdigit():
                return int(parts[1])
    raise NgError("no audio port in the reply's SDP")


# -- what replies tell of the media ------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaTotals:
    """A call's packets as rtpengine counted them (``query`` or ``delete`` replies):
    what the metrics part reads for media packets and errors (issue 19 item 6)."""

    rtp_packets: int = 0
    rtp_bytes: int = 0
    rtp_errors: int = 0
    rtcp_packets: int = 0
    rtcp_bytes: int = 0
    rtcp_errors: int = 0

    def __add__(self, other: MediaTotals) -> MediaTotals:
        return MediaTotals(
            self.rtp_packets + other.rtp_packets,
            self.rtp_bytes + other.rtp_bytes,
            self.rtp_errors + other.rtp_errors,
            self.rtcp_packets + other.rtcp_packets,
            self.rtcp_bytes + other.rtcp_bytes,
            self.rtcp_errors + other.rtcp_errors,
        )


def media_totals(reply: Reply) -> MediaTotals | None:
    """The ``totals`` of a query or delete reply, None when it has none."""
    totals = reply.fields.get("totals")
    if not isinstance(totals, dict):
        return None
    rtp = _counts(totals.get(b"RTP"))
    rtcp = _counts(totals.get(b"RTCP"))
    return MediaTotals(rtp[0], rtp[1], rtp[2], rtcp[0], rtcp[1], rtcp[2])


def _counts(value: Value | None) -> tuple[int, int, int]:
    if not isinstance(value, dict):
        return 0, 0, 0
    out = []
    for key in (b"packets", b"bytes", b"errors"):
        item = value.get(key)
        out.append(item if isinstance(item, int) else 0)
    return out[0], out[1], out[2]
