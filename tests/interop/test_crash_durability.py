"""Nothing acknowledged is lost: after kill -9, every call whose BYE got a 200 has its CDR.

Plain UDP sockets play the phones (INVITE, ACK, BYE) so the test knows exactly which
hang-ups the server acknowledged before it died: first for calls the platform answers
itself (the greeting), then for calls the call engine bridges to a registered phone.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import secrets
import signal
import socket
import threading
import time
import wave
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.programs import postgres

from .conftest import Platform, free_port, provision, start_platform, stop_platform

pytestmark = pytest.mark.interop

SDP = (
    b"v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 9 RTP/AVP 0\r\n"
)


def _message(
    method: str, platform: Platform, port: int, call_id: str, *, cseq: int, to_tag: str = ""
) -> bytes:
    to = "<sip:+33123456789@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    body = SDP if method == "INVITE" else b""
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return (
        f"{method} sip:+33123456789@127.0.0.1:{platform.sip_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{method}{call_id}\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:+14155550100@127.0.0.1>;tag=phone\r\n"
        f"To: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
        f"Contact: <sip:phone@127.0.0.1:{port}>\r\n{ctype}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _one_call(platform: Platform, sock: socket.socket, call_id: str) -> bool:
    """Place and end one call; True when the server answered the BYE with 200."""
    port = sock.getsockname()[1]
    target = ("127.0.0.1", platform.sip_port)
    sock.sendto(_message("INVITE", platform, port, call_id, cseq=1), target)
    to_tag = ""
    while not to_tag:
        reply = sock.recv(65535)
        if call_id.encode() not in reply:
            continue
        status = int(reply.split(b" ", 2)[1])
        if status >= 300:
            return False
        if status == 200:
            line = next(ln for ln in reply.split(b"\r\n") if ln.lower().startswith(b"to:"))
            to_tag = line.split(b"tag=")[1].split(b";")[0].decode()
    sock.sendto(_message("ACK", platform, port, call_id, cseq=1, to_tag=to_tag), target)
    sock.sendto(_message("BYE", platform, port, call_id, cseq=2, to_tag=to_tag), target)
    while True:
        reply = sock.recv(65535)
        if call_id.encode() in reply and b" BYE\r\n" in reply:
            return reply.startswith(b"SIP/2.0 200 ")


def test_kill_9_loses_no_acknowledged_call(tmp_path: Path) -> None:
    _kill_9_mid_traffic(tmp_path)


@pytest.mark.interop
def test_kill_9_on_postgresql_loses_no_acknowledged_call(tmp_path: Path) -> None:
    """The same on PostgreSQL (issue 19), as shipped: fsync and synchronous_commit on. The
    database is killed too (every PostgreSQL process, SIGKILL) right after dialtone, and
    started again: what dialtone acknowledged was committed, so WAL replay brings it back."""
    with postgres.cluster(durable=True) as cluster:
        url = cluster.create_database("dialtone")

        def crash_the_database() -> None:
            cluster.kill()
            cluster.restart()

        _kill_9_mid_traffic(tmp_path, after_kill=crash_the_database, database_url=url)


def _kill_9_mid_traffic(
    tmp_path: Path, after_kill: Callable[[], None] | None = None, **settings: str
) -> None:
    platform = start_platform(tmp_path, ring_seconds="0", **settings)
    provision(platform)
    acknowledged: list[str] = []
    stop = threading.Event()

    def phone() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", free_port()))
            sock.settimeout(2)
            n = 0
            while not stop.is_set():
                n += 1
                call_id = f"crash-{n}"
                try:
                    if _one_call(platform, sock, call_id):
                        acknowledged.append(call_id)
                except (TimeoutError, OSError):
                    return  # the server died mid-call

    worker = threading.Thread(target=phone)
    worker.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    platform.process.send_signal(signal.SIGKILL)
    platform.process.wait()
    stop.set()
    worker.join(timeout=10)
    assert len(acknowledged) >= 15, platform.log()
    if after_kill is not None:
        after_kill()

    # The same data directory (and database), a fresh process: SQLite recovers its WAL on
    # open; PostgreSQL replayed its own at its restart.
    restarted = start_platform(tmp_path, ring_seconds="0", **settings)
    try:
        with restarted.http(platform.api_key) as http:
            calls = http.get("/v1/calls", params={"limit": 500}).json()["calls"]
    finally:
        assert stop_platform(restarted) == 0
    stored = [c["sip_call_id"] for c in calls]
    missing = [c for c in acknowledged if c not in stored]
    assert missing == [], f"acknowledged but not stored: {missing}"
    assert len(stored) == len(set(stored)), "duplicated CDRs"
    assert all(c["status"] == "completed" for c in calls if c["sip_call_id"] in acknowledged)
    # The call the kill cut (recorded by the answering machine) is on record too (D5).
    assert all(c["status"] in ("completed", "interrupted") for c in calls), calls


# -- bridged calls (the call engine) ------------------------------------------------------
#
# The same guarantee for calls the B2BUA carries: the number rings a user whose phone (a
# raw UDP socket that REGISTERs with digest) answers. Half of the calls are hung up by the
# caller, half by the phone, so both BYE paths of the bridge are crossed by the kill.

PASSWORD = "correct-horse-1"
CALLS = 50  # calls to place; the kill comes before the last ones are
KILL_AFTER = 25  # calls known ended when the server is killed: the middle of the run
CALLERS = 5  # caller threads, each with its own socket, one call at a time
COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
}


class _Msg:
    """A received SIP message: start line, headers (lower-case names, in order), body."""

    def __init__(self, data: bytes) -> None:
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        self.start = lines[0]
        self.headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            self.headers.append((COMPACT.get(name, name), value.strip()))

    def get(self, name: str) -> str:
        return next((v for n, v in self.headers if n == name), "")

    @property
    def is_response(self) -> bool:
        return self.start.startswith("SIP/2.0 ")

    @property
    def status(self) -> int:
        return int(self.start.split(" ", 2)[1]) if self.is_response else 0

    @property
    def method(self) -> str:
        """The request's method, or for a response the method of its CSeq."""
        return self.get("cseq").split()[-1] if self.is_response else self.start.split(" ")[0]

    @property
    def call_id(self) -> str:
        return self.get("call-id")

    def to_tag(self) -> str:
        match = re.search(r";\s*tag=([^;>\s]+)", self.get("to"))
        return match.group(1) if match else ""

    def contact_uri(self) -> str:
        value = self.get("contact")
        return value[value.index("<") + 1 : value.index(">")] if "<" in value else value

    def reply(self, status: int, reason: str, *, to_tag: str = "", extra: str = "") -> bytes:
        """A response echoing Via, From, To (tagged with ``to_tag`` if untagged), Call-ID
        and CSeq (RFC 3261 §8.2.6); ``extra`` is more header lines, then an SDP body if
        the response is a 200 to INVITE."""
        to = self.get("to")
        if to_tag and not self.to_tag():
            to += f";tag={to_tag}"
        body = SDP if status == 200 and self.method == "INVITE" else b""
        vias = "".join(f"Via: {v}\r\n" for n, v in self.headers if n == "via")
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        return (
            f"SIP/2.0 {status} {reason}\r\n{vias}From: {self.get('from')}\r\nTo: {to}\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: {self.get('cseq')}\r\n{extra}{ctype}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body


def _request(
    method: str,
    uri: str,
    port: int,
    *,
    from_: str,
    to: str,
    call_id: str,
    cseq: int,
    branch: str,
    extra: str = "",
) -> bytes:
    """A request from the UA on ``port``; INVITE carries our SDP offer."""
    body = SDP if method == "INVITE" else b""
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return (
        f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{branch}\r\n"
        f"Max-Forwards: 70\r\nFrom: {from_}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n{extra}{ctype}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _digest(challenge: str, *, method: str, uri: str, user: str, password: str) -> str:
    """The Authorization value answering one digest challenge (RFC 7616, MD5 or SHA-256),
    computed here rather than with the server's own code so a shared bug cannot hide."""
    params: dict[str, str] = {}
    for key, quoted, key2, bare in re.findall(r'(\w+)="([^"]*)"|(\w+)=([^\s,"]+)', challenge):
        params[key or key2] = quoted if key else bare
    algorithm = params.get("algorithm", "MD5")
    name = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"

    def h(text: str) -> str:
        return hashlib.new(name, text.encode()).hexdigest()

    realm, nonce = params["realm"], params["nonce"]
    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    nc, cnonce = "00000001", secrets.token_hex(8)
    response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", algorithm={algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}"'
    )


@dataclass
class _Incoming:
    """One call the phone took: the B leg, and what the phone's own BYE needs."""

    a_call_id: str  # the caller's Call-ID, carried here in the From display name
    answer: bytes  # our 200, sent again if the INVITE is retransmitted
    bye: bytes
    bye_at: float | None = None
    bye_sent: float = 0.0


class _Phone:
    """The user's registered phone: answers every INVITE at once, answers BYEs, and hangs
    up itself (20 ms after the ACK) the calls whose caller's Call-ID ends in ``-callee``."""

    def __init__(self, platform: Platform, user: str) -> None:
        self.platform = platform
        self.user = user
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.contact = f"<sip:{user}@127.0.0.1:{self.port}>"
        self.calls: dict[str, _Incoming] = {}
        self.acknowledged: list[str] = []  # caller Call-IDs whose phone BYE got 200
        self.stop = threading.Event()

    def register(self) -> None:
        """REGISTER, answer the 401's digest challenge, expect 200."""
        uri = f"sip:127.0.0.1:{self.platform.sip_port}"
        aor = f"<sip:{self.user}@127.0.0.1>"
        target = ("127.0.0.1", self.platform.sip_port)
        self.sock.settimeout(5)
        authorization = ""
        for cseq in (1, 2):
            extra = f"Contact: {self.contact}\r\nExpires: 600\r\n{authorization}"
            self.sock.sendto(
                _request(
                    "REGISTER",
                    uri,
                    self.port,
                    from_=f"{aor};tag=reg",
                    to=aor,
                    call_id=f"register-{self.port}",
                    cseq=cseq,
                    branch=f"reg{cseq}",
                    extra=extra,
                ),
                target,
            )
            reply = _Msg(self.sock.recv(65535))
            while reply.status < 200:
                reply = _Msg(self.sock.recv(65535))
            if reply.status == 200:
                return
            assert reply.status == 401, reply.start
            value = _digest(
                reply.get("www-authenticate"),
                method="REGISTER",
                uri=uri,
                user=self.user,
                password=PASSWORD,
            )
            authorization = f"Authorization: {value}\r\n"
        raise AssertionError("REGISTER with credentials was not accepted")

    def run(self) -> None:
        self.sock.settimeout(0.01)
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                pass
            except OSError:
                return
            else:
                self._handle(_Msg(data), peer)
            now = time.monotonic()
            for call in self.calls.values():
                # Our BYE, sent again every 0.5 s until answered (RFC 3261 timer E).
                if call.bye_at is not None and now >= call.bye_at and now - call.bye_sent > 0.5:
                    call.bye_sent = now
                    self.sock.sendto(call.bye, ("127.0.0.1", self.platform.sip_port))

    def _handle(self, msg: _Msg, peer: tuple[str, int]) -> None:
        call = self.calls.get(msg.call_id)
        if msg.is_response:
            if call is not None and msg.method == "BYE" and msg.status >= 200:
                call.bye_at = None
                if msg.status == 200:
                    self.acknowledged.append(call.a_call_id)
            return
        if msg.method == "INVITE" and call is None:
            display = re.match(r'\s*"([^"]*)"', msg.get("from"))
            tag = f"ph{zlib.crc32(msg.call_id.encode()):x}"
            contact = f"Contact: {self.contact}\r\n"
            call = _Incoming(
                a_call_id=display.group(1) if display else "",
                answer=msg.reply(200, "OK", to_tag=tag, extra=contact),
                bye=_request(
                    "BYE",
                    msg.contact_uri(),
                    self.port,
                    from_=f"{msg.get('to')};tag={tag}",
                    to=msg.get("from"),
                    call_id=msg.call_id,
                    cseq=1,
                    branch=f"bye{tag}",
                ),
            )
            self.calls[msg.call_id] = call
        if msg.method == "INVITE" and call is not None:
            self.sock.sendto(call.answer, peer)
        elif msg.method == "ACK":
            if call is not None and call.a_call_id.endswith("-callee") and not call.bye_sent:
                call.bye_at = time.monotonic() + 0.02
        else:
            # BYE from the platform (the caller hung up), or anything else: 200.
            if call is not None and msg.method == "BYE":
                call.bye_at = None
            self.sock.sendto(msg.reply(200, "OK"), peer)


class _Caller:
    """One calling phone: places calls one after the other on its own socket."""

    def __init__(self, platform: Platform, stop: threading.Event) -> None:
        self.platform = platform
        self.stop = stop
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port: int = self.sock.getsockname()[1]
        self.target = ("127.0.0.1", platform.sip_port)
        self.placed: list[str] = []
        self.acknowledged: list[str] = []  # our BYE got 200
        self.hung_up_on: list[str] = []  # the platform's BYE reached us
        self.refused: list[str] = []

    def _wait(self, call_id: str, resend: bytes | None, deadline: float) -> _Msg | None:
        """The next message of ``call_id``; ``resend`` is sent again on each 0.5 s of
        silence (timer A/E); None once the server is gone or the test stops."""
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                msg = _Msg(self.sock.recv(65535))
            except TimeoutError:
                if resend is not None:
                    self.sock.sendto(resend, self.target)
                continue
            except OSError:
                return None
            if msg.call_id == call_id:
                return msg
        return None

    def call(self, n: int) -> bool:
        """Place call ``n`` and end it; False when the platform stopped answering."""
        hang_up = "caller" if n % 2 == 0 else "callee"
        call_id = f"bridged-{n}-{hang_up}"
        self.placed.append(call_id)
        number = self.platform.number
        ruri = f"sip:{number}@127.0.0.1:{self.platform.sip_port}"
        # The display name carries our Call-ID to the phone on the other leg.
        from_ = f'"{call_id}" <sip:+14155550100@127.0.0.1>;tag=a{n}'
        to = f"<sip:{number}@127.0.0.1>"
        contact = f"Contact: <sip:caller@127.0.0.1:{self.port}>\r\n"
        invite = _request(
            "INVITE",
            ruri,
            self.port,
            from_=from_,
            to=to,
            call_id=call_id,
            cseq=1,
            branch=f"inv{n}",
            extra=contact,
        )
        self.sock.sendto(invite, self.target)
        deadline = time.monotonic() + 5
        resend: bytes | None = invite
        while True:
            msg = self._wait(call_id, resend, deadline)
            if msg is None:
                return False
            if msg.is_response and msg.method == "INVITE":
                resend = None  # a provisional answer stops INVITE retransmissions
                if msg.status >= 300:
                    self.refused.append(f"{call_id}: {msg.start}")
                    return True
                if msg.status == 200:
                    break
        to_tagged = msg.get("to")
        remote = msg.contact_uri()
        ack = _request(
            "ACK",
            remote,
            self.port,
            from_=from_,
            to=to_tagged,
            call_id=call_id,
            cseq=1,
            branch=f"ack{n}",
        )
        self.sock.sendto(ack, self.target)
        deadline = time.monotonic() + 5
        bye: bytes | None = None
        if hang_up == "caller":
            bye = _request(
                "BYE",
                remote,
                self.port,
                from_=from_,
                to=to_tagged,
                call_id=call_id,
                cseq=2,
                branch=f"bye{n}",
            )
            self.sock.sendto(bye, self.target)
        while True:
            msg = self._wait(call_id, bye, deadline)
            if msg is None:
                return False
            if msg.is_response and msg.method == "INVITE":
                self.sock.sendto(ack, self.target)  # our ACK was lost: the 200 came again
            elif msg.is_response and msg.method == "BYE":
                if msg.status == 200:
                    self.acknowledged.append(call_id)
                return True
            elif msg.method == "BYE":
                self.sock.sendto(msg.reply(200, "OK"), self.target)
                self.hung_up_on.append(call_id)
                return True


def test_kill_9_loses_no_acknowledged_bridged_call(tmp_path: Path) -> None:
    # SHA-256 offered first: the phone answers it (the default offers MD5 only).
    platform = start_platform(tmp_path, digest_algorithms="SHA-256,MD5")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    phone: _Phone | None = None
    callers: list[_Caller] = []
    try:
        provision(platform)
        with platform.http() as http:
            made = http.post(
                "/v1/users",
                json={
                    "name": "Alice",
                    "extension": "201",
                    "sip_username": "alice",
                    "sip_password": PASSWORD,
                    # Room for every caller at once (one call per user by default, TERMS V2).
                    "channels": CALLERS * 2,
                },
            )
            assert made.status_code == 201, made.text
            user_id = made.json()["id"]
            routed = http.put(
                f"/v1/numbers/{platform.number}/route", json={"kind": "user", "target": user_id}
            )
            assert routed.status_code == 200, routed.text
        phone = _Phone(platform, "alice")
        phone.register()
        threads.append(threading.Thread(target=phone.run))
        numbers = itertools.count()
        lock = threading.Lock()

        def place(caller: _Caller) -> None:
            while not stop.is_set():
                with lock:
                    n = next(numbers)
                if n >= CALLS or not caller.call(n):
                    return

        callers = [_Caller(platform, stop) for _ in range(CALLERS)]
        threads += [threading.Thread(target=place, args=(c,)) for c in callers]
        for thread in threads:
            thread.start()

        def ended() -> set[str]:
            """Calls whose end the platform acknowledged: the BYE of either side got its
            200 (the platform's BYE to the caller is sent only after that 200 too)."""
            assert phone is not None
            done = set(phone.acknowledged)
            for c in callers:
                done.update(c.acknowledged, c.hung_up_on)
            return done

        deadline = time.monotonic() + 20
        while len(ended()) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.005)
        platform.process.send_signal(signal.SIGKILL)
        platform.process.wait()
    finally:
        if platform.process.poll() is None:
            platform.process.kill()
            platform.process.wait()
        stop.set()
        if phone is not None:
            phone.stop.set()
        for thread in threads:
            thread.join(timeout=10)
        for sock in [c.sock for c in callers] + ([phone.sock] if phone else []):
            sock.close()
    first_log = platform.log()
    acknowledged = ended()
    refused = [r for c in callers for r in c.refused]
    assert len(acknowledged) >= KILL_AFTER, f"refused: {refused}\n{first_log[-5000:]}"
    placed = {call_id for c in callers for call_id in c.placed}
    assert len(placed) < CALLS, "every call was placed before the kill: not in the middle"

    # The same data directory, a fresh process: SQLite recovers its WAL on open.
    restarted = start_platform(tmp_path, digest_algorithms="SHA-256,MD5")
    try:
        with restarted.http(platform.api_key) as http:
            calls: list[dict[str, Any]] = http.get("/v1/calls", params={"limit": 500}).json()[
                "calls"
            ]
    finally:
        assert stop_platform(restarted) == 0
    by_call_id = {c["sip_call_id"]: c for c in calls}
    missing = sorted(acknowledged - by_call_id.keys())
    assert missing == [], f"acknowledged but not stored: {missing}\n{first_log[-5000:]}"
    assert len(by_call_id) == len(calls), "duplicated CDRs (one SIP call, two records)"
    assert len({c["id"] for c in calls}) == len(calls), "duplicated CDR ids"
    assert by_call_id.keys() <= placed, "CDRs of calls nobody placed"
    for call_id in acknowledged:
        cdr = by_call_id[call_id]
        assert cdr["status"] == "completed", cdr
        assert cdr["direction"] == "inbound", cdr
        # The side named in our Call-ID hung up; the CDR says so.
        side = call_id.rsplit("-", 1)[1]
        assert cdr["hangup_cause"] == f"{side}-bye", cdr
        # The leg chain (TERMS V11): the outside caller, then alice's registered phone.
        assert [leg["kind"] for leg in cdr["legs"]] == ["public", "device"], cdr
        assert cdr["legs"][1]["id"] == user_id, cdr
        assert cdr["legs"][1]["source"] == f"udp:127.0.0.1:{phone.port}", cdr
    print(
        f"{len(placed)} calls placed, {len(acknowledged)} acknowledged before the kill, "
        f"{len(calls)} CDRs after the restart"
    )


