"""The health probe's failure paths (its success is shown against the running server in
tests/interop/test_billing_e2e.py)."""

from __future__ import annotations

import socket
from collections import deque

from dialtone.outside.health_probe import (
    FakeHealthProbe,
    HealthProbe,
    NetworkHealthProbe,
    ProbeResult,
    http_health,
    probe,
    sip_options,
)


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nothing_listening_is_down() -> None:
    udp, tcp = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    assert sip_options("127.0.0.1", udp, timeout=0.3)[0] is False
    assert http_health(f"http://127.0.0.1:{tcp}/healthz", timeout=0.3)[0] is False
    assert probe("127.0.0.1", udp, f"http://127.0.0.1:{tcp}/healthz", timeout=0.3).ok is False


def test_a_reply_that_is_not_sip_is_down() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        server.settimeout(2)

        import threading

        def answer() -> None:
            _, peer = server.recvfrom(65535)
            server.sendto(b"HTTP/1.1 200 OK\r\n\r\n", peer)

        thread = threading.Thread(target=answer)
        thread.start()
        ok, detail = sip_options("127.0.0.1", port, timeout=2)
        thread.join()
    assert ok is False
    assert "not a SIP response" in detail


def test_the_network_probe_is_the_probe_behind_the_protocol() -> None:
    udp, tcp = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    real: HealthProbe = NetworkHealthProbe()
    result = real.probe("127.0.0.1", udp, f"http://127.0.0.1:{tcp}/healthz", timeout=0.3)
    assert (result.sip, result.http, result.ok) == (False, False, False)


def test_the_fake_plays_its_script_then_is_up() -> None:
    down = ProbeResult(sip=False, http=True, detail="sip: timeout")
    fake: HealthProbe = FakeHealthProbe(results=deque([down]))
    assert fake.probe("sip.example", 5060, "http://api.example/healthz") == down
    assert fake.probe("sip.example", 5060, "http://api.example/healthz").ok is True
    assert isinstance(fake, FakeHealthProbe)
    assert fake.asked == [("sip.example", 5060, "http://api.example/healthz")] * 2
