"""The SIP UDP socket: feeds datagrams to the sans-I/O endpoint and runs its timers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from dialtone.sip.endpoint import Output, SipEndpoint
from dialtone.sip.transaction import Send

log = logging.getLogger("dialtone.sip")


class SipUdpServer(asyncio.DatagramProtocol):
    """One UDP socket; every datagram goes through ``SipEndpoint.receive``.

    The endpoint's timers are served by one loop timer re-armed to the earliest deadline.
    """

    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint
        self.transport: asyncio.DatagramTransport | None = None
        self.on_event: Callable[[Output], None] = lambda event: None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector datagram transport is not a DatagramTransport subclass.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        loop = asyncio.get_running_loop()
        source = (str(addr[0]), int(addr[1]))
        try:
            outputs = self.endpoint.receive(data, source, loop.time())
        except Exception:
            # The parser lets only its own error out; anything else is a bug, and one
            # message must never take the server down with it.
            log.exception("SIP message from %s:%d crashed the endpoint", *source)
            return
        self.dispatch(outputs)

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP socket error: %s", exc)

    def dispatch(self, outputs: list[Output]) -> None:
        """Send what must be sent, hand events to the application, re-arm the timer."""
        transport = self.transport
        for item in outputs:
            if isinstance(item, Send):
                if transport is not None and not transport.is_closing():
                    transport.sendto(item.data, item.destination)
            else:
                try:
                    self.on_event(item)
                except Exception:
                    log.exception("SIP event handler failed on %s", type(item).__name__)
        self._rearm()

    def _rearm(self) -> None:
        deadline = self.endpoint.next_deadline()
        if deadline is None or (self._timer_at is not None and self._timer_at <= deadline):
            return
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        loop = asyncio.get_running_loop()
        self.dispatch(self.endpoint.handle_timers(loop.time()))

    def close(self) -> None:
        """Stop the timer and close the socket."""
        if self._timer is not None:
            self._timer.cancel()
        if self.transport is not None:
            self.transport.close()