# -- recordings (TERMS D5: no plain audio survives a crash) ------------------------------
#
# A recorded call: one the platform answers itself (the answering machine records the
# caller, mono) or one it bridges to a registered phone for an account that records
# (the relay records both legs, stereo). The process is killed while the caller talks:
# what it leaves on disk is ciphertext only, and the next start keeps the complete part
# of the recording, sealed, linked to the call's CDR marked interrupted, and leaves no
# empty file.

# A recognisable PCMU payload: its decoded samples must never show on disk in the clear.
VOICE = bytes((i * 37 + 11) % 256 for i in range(160))
CHUNK = 16 * 1024  # a recording's sealed chunk (runtime.sealing.RECORDING_CHUNK)


def _offer(rtp_port: int) -> bytes:
    return (
        "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP 0\r\n"
    ).encode()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _assert_no_plain_audio(folder: Path, patterns: tuple[bytes, ...]) -> None:
    for path in _files(folder):
        raw = path.read_bytes()
        assert not raw.startswith(b"RIFF"), f"{path} is a plain WAV"
        for pattern in patterns:
            assert pattern not in raw, f"{path} holds plain PCM"


def _bridged_to_a_phone(platform: Platform) -> _Phone:
    """The number rings alice's registered phone, and the account records (V8: one
    party's consent, New York to New York, so no notice delays the recording)."""
    with platform.http() as http:
        changed = http.patch("/v1/account", json={"recording_policy": "one_party"})
        assert changed.status_code == 200, changed.text
        made = http.post(
            "/v1/users",
            json={
                "name": "Alice",
                "extension": "201",
                "sip_username": "alice",
                "sip_password": PASSWORD,
            },
        )
        assert made.status_code == 201, made.text
        routed = http.put(
            f"/v1/numbers/{platform.number}/route",
            json={"kind": "user", "target": made.json()["id"]},
        )
        assert routed.status_code == 200, routed.text
    phone = _Phone(platform, "alice")
    phone.register()
    return phone


