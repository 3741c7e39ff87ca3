"""rtpengine's NG control protocol over UDP (issue 19): one socket, many requests in
flight, each matched to its reply by cookie and retransmitted with the same cookie on
the schedule ``rtp.ng.Requests`` keeps (one timer for all of them, no task per
request), until it is given up (:class:`NgUnavailable`)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from typing import cast

from dialtone.rtp import ng
from dialtone.rtp.bencode import Encodable

log = logging.getLogger("dialtone.rtpengine")

Address = tuple[str, int]


class NgUnavailable(Exception):
    """rtpengine did not answer in time (or the client is closed)."""


class NgRefused(Exception):
    """rtpengine answered with an error."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"rtpengine refused {command}: {reason}")
        self.command = command
        self.reason = reason


def parse_address(text: str) -> Address:
    """``host:port`` (``[v6]:port`` for IPv6) as an address. Raises ValueError."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not host:port")
    return host.strip("[]"), int(port)


class NgClient(asyncio.DatagramProtocol):
    """A NG client on one connected UDP socket (:meth:`open`)."""

    def __init__(self, address: Address, schedule: tuple[float, ...]) -> None:
        self.address = address
        # Random per process: a restarted controller's cookies are not in rtpengine's
        # reply cache (it would answer them with another call's old reply).
        self._requests = ng.Requests(secrets.token_hex(4) + "-", schedule)
        self._waiting: dict[str, tuple[str, asyncio.Future[ng.Reply]]] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    @classmethod
    async def open(
        cls, address: Address, schedule: tuple[float, ...] = ng.DEFAULT_SCHEDULE
    ) -> NgClient:
        """A client talking to rtpengine's NG address."""
        loop = asyncio.get_running_loop()
        client = cls(address, schedule)
        await loop.create_datagram_endpoint(lambda: client, remote_addr=address)
        return client

    @property
    def in_flight(self) -> int:
        """Requests waiting for their reply."""
        return len(self._waiting)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            reply = self._requests.received(data)
        except ng.NgError as exc:
            log.warning("rtpengine %s:%d: unreadable reply (%s)", *self.address, exc)
            return
        if reply is None:
            return  # a reply to a retransmission already answered
        waiting = self._waiting.pop(reply.cookie, None)
        if waiting is not None and not waiting[1].done():
            waiting[1].set_result(reply)
        self._arm()

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while rtpengine restarts: the schedule retransmits.
        log.debug("rtpengine %s:%d: %s", *self.address, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail_all("the NG socket closed")

    async def request(self, command: str, params: Mapping[str, Encodable]) -> ng.Reply:
        """Send ``command`` and wait for its reply, whatever its result.

        Raises NgUnavailable when no reply came after every retransmission."""
        if self._closed or self._transport is None:
            raise NgUnavailable("the NG client is closed")
        loop = asyncio.get_running_loop()
        pending = self._requests.new(command, params, loop.time())
        future: asyncio.Future[ng.Reply] = loop.create_future()
        self._waiting[pending.cookie] = (command, future)
        self._transport.sendto(pending.data)
        self._arm()
        try:
            return await future
        finally:
            if self._waiting.pop(pending.cookie, None) is not None:
                self._requests.forget(pending.cookie)  # cancelled by its caller

    async def call(self, command: str, params: Mapping[str, Encodable]) -> ng.Reply:
        """:meth:`request`, and raise NgRefused when the result is not ok."""
        reply = await self.request(command, params)
        if not reply.ok:
            raise NgRefused(command, reply.error)
        return reply

    def _arm(self) -> None:
        deadline = self._requests.next_deadline()
        if self._timer is not None:
            if deadline is not None and self._timer.when() == deadline:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None and not self._closed:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._due)

    def _due(self) -> None:
        self._timer = None
        now = asyncio.get_running_loop().time()
        for item in self._requests.due(now):
            if isinstance(item, ng.Resend):
                if self._transport is not None:
                    self._transport.sendto(item.data)
            else:
                waiting = self._waiting.pop(item.cookie, None)
                if waiting is not None and not waiting[1].done():
                    command, future = waiting
                    future.set_exception(
                        NgUnavailable(
                            f"rtpengine {self.address[0]}:{self.address[1]} did not "
                            f"answer {command}"
                        )
                    )
        self._arm()

    def _fail_all(self, why: str) -> None:
        for cookie, (_, future) in list(self._waiting.items()):
            self._requests.forget(cookie)
            if not future.done():
                future.set_exception(NgUnavailable(why))
        self._waiting.clear()

    def close(self) -> None:
        """Close the socket; requests in flight fail with NgUnavailable."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._fail_all("the NG client is closed")
        if self._transport is not None:
            self._transport.close()
