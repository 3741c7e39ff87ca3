"""One SMPP connection at the asyncio edge: bytes in and out of a sans-I/O
:class:`~dialtone.smpp.session.SmppSession`, its timers on the loop, and our requests as
awaitables that honour the window.

Both sides use it: the SMPP server (customers' software binds to us, role SMSC) and the
carrier binds (we bind to an SMSC, role ESME). What a side does with the peer's requests
and with the end of the connection is its :class:`LinkHandler`'s business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol, cast

from dialtone.smpp.constants import CommandStatus
from dialtone.smpp.pdu import Pdu, RequestBody, ResponseBody, Unbind
from dialtone.smpp.session import (
    BindRequested,
    Bound,
    Event,
    ProtocolError,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    Role,
    SessionSettings,
    SessionTimedOut,
    SmppSession,
    SmppSessionError,
    Transmit,
    Unbound,
)

log = logging.getLogger("dialtone.smpp")


class SmppRequestFailed(Exception):
    """Our request had no answer (time-out, connection lost) or could not be sent."""


class LinkHandler(Protocol):
    """What one side does with its link's events."""

    def on_bind(self, link: SmppLink, pdu: Pdu) -> None:
        """(SMSC) The peer asks to bind: answer with ``link.respond``."""

    def on_request(self, link: SmppLink, pdu: Pdu) -> None:
        """The peer's request the state allows: answer with ``link.respond``."""

    def on_closed(self, link: SmppLink) -> None:
        """The connection ended (whoever ended it); pending requests have failed."""


