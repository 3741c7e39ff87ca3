"""SIP transports at the edge: UDP, TCP and TLS sockets feeding the sans-I/O endpoints.

Each transport has its own :class:`SipEndpoint` (its own Via and port) and is wrapped in a
:class:`SipChannel`: the channel sends the endpoint's ``Send`` outputs, hands its events to
the application with itself as the way back, and keeps one loop timer armed at the
endpoint's earliest deadline. Stream transports frame messages by Content-Length
(RFC 3261 §18.3), answer keep-alive pings (RFC 5626) and send responses back over the
connection the request came on; requests to a peer with no connection open one.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import Executor
from typing import cast

from dialtone.logs import CLEAN
from dialtone.policy.codes import reason
from dialtone.sip.endpoint import Output, Screen, SipEndpoint
from dialtone.sip.framing import FramingError, KeepAlivePing, StreamFramer
from dialtone.sip.message import Request, Response, make_response
from dialtone.sip.overload import ADMIT, Load, OverloadController
from dialtone.sip.transaction import (
    Address,
    InviteServerTransaction,
    Send,
    ServerTransaction,
)

log = logging.getLogger("dialtone.sip")

EventHandler = Callable[[Output, "SipChannel"], None]


class SipChannel:
    """One transport: an endpoint, a way to send bytes, and the endpoint's timer."""

    name = "udp"

    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint
        self.on_event: EventHandler = lambda event, channel: None
        self.on_closed: Callable[[Address, SipChannel], None] = lambda peer, channel: None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        # Measures the load for overload control; set by OverloadGate.start.
        self.gate: OverloadGate | None = None

    def _transmit(self, data: bytes, destination: Address) -> None:
        raise NotImplementedError

    def receive(self, data: bytes, source: Address) -> None:
        """Feed one message (datagram or framed stream message) to the endpoint."""
        loop = asyncio.get_running_loop()
        try:
            outputs = self.endpoint.receive(data, source, loop.time())
        except Exception:
            # The parser lets only its own error out; anything else is a bug, and one
            # message must never take the server down with it.
            log.exception("SIP message from %s:%d crashed the endpoint", *source)
            return
        self.dispatch(outputs)

    def dispatch(self, outputs: list[Output]) -> None:
        """Send what must be sent, hand events to the application, re-arm the timer."""
        for item in outputs:
            if isinstance(item, Send):
                self._transmit(item.data, item.destination)
            else:
                try:
                    self.on_event(item, self)
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
        # Every transaction's timers share it: it runs in no call's log context, even
        # when a call's work armed it (dialtone.logs).
        self._timer = loop.call_at(deadline, self._fire, context=CLEAN.copy())

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        loop = asyncio.get_running_loop()
        self.dispatch(self.endpoint.handle_timers(loop.time()))

    def contact_uri(self, user: str = "dialtone") -> str:
        """Our Contact on this transport."""
        ep = self.endpoint
        suffix = "" if self.name == "udp" else f";transport={self.name}"
        return f"sip:{user}@{ep.local_host}:{ep.local_port}{suffix}"

    def close(self) -> None:
        """Stop the timer (subclasses close their sockets)."""
        if self._timer is not None:
            self._timer.cancel()

    async def wait_closed(self, timeout: float) -> bool:
        """After :meth:`close`: wait until every connection has reported its end (and its
        ``on_closed`` ran); False when ``timeout`` passed first. Datagrams have none."""
        return True


