"""An HTTP client for customers' URLs that cannot be turned against the platform (SSRF,
issue 16): every connection goes to an address checked by
:mod:`dialtone.services.accounts.webhook_targets`, the very one it checked.

How the connection is pinned: the client's connection pool is given a network backend
whose ``connect_tcp(host, port)`` resolves ``host`` itself, refuses the connection
unless every address it resolved to is allowed, and connects to those addresses only.
The URL, the ``Host`` header, TLS's SNI and the certificate's check are left as the
URL says (httpcore names the TLS server from the URL, not from the socket), so HTTPS
stays verified against the host name while the TCP connection cannot go anywhere the
check did not see: no second resolution happens between the check and the connect, so
a DNS answer that changes (rebinding) changes nothing. A pooled connection is reused
only for the same scheme, host and port, and was checked when it was opened. Proxies
from the environment are ignored (a proxy would make its own connection, unchecked).
Redirects are not followed by the client; whoever follows one requests its URL through
the same backend.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable

import httpcore
import httpx

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts.webhook_targets import TargetPolicy, check_addresses

# Twilio's error codes for what went wrong reaching a URL.
BAD_HOST = 11210  # HTTP bad host name: it does not resolve
CONNECTION_FAILED = 11205  # HTTP connection failure (refused targets included)

Resolve = Callable[[str, int], Awaitable[list[str]]]


class TargetError(Exception):
    """A connection not made: the host unknown, or its addresses refused."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def resolve_on_loop(host: str, port: int) -> list[str]:
    """Every address of ``host`` from the system's resolver, without blocking the loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to addresses the policy allows."""

    def __init__(
        self,
        policy: TargetPolicy,
        *,
        resolve: Resolve = resolve_on_loop,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.resolve = resolve
        self.inner = inner or httpcore.AnyIOBackend()

    async def addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses to connect to for ``host``, all allowed, or ``TargetError``."""
        try:
            ipaddress.ip_address(host)
            found = [host]
        except ValueError:
            try:
                found = await asyncio.wait_for(self.resolve(host, port), timeout)
            except (OSError, TimeoutError) as exc:
                raise TargetError(BAD_HOST, f"{host} does not resolve ({exc})") from None
        try:
            return check_addresses(found, self.policy, host)
        except DialtoneError as refused:
            raise TargetError(CONNECTION_FAILED, refused.message) from None

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first of ``host``'s checked addresses that answers."""
        allowed = await self.addresses(host.strip("[]"), port, timeout)
        failure: Exception | None = None
        for address in allowed:
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a customer's URL names no local socket."""
        raise TargetError(CONNECTION_FAILED, "no unix sockets")

    async def sleep(self, seconds: float) -> None:
        """As the inner backend sleeps."""
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool whose connections :class:`GuardedBackend` makes."""

    def __init__(
        self,
        backend: GuardedBackend,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        super().__init__(verify=verify, trust_env=False)
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        # httpx's transport builds its pool without a way to pass a network backend: the
        # pool it built is replaced by the same pool over ours (the guard's tests fail
        # should httpx stop reading ``_pool``).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def guarded_client(
    policy: TargetPolicy,
    *,
    timeout: float,
    resolve: Resolve = resolve_on_loop,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` that reaches only what ``policy`` allows, follows no
    redirect and reads no proxy from the environment. ``TargetError`` comes out of its
    requests as it is (not an ``httpx.HTTPError``)."""
    backend = GuardedBackend(policy, resolve=resolve)
    return httpx.AsyncClient(
        transport=GuardedTransport(backend, verify=verify),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=False,
        trust_env=False,
    )
