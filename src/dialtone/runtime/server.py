"""``dialtone serve``: SIP over UDP and the HTTP API in one asyncio process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from dialtone.settings import Settings
from dialtone.sip.endpoint import EndpointPolicy, SipEndpoint

from .calls import CallConfig, CallHandler
from .media import RtpPortPool
from .sip_server import SipUdpServer

log = logging.getLogger("dialtone")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns Ctrl-C for SIP and HTTP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    settings: Settings,
    sessions: sessionmaker[Session],
    asgi_app: Any,
    *,
    announce: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set); end live calls cleanly on the way out."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialtone-db")
    reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dialtone-read")
    endpoint = SipEndpoint(
        local_host=settings.advertised_host,
        local_port=settings.sip_port,
        new_tag=lambda: secrets.token_hex(6),
        new_branch=lambda: secrets.token_hex(8),
        policy=EndpointPolicy(user_agent="dialtone/0.1"),
    )
    sip = SipUdpServer(endpoint)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: sip, local_addr=(settings.sip_host, settings.sip_port)
    )
    endpoint.local_port = transport.get_extra_info("sockname")[1]
    handler = CallHandler(
        endpoint,
        send=sip.dispatch,
        sessions=sessions,
        config=CallConfig(
            advertised_host=settings.advertised_host,
            rtp_host=settings.sip_host,
            recordings_dir=settings.recordings_dir,
            greetings_dir=settings.greetings_dir,
            codecs=settings.codecs,
            ring_seconds=settings.ring_seconds,
            max_call_seconds=settings.max_call_seconds,
        ),
        rtp_ports=RtpPortPool(settings.rtp_port_min, settings.rtp_port_max),
        db=db,
        reads=reads,
    )
    sip.on_event = handler.handle

    http = _Server(
        uvicorn.Config(
            asgi_app,
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level.lower(),
            access_log=False,
            lifespan="off",
        )
    )
    http_task = loop.create_task(http.serve())
    while not http.started and not http_task.done():
        await asyncio.sleep(0.01)
    if http_task.done():
        transport.close()
        db.shutdown()
        reads.shutdown()
        await http_task  # re-raises the bind error
        raise SystemExit("HTTP server stopped at start")
    announce(
        f"dialtone {settings.data_dir.resolve()}: SIP udp:{settings.sip_host}:{endpoint.local_port}"
        f"  HTTP http://{settings.http_host}:{settings.http_port}  (API docs /docs, Ctrl-C stops)"
    )
    stop_task = loop.create_task(stop.wait())
    await asyncio.wait({http_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    log.info("stopping: ending %d live call(s)", len(handler.calls))
    await handler.shutdown()
    # Let the BYEs leave before the socket closes.
    await asyncio.sleep(0.05)
    http.should_exit = True
    with contextlib.suppress(Exception):
        await http_task
    stop_task.cancel()
    sip.close()
    db.shutdown(wait=True)
    reads.shutdown(wait=True)
    log.info("stopped")
