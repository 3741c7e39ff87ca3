"""``GET /metrics``: this worker's Prometheus metrics (issue 19), for the operator's
Prometheus, not for customers: no API key opens it.

Who may scrape (the API's port may be public): a client whose address is in
``metrics_allowed_networks`` (default: this host only), or any client with
``Authorization: Bearer <metrics_token>`` when the operator set one. Anyone else gets
403 (401 with ``WWW-Authenticate: Bearer`` when a token would let them in). The address
is the TCP peer's: a proxy in front makes every client the proxy, so list the proxy's
address only when the proxy itself guards the path. The metrics hold no personal data
(TERMS D4), but they tell a stranger the platform's traffic.

The numbers come from the runtime through ``app.state.metrics`` (set by ``serve``; the
API never imports the runtime): 404 when ``metrics_enabled`` is off, 503 when this
process runs no runtime (the API alone, as in tests).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable
from functools import lru_cache
from typing import Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from dialtone.api.errors import error_body
from dialtone.settings import Settings

# The Prometheus text format 0.0.4, which every Prometheus reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

router = APIRouter(tags=["operations"])


class MetricsSource(Protocol):
    """What ``serve`` puts on ``app.state.metrics`` (runtime.metrics.Metrics)."""

    def scrape(self) -> Awaitable[bytes]: ...


@lru_cache(maxsize=16)
def _networks(
    written: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in written)


def allowed(settings: Settings, client: str | None, authorization: str | None) -> int:
    """0 when a client at address ``client`` with this ``Authorization`` header may
    scrape; otherwise the status refusing it (401 when a token is configured, else 403)."""
    if client is not None:
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            address = None
        if address is not None:
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if any(address in network for network in _networks(settings.metrics_allowed_networks)):
                return 0
    token = settings.metrics_token
    if token is None:
        return 403
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return 0
    return 401


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The Prometheus text format (``text/plain; version=0.0.4``); a refusal is the API's
    JSON error (``metrics.off``, ``metrics.forbidden``, ``metrics.token_invalid``,
    ``call.engine_unavailable``), which Prometheus shows as the target's error."""
    settings: Settings = request.app.state.settings
    if not settings.metrics_enabled:
        return _refused(404, "metrics.off", "metrics are off on this worker (metrics_enabled)")
    client = request.client.host if request.client is not None else None
    refused = allowed(settings, client, request.headers.get("authorization"))
    if refused == 401:
        return _refused(
            401,
            "metrics.token_invalid",
            "scraping from this address needs Authorization: Bearer <metrics_token>",
            {"WWW-Authenticate": "Bearer"},
        )
    if refused:
        return _refused(
            403,
            "metrics.forbidden",
            f"{client} may not scrape: not in metrics_allowed_networks, and no metrics_token "
            "is set",
        )
    source: MetricsSource | None = getattr(request.app.state, "metrics", None)
    if source is None:
        return _refused(503, "call.engine_unavailable", "no runtime in this process")
    return Response(await source.scrape(), media_type=CONTENT_TYPE)


def _refused(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status, headers)