class SmppLink(asyncio.Protocol):
    """One connection driving one session. ``request`` sends and waits for the answer,
    waiting first for room in the window."""

    def __init__(
        self,
        role: Role,
        handler: LinkHandler,
        *,
        settings: SessionSettings | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.clock = clock or self.loop.time
        self.session = SmppSession(role, now=self.clock(), settings=settings)
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.peer: str = "-"
        self.bound = asyncio.Event()
        self.closed = asyncio.Event()
        self.bind_status: int | None = None
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        # Requests waiting for a place in the window, first come first served; only as
        # many are woken as places came free (``_woken`` of them not yet run), not all
        # of them at every answer: with a window of 200 and 2,000 messages being sent,
        # waking every waiter at every PDU was most of the event loop's time.
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._woken = 0
        self._reserved = 0  # places in the window held by ``reserve``
        self._timer: asyncio.TimerHandle | None = None
        # What the handler keeps about this connection (the login, the carrier).
        self.context: object = None

    # --- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; not an asyncio.Transport instance under uvloop (its own
        # class), so it is taken as one rather than checked.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "-"
        self._schedule()

    def data_received(self, data: bytes) -> None:
        self._handle(self.session.receive_data(data, self.clock()))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        failure = SmppRequestFailed(f"the connection to {self.peer} was lost")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(failure)
        self._pending.clear()
        self._wake()
        if not self.closed.is_set():
            self.closed.set()
            self.handler.on_closed(self)

    # --- our side ----------------------------------------------------------------------

    def _has_room(self) -> bool:
        # Places promised to woken waiters that have not run yet count as taken.
        taken = self.session.outstanding + self._reserved + self._woken
        return taken < self.session.settings.window

    async def reserve(self) -> None:
        """Hold a place in the window for the next ``request(..., reserved=True)``, so
        that request is written as soon as it is made (whatever the caller awaits in
        between: nobody else takes the place); ``release`` gives it back unused. Raises
        :class:`SmppRequestFailed` once the session is closed."""
        await self._wait_room()
        self._reserved += 1

    def release(self) -> None:
        """Give back a place ``reserve`` held, unused."""
        self._reserved = max(0, self._reserved - 1)
        self._wake()

    def _gone(self) -> bool:
        return self.session.closed or self.closed.is_set()

    async def _wait_room(self) -> None:
        if self._gone():
            raise SmppRequestFailed("the session is closed")
        if not self._waiters and self.session.can_send() and self._has_room():
            return
        first = True
        while True:
            future: asyncio.Future[None] = self.loop.create_future()
            if first:
                self._waiters.append(future)
            else:  # woken, but another took the place: it keeps its turn
                self._waiters.appendleft(future)
            first = False
            self._wake()  # a place may be free already (the waiters ahead took theirs)
            try:
                await future
            except BaseException:
                if future.done() and not future.cancelled():
                    self._woken -= 1  # woken, then cancelled: its place goes on
                    self._wake()
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(future)
                raise
            self._woken -= 1
            if self._gone():
                raise SmppRequestFailed("the session is closed")
            if self.session.can_send() and self._has_room():
                return

    def _wake(self) -> None:
        """Wake the first waiters, one per free place (all of them once the session is
        gone: they fail)."""
        if self._gone():
            free = len(self._waiters)
        elif not self.session.can_send():
            return
        else:
            window = self.session.settings.window
            free = window - self.session.outstanding - self._reserved - self._woken
        while free > 0 and self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)
                self._woken += 1
                free -= 1

    async def request(self, body: RequestBody, *, reserved: bool = False) -> Pdu:
        """Send ``body`` once the window has room (at once when ``reserved``: its place
        held by ``reserve``); the peer's answer (any status; a generic_nack included).
        Raises :class:`SmppRequestFailed` on a time-out or a lost connection."""
        if reserved:
            # The held place becomes this request's: nobody is woken for it.
            self._reserved = max(0, self._reserved - 1)
            if not self.session.can_send():
                self._wake()
                raise SmppRequestFailed("the session is closed")
        else:
            await self._wait_room()
        if self.transport is None or self.transport.is_closing():
            self._wake()  # the place it had is free again
            raise SmppRequestFailed("the connection is closed")
        try:
            data = self.session.send(body, self.clock())
        except SmppSessionError:
            self._wake()
            raise
        sequence = int.from_bytes(data[12:16], "big")
        future: asyncio.Future[Pdu] = self.loop.create_future()
        self._pending[sequence] = future
        self.transport.write(data)
        self._schedule()
        return await future

    def respond(self, request: Pdu, reply: ResponseBody | int, *, status: int = 0) -> None:
        """Answer the peer's ``request`` (a body with ``status``, or a bare status)."""
        if self.transport is None or self.transport.is_closing() or self.session.closed:
            return  # the peer left before its answer: nothing to tell it
        self.transport.write(self.session.respond(request, reply, self.clock(), status=status))
        if self.session.closed:
            self.close()

    def close(self) -> None:
        """Close the connection (no unbind: see :meth:`unbind`)."""
        if self.transport is not None:
            self.transport.close()

    async def unbind(self, timeout: float = 5.0) -> None:
        """End the session politely, then close."""
        with contextlib.suppress(SmppRequestFailed, SmppSessionError, TimeoutError):
            await asyncio.wait_for(self.request(Unbind()), timeout)  # closing anyway
        self.close()

    # --- events ------------------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            match event:
                case Transmit(data):
                    if self.transport is not None and not self.transport.is_closing():
                        self.transport.write(data)
                case BindRequested(pdu):
                    self.handler.on_bind(self, pdu)
                case Bound(pdu):
                    self.bind_status = CommandStatus.ESME_ROK
                    self.bound.set()
                    self._resolve(pdu.sequence_number, pdu)
                case ResponseReceived(sequence, pdu, _):
                    self._resolve(sequence, pdu)
                case RequestReceived(pdu):
                    self.handler.on_request(self, pdu)
                case RequestTimedOut(sequence, body):
                    future = self._pending.pop(sequence, None)
                    if future is not None and not future.done():
                        future.set_exception(
                            SmppRequestFailed(f"{type(body).__name__} unanswered by {self.peer}")
                        )
                case ProtocolError(status, reason, _, _):
                    log.warning("smpp %s: %s (status 0x%08x)", self.peer, reason, status)
                case Unbound() | SessionTimedOut():
                    pass
        self._wake()
        if self.session.closed:
            self.close()
        else:
            self._schedule()

    def _resolve(self, sequence: int, pdu: Pdu) -> None:
        future = self._pending.pop(sequence, None)
        if future is not None and not future.done():
            future.set_result(pdu)

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.session.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - self.clock())
            self._timer = self.loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._handle(self.session.on_timer(self.clock()))