@pytest.mark.interop
@pytest.mark.parametrize("bridged", [False, True], ids=["answering-machine", "bridged"])
def test_kill_9_mid_call_leaves_no_plain_audio_and_the_call_its_record(
    tmp_path: Path, bridged: bool
) -> None:
    from dialtone.codecs.g711 import decoder_for
    from dialtone.rtp.packet import RtpPacket

    platform = start_platform(tmp_path, ring_seconds="0")
    phone: _Phone | None = None
    thread: threading.Thread | None = None
    pcm = decoder_for("PCMU")(VOICE)[:64]
    # In a stereo file the caller's samples alternate with the callee's (silence here).
    stereo = b"".join(pcm[i : i + 2] + b"\x00\x00" for i in range(0, 32, 2))
    patterns = (pcm, stereo)
    caller, call_id = "+12125550100", "recorded-crash"
    try:
        provision(platform, number="+12125550199")
        folder = platform.data_dir / "recordings" / platform.account_id
        if bridged:
            phone = _bridged_to_a_phone(platform)
            thread = threading.Thread(target=phone.run)
            thread.start()
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sip,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp,
        ):
            sip.bind(("127.0.0.1", 0))
            rtp.bind(("127.0.0.1", 0))
            sip.settimeout(10)
            port = sip.getsockname()[1]
            target = ("127.0.0.1", platform.sip_port)
            ruri = f"sip:{platform.number}@127.0.0.1:{platform.sip_port}"
            from_, to = f"<sip:{caller}@127.0.0.1>;tag=crash", f"<sip:{platform.number}@127.0.0.1>"
            offer = _offer(rtp.getsockname()[1])
            invite = (
                _request(
                    "INVITE",
                    ruri,
                    port,
                    from_=from_,
                    to=to,
                    call_id=call_id,
                    cseq=1,
                    branch="crashinv",
                    extra=f"Contact: <sip:caller@127.0.0.1:{port}>\r\n",
                )
                .replace(SDP, offer)
                .replace(
                    f"Content-Length: {len(SDP)}".encode(), f"Content-Length: {len(offer)}".encode()
                )
            )
            sip.sendto(invite, target)
            answer = _Msg(sip.recv(65535))
            while answer.status < 200:
                answer = _Msg(sip.recv(65535))
            assert answer.status == 200, answer.start
            found = re.search(rb"m=audio (\d+)", answer.body)
            assert found is not None, answer.body
            ack = _request(
                "ACK",
                answer.contact_uri() or ruri,
                port,
                from_=from_,
                to=answer.get("to"),
                call_id=call_id,
                cseq=1,
                branch="crashack",
            )
            sip.sendto(ack, target)
            # The caller talks: 6 s of audio (several sealed chunks), sent faster than
            # real time; the recording is written as the packets arrive.
            for seq in range(300):
                packet = RtpPacket(
                    payload_type=0, sequence_number=seq, timestamp=seq * 160, ssrc=5, payload=VOICE
                )
                rtp.sendto(bytes(packet), ("127.0.0.1", int(found.group(1))))
                time.sleep(0.002)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                written = [p for p in _files(folder) if ".wav" in p.name]
                if written and written[0].stat().st_size >= 3 * CHUNK:
                    break
                time.sleep(0.05)
            [recording] = [p for p in _files(folder) if ".wav" in p.name]
            assert recording.stat().st_size >= 3 * CHUNK, platform.log()[-3000:]
            _assert_no_plain_audio(folder, patterns)  # while the call is live, too
            platform.process.send_signal(signal.SIGKILL)
            platform.process.wait()
    finally:
        if platform.process.poll() is None:
            platform.process.kill()
            platform.process.wait()
        if phone is not None:
            phone.stop.set()
            if thread is not None:
                thread.join(timeout=10)
            phone.sock.close()

    # What the crash left: ciphertext only (the recording cut short and the call's note).
    _assert_no_plain_audio(platform.data_dir, patterns)
    restarted = start_platform(tmp_path, ring_seconds="0")
    try:
        with restarted.http(platform.api_key) as http:
            calls: list[dict[str, Any]] = http.get("/v1/calls").json()["calls"]
            [cdr] = [c for c in calls if c["sip_call_id"] == call_id]
            assert (cdr["status"], cdr["hangup_cause"]) == ("interrupted", "interrupted"), cdr
            assert (cdr["from"], cdr["to"]) == (caller, platform.number), cdr
            assert cdr["recording_url"], cdr
            audio = http.get(cdr["recording_url"])
            assert audio.status_code == 200, audio.text
    finally:
        assert stop_platform(restarted) == 0
    with wave.open(io.BytesIO(audio.content)) as wav:
        channels = wav.getnchannels()
        assert (channels, wav.getframerate()) == (2 if bridged else 1, 8000)
        frames = wav.readframes(wav.getnframes())
    # The complete chunks are kept: the voice is in them (the caller is the left side).
    assert len(frames) >= 2 * CHUNK, len(frames)
    left = b"".join(frames[i : i + 2] for i in range(0, len(frames), 2 * channels))
    assert pcm in left
    files = _files(platform.data_dir / "recordings")
    assert [p.name for p in files] == [f"{cdr['id']}.wav.sealed"], files
    assert all(p.stat().st_size > 0 for p in files)
    _assert_no_plain_audio(platform.data_dir, patterns)
    assert "recordings recovered after a crash" in restarted.log()