def udp_socket(host: str, port: int, receive_buffer: int) -> socket.socket:
    """A bound, non-blocking UDP socket for SIP with a receive queue of ``receive_buffer``
    bytes (as much of it as ``net.core.rmem_max`` allows; the effective size is logged
    when the kernel gives less, so an operator knows which sysctl to raise)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        # Linux reports twice the size asked for (the doubling covers its bookkeeping).
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        if granted < receive_buffer:
            log.warning(
                "SIP UDP receive buffer is %d bytes, not %d: raise net.core.rmem_max",
                granted,
                receive_buffer,
            )
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class UdpChannel(SipChannel, asyncio.DatagramProtocol):
    """SIP over one UDP socket."""

    name = "udp"

    def __init__(self, endpoint: SipEndpoint) -> None:
        super().__init__(endpoint)
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector datagram transport is not a DatagramTransport subclass.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if data[:1] == b"\x00":
            if self.gate is not None and data.startswith(PROBE):
                self.gate.probe_returned(data)
            return  # never SIP
        self.receive(data, (str(addr[0]), int(addr[1])))

    def own_address(self) -> Address | None:
        """Where a datagram to this socket is sent from this host (the unspecified
        address it may be bound to read as loopback)."""
        if self.transport is None:
            return None
        host, port = self.transport.get_extra_info("sockname")[:2]
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(str(host), str(host))
        return (host, int(port))

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP UDP socket error: %s", exc)

    def _transmit(self, data: bytes, destination: Address) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.sendto(data, destination)

    def close(self) -> None:
        super().close()
        if self.transport is not None:
            self.transport.close()


class _Connection(asyncio.Protocol):
    """One TCP or TLS connection of a stream channel."""

    def __init__(self, channel: StreamChannel, *, max_message: int) -> None:
        self.channel = channel
        self.framer = StreamFramer(max_message=max_message)
        self.transport: asyncio.Transport | None = None
        self.peer: Address | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = (str(host), int(port))
        self.channel._opened(self)

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        try:
            items = self.framer.feed(data)
        except FramingError as exc:
            # Message boundaries are lost: nothing more on this connection can be trusted.
            log.info(
                "SIP %s from %s:%d unframeable (%s): closing", self.channel.name, *self.peer, exc
            )
            if self.transport is not None:
                self.transport.close()
            return
        for item in items:
            if isinstance(item, KeepAlivePing):
                self.write(b"\r\n")
            else:
                self.channel.receive(item, self.peer)

    def write(self, data: bytes) -> None:
        """Send bytes unless the connection is closing."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.channel._lost(self)


