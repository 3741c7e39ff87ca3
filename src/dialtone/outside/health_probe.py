"""The platform's own health check, for the SLA (S1, S4): is SIP answering, is the API?

One small interface, a real adapter and a fake:

- :class:`HealthProbe` answers one question for a location: are SIP and the API up?
- :class:`NetworkHealthProbe` asks them over the network, as a customer would.
- :class:`FakeHealthProbe` plays scripted results, for tests and demos.

The network probe sends one SIP OPTIONS over UDP (any SIP response counts: the server parsed and
answered) and asks the API's ``/healthz`` (which checks the database). Run it from cron
every minute per location (``dialtone sla check``): a failure opens an incident at the
location, the next success closes it (``services.billing.sla.record_health``).
"""

from __future__ import annotations

import secrets
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import httpx


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the probe found; ``ok`` when both answered."""

    sip: bool
    http: bool
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.sip and self.http


def sip_options(host: str, port: int, timeout: float = 2.0) -> tuple[bool, str]:
    """Send an OPTIONS to ``host:port`` over UDP; True when a SIP response comes back."""
    tag = secrets.token_hex(6)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        local_host, local_port = sock.getsockname()[:2]
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local_host}:{local_port};branch=z9hG4bK{tag};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:health@{local_host}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: health-{tag}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        try:
            sock.send(request)
            data = sock.recv(65535)
        except OSError as exc:  # timeout, connection refused (ICMP)
            return False, f"sip: {exc.__class__.__name__}"
    status = data.split(b"\r\n", 1)[0]
    if not status.startswith(b"SIP/2.0 "):
        return False, "sip: not a SIP response"
    return True, status.decode("ascii", "replace")


def http_health(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """GET ``url`` (the API's ``/healthz``); True on a 200."""
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return False, f"http: {exc.__class__.__name__}"
    return response.status_code == 200, f"http: {response.status_code}"


def probe(sip_host: str, sip_port: int, health_url: str, timeout: float = 2.0) -> ProbeResult:
    """Both checks."""
    sip_ok, sip_detail = sip_options(sip_host, sip_port, timeout)
    http_ok, http_detail = http_health(health_url, timeout)
    return ProbeResult(sip_ok, http_ok, f"{sip_detail}; {http_detail}")


class HealthProbe(Protocol):
    """Is this platform answering SIP and HTTP (S1, S4)?"""

    def probe(
        self, sip_host: str, sip_port: int, health_url: str, timeout: float = 2.0
    ) -> ProbeResult: ...


class NetworkHealthProbe:
    """The real probe: one SIP OPTIONS over UDP and a GET of ``/healthz``."""

    def probe(
        self, sip_host: str, sip_port: int, health_url: str, timeout: float = 2.0
    ) -> ProbeResult:
        return probe(sip_host, sip_port, health_url, timeout)


@dataclass
class FakeHealthProbe:
    """Scripted results, oldest first (all up once they run out); records what it asked."""

    results: deque[ProbeResult] = field(default_factory=deque)
    asked: list[tuple[str, int, str]] = field(default_factory=list)

    def probe(
        self, sip_host: str, sip_port: int, health_url: str, timeout: float = 2.0
    ) -> ProbeResult:
        self.asked.append((sip_host, sip_port, health_url))
        if self.results:
            return self.results.popleft()
        return ProbeResult(sip=True, http=True, detail="fake: up")
