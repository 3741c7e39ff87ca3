"""Nothing acknowledged is lost: after kill -9, every call whose BYE got a 200 has its CDR.

A plain UDP socket plays the phone (INVITE, ACK, BYE) so the test knows exactly which
hang-ups the server acknowledged before it died.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

from .conftest import Platform, free_port, provision, start_platform, stop_platform

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
    platform = start_platform(tmp_path, ring_seconds="0")
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

    # The same data directory, a fresh process: SQLite recovers its WAL on open.
    restarted = start_platform(tmp_path, ring_seconds="0")
    try:
        with restarted.http(platform.api_key) as http:
            calls = http.get("/v1/calls", params={"limit": 500}).json()["calls"]
    finally:
        assert stop_platform(restarted) == 0
    stored = [c["sip_call_id"] for c in calls]
    missing = [c for c in acknowledged if c not in stored]
    assert missing == [], f"acknowledged but not stored: {missing}"
    assert len(stored) == len(set(stored)), "duplicated CDRs"
    assert all(c["status"] == "completed" for c in calls)