class StreamChannel(SipChannel):
    """SIP over TCP, or TLS when ``server_ssl`` is given; connections keyed by peer."""

    def __init__(
        self,
        endpoint: SipEndpoint,
        *,
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
        max_message: int = 65_536,
    ) -> None:
        super().__init__(endpoint)
        self.name = "tls" if server_ssl is not None else "tcp"
        self.server_ssl = server_ssl
        self.client_ssl = client_ssl
        self.max_message = max_message
        self.connections: dict[Address, _Connection] = {}
        self._pending: dict[Address, list[bytes]] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Set whenever no connection is open: shutdown waits for it, so the work each
        # closed connection starts (its bindings dropped) runs before the executors stop.
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, host, port, ssl=self.server_ssl, reuse_address=True
        )
        sockname = self._server.sockets[0].getsockname()
        return int(sockname[1])

    def _protocol(self) -> _Connection:
        return _Connection(self, max_message=self.max_message)

    def _opened(self, connection: _Connection) -> None:
        assert connection.peer is not None
        self.connections[connection.peer] = connection
        self._idle.clear()
        for data in self._pending.pop(connection.peer, []):
            connection.write(data)

    def _lost(self, connection: _Connection) -> None:
        peer = connection.peer
        if peer is not None and self.connections.get(peer) is connection:
            del self.connections[peer]
            try:
                self.on_closed(peer, self)
            except Exception:
                log.exception("connection-closed handler failed")
            if not self.connections:
                self._idle.set()

    def _transmit(self, data: bytes, destination: Address) -> None:
        connection = self.connections.get(destination)
        if connection is not None:
            connection.write(data)
            return
        queue = self._pending.get(destination)
        if queue is not None:
            queue.append(data)  # a connection to it is being opened
            return
        self._pending[destination] = [data]
        task = asyncio.get_running_loop().create_task(self._connect(destination))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, destination: Address) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(
                self._protocol,
                destination[0],
                destination[1],
                ssl=self.client_ssl if self.name == "tls" else None,
                server_hostname=destination[0] if self.name == "tls" else None,
            )
        except OSError as exc:
            # The transaction's own timer turns this into a timeout (408) for the TU.
            log.info("SIP %s connect to %s:%d failed: %s", self.name, *destination, exc)
            self._pending.pop(destination, None)

    def close(self) -> None:
        super().close()
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections.values()):
            if connection.transport is not None:
                connection.transport.close()
        for task in self._tasks:
            task.cancel()

    async def wait_closed(self, timeout: float) -> bool:
        """Wait until every connection closed by :meth:`close` has been lost; a connection
        still open after ``timeout`` (a TLS peer that never answers the close) is aborted."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            for connection in list(self.connections.values()):
                if connection.transport is not None:
                    connection.transport.abort()
            try:
                await asyncio.wait_for(self._idle.wait(), 1.0)
            except TimeoutError:
                return False
        return True


# Overload control (issue 14). The 503's Reason and Warning carry the code as every other
# refusal does; built once, since a shed INVITE must cost as little as possible.
_OVERLOAD = reason("overload.busy")
_OVERLOAD_HEADERS = (
    ("Reason", f'SIP;cause=503;text="{_OVERLOAD.code}"'),
    ("Warning", f'399 dialtone "{_OVERLOAD.code}: {_OVERLOAD.summary}"'),
)
# A datagram the UDP channel sends itself to time its own queue; SIP never starts with NUL.
PROBE = b"\x00dialtone-probe:"


class OverloadGate:
    """The runtime half of overload control (the decision is :mod:`dialtone.sip.overload`).

    Every ``interval`` seconds it measures the load: how late its own timer fires (the
    event loop's lag), how long a datagram the UDP channel sends itself waits in the
    socket's queue before it is read (the lag a caller's INVITE meets: the kernel queues
    what the loop has no time for, and a timer alone does not see that queue) and how
    long an empty job waits for the ``database`` thread (commits, a slow disk's
    included: a BYE is answered after its record's commit), the largest of the three
    being the lag; the
    INVITEs it admitted that have no answer beyond 100 Trying yet, and the database jobs
    waiting (``jobs``). Each channel's endpoint asks it about every new out-of-dialog
    request (:meth:`screen`): an INVITE the controller sheds is answered 503 with
    ``Retry-After`` through its own INVITE server transaction, before 100 Trying and
    without the application hearing of it, so no call state is made, the ACK is absorbed
    and a retransmitted INVITE gets the same 503. Requests inside a dialog (a To tag:
    BYE, re-INVITE, INFO, REFER), ACK and CANCEL are never screened, so the calls already
    taken go on. ``priority`` names INVITEs never shed (emergency numbers, TERMS V7).
    """

    def __init__(
        self,
        controller: OverloadController,
        *,
        interval: float = 0.05,
        jobs: Callable[[], int] = lambda: 0,
        database: Executor | None = None,
        priority: Callable[[Request], bool] = lambda request: False,
        summary_every: float = 10.0,
    ) -> None:
        self.controller = controller
        self.interval = interval
        self.jobs = jobs
        self.database = database
        self.priority = priority
        self.summary_every = summary_every
        self._setups: collections.deque[InviteServerTransaction] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._probe: UdpChannel | None = None
        self._probe_to: Address | None = None
        self._probe_token = secrets.token_hex(8).encode()
        self._probe_seq = 0
        self._probe_sent: float | None = None
        self._probe_delay = 0.0
        self.timer_lag = 0.0
        # Requests shed, by method (INVITE, REGISTER): plain ints, exported at scrape time.
        self.shed: dict[str, int] = {"INVITE": 0, "REGISTER": 0}
        # Told the event loop's lag (seconds: how late the timer fired) every
        # ``interval`` (the metrics' histogram).
        self.on_lag: Callable[[float], None] | None = None
        self._db_sent: float | None = None
        self._db_delay = 0.0
        self._debug_at = float("-inf")

    def start(self, channels: dict[str, SipChannel]) -> None:
        """Screen ``channels`` and start measuring (on the running loop)."""
        for channel in channels.values():
            channel.gate = self
            channel.endpoint.screen = self.screen(channel.endpoint)
            if isinstance(channel, UdpChannel) and self._probe is None:
                self._probe = channel
        loop = asyncio.get_running_loop()
        self._due = loop.time() + self.interval
        self._timer = loop.call_at(self._due, self._tick)

    def close(self) -> None:
        """Stop measuring (the channels are closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- measuring ---------------------------------------------------------------------

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.timer_lag = max(0.0, now - self._due)
        lag = max(self.timer_lag, self._queue_delay(now), self._database_delay(now))
        if self.on_lag is not None:
            self.on_lag(self.timer_lag)
        # Answered setups are dropped from the front as INVITEs come (they end mostly in
        # order); a full sweep here drops the ones that ended out of order.
        kept = [s for s in self._setups if not _answered(s)]
        self._setups.clear()
        self._setups.extend(kept)
        self.controller.observe(Load(lag, len(self._setups), self.jobs()), now)
        summary = self.controller.summary(now, self.summary_every)
        if summary is not None:
            log.warning(
                "overload: shed %d INVITE(s) and %d REGISTER(s) in the last %.0f s, "
                "loop lag up to %.0f ms; admitting %.0f %% of new calls",
                summary.invites,
                summary.registers,
                summary.seconds,
                1000 * summary.max_lag,
                100 * summary.admitting,
            )
        if now - self._debug_at >= 1.0 and log.isEnabledFor(logging.DEBUG):
            self._debug_at = now
            load = self.controller.load
            log.debug(
                "load: lag %.0f ms (timer %.0f), %d setups, %d DB jobs; admitting %.0f %%",
                1000 * load.lag,
                1000 * self.timer_lag,
                load.setups,
                load.jobs,
                100 * self.controller.admitting,
            )
        self._send_probe(now)
        self._probe_database(loop, now)
        self._due = now + self.interval
        self._timer = loop.call_at(self._due, self._tick)

    def _queue_delay(self, now: float) -> float:
        # A probe still on its way counts for as long as it has been: a queue of seconds
        # shows before the probe is out of it.
        if self._probe_sent is not None:
            return max(self._probe_delay, now - self._probe_sent)
        return self._probe_delay

    def _send_probe(self, now: float) -> None:
        channel = self._probe
        if channel is None or self._probe_sent is not None:
            return
        if self._probe_to is None:
            self._probe_to = channel.own_address()
            if self._probe_to is None:
                return
        address = self._probe_to
        self._probe_seq += 1
        self._probe_sent = now
        channel._transmit(b"%s%s:%d" % (PROBE, self._probe_token, self._probe_seq), address)

    def _database_delay(self, now: float) -> float:
        if self._db_sent is not None:
            return max(self._db_delay, now - self._db_sent)
        return self._db_delay

    def _probe_database(self, loop: asyncio.AbstractEventLoop, now: float) -> None:
        # An empty job on the database thread: how long it waits is how late the
        # commits are (a BYE is answered only after its record's), a slow disk included.
        if self.database is None or self._db_sent is not None:
            return
        self._db_sent = now
        try:
            job = loop.run_in_executor(self.database, _nothing)
        except RuntimeError:  # the executor is shutting down
            return
        job.add_done_callback(self._database_answered)

    def _database_answered(self, _job: asyncio.Future[None]) -> None:
        if self._db_sent is not None:
            self._db_delay = asyncio.get_running_loop().time() - self._db_sent
            self._db_sent = None

    def probe_returned(self, data: bytes) -> None:
        """A datagram starting with :data:`PROBE` was read off the UDP socket."""
        expected = b"%s%s:%d" % (PROBE, self._probe_token, self._probe_seq)
        if data != expected or self._probe_sent is None:
            return  # not ours, or late
        self._probe_delay = asyncio.get_running_loop().time() - self._probe_sent
        self._probe_sent = None

    # -- screening ---------------------------------------------------------------------

    def screen(self, endpoint: SipEndpoint) -> Screen:
        """The endpoint's screen: a new INVITE or REGISTER the controller sheds gets its
        503 from the endpoint, before 100 Trying, and never reaches the application."""
        new_tag = endpoint.new_tag
        controller = self.controller

        def screen(request: Request, tx: ServerTransaction) -> Response | None:
            method = request.method
            if method == "INVITE":
                # An emergency call is never refused, but its setup counts like any.
                verdict = ADMIT if self.priority(request) else None
                if verdict is None:
                    verdict = controller.admit_invite(self._pending())
                if verdict.admit:
                    assert isinstance(tx, InviteServerTransaction)
                    self._setups.append(tx)
                    return None
            elif method == "REGISTER":
                verdict = controller.admit_register(controller.load.jobs)
                if verdict.admit:
                    return None
            else:
                return None
            self.shed[method] += 1
            return make_response(
                request,
                503,
                to_tag=new_tag(),
                extra_headers=(("Retry-After", str(verdict.retry_after)), *_OVERLOAD_HEADERS),
            )

        return screen

    def _pending(self) -> int:
        setups = self._setups
        while setups and _answered(setups[0]):
            setups.popleft()
        return len(setups)


def _answered(tx: InviteServerTransaction) -> bool:
    status = tx.last_status
    return (status is not None and status > 100) or tx.terminated


def _nothing() -> None:
    """The database probe's job."""
