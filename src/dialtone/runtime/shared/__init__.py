"""Shared fast state (issue 19): what several workers must agree on, behind one object.

``open_shared(settings)`` gives a :class:`SharedState` with one small part per concern:

- ``failures(scope, allowed, window, block)``: authentication failure counters (TERMS
  D2) for the SIP digest, the SMPP server and the console sign-in;
- ``live``: the live calls of each user on the *other* workers (TERMS V2; this worker
  counts its own exactly, from its calls);
- ``bus``: topics a worker publishes and every worker hears: the look-up cache's
  invalidation after a commit, the wake-ups of the message, webhook and email loops;
- ``nonce_secret``: what digest nonces are signed with (None: a per-process secret).

Two implementations, both real: in process (``in_process``, the default: one worker, as
before issue 19) and Redis (``redis_state``, when ``redis_url`` is set). Redis holds
only what may be lost: the database stays the durable truth. When Redis cannot be
reached mid-traffic, the Redis parts fall back to this worker's own state (``degraded``),
and come back when it answers again; see docs/scale-out/redis.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import socket
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from dialtone.settings import Settings

from .errors import SharedStateError

T = TypeVar("T")


class FailureCounter(Protocol):
    """Failed authentications per key (a source address, an email) in a sliding window;
    the failure past ``allowed`` blocks the key for ``block`` seconds; a success forgets
    the failures of its own username only (TERMS D2, ``sip.auth_limiter``)."""

    async def blocked(self, key: str, now: float) -> bool:
        """Whether ``key`` is refused at ``now`` (wall-clock seconds)."""
        ...

    async def record_failure(self, key: str, now: float, *, username: str = "") -> bool:
        """Count a failure; True when it starts a block."""
        ...

    async def record_success(self, key: str, now: float, *, username: str = "") -> None:
        """Forget ``username``'s failures from ``key`` (a block stays)."""
        ...


class LiveCalls(Protocol):
    """The live calls of users on the other workers (TERMS V2). This worker's own are
    counted from its calls; it tells ``changed`` which users' counts moved, and gives
    ``attach`` how to count them."""

    def attach(self, count: Callable[[str], int], snapshot: Callable[[], dict[str, int]]) -> None:
        """How this worker counts one user's calls, and all of them at once."""
        ...

    def changed(self, user_ids: Iterable[str]) -> None:
        """These users' local calls changed (a call began or ended): publish them soon."""
        ...

    async def elsewhere(self, user_ids: Sequence[str]) -> list[int]:
        """Each user's live calls on the other workers (0 when unknown)."""
        ...

    def elsewhere_blocking(self, user_id: str) -> int:
        """``elsewhere`` from a thread that is not the loop's (the API's dry run)."""
        ...


class Bus(Protocol):
    """Topics with no payload: a publish reaches every subscriber of every worker, this
    one included (directly, at once)."""

    def publish(self, topic: str) -> None:
        """Publish ``topic``; callable from any thread, never blocks."""
        ...

    def subscribe(self, topic: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the loop each time ``topic`` is published."""
        ...


# The topics (their Redis channels are the key prefix + the topic).
LOOKUPS = "lookups"  # the look-up cache is out of date (a commit changed what it holds)
WAKE_MESSAGES = "wake:messages"  # a message was stored: the dispatcher looks now
WAKE_WEBHOOKS = "wake:webhooks"
WAKE_EMAIL = "wake:email"


@dataclass
class SharedState:
    """The one object the runtime gets (see the module docstring)."""

    backend: str  # "in_process" or "redis"
    worker_id: str
    bus: Bus
    live: LiveCalls
    failure_counter: Callable[[str, int, float, float], FailureCounter]
    nonce_secret: bytes | None = None
    closers: list[Callable[[], object]] = field(default_factory=list)
    degraded_flag: Callable[[], bool] = lambda: False

    def failures(self, scope: str, *, allowed: int, window: float, block: float) -> FailureCounter:
        """A failure counter for ``scope`` ("sip", "smpp", "console-email", …)."""
        return self.failure_counter(scope, allowed, window, block)

    @property
    def degraded(self) -> bool:
        """True while Redis is configured but not answering: this worker runs on its own
        state (for ``/healthz`` and the metrics)."""
        return self.degraded_flag()

    def health(self) -> dict[str, object]:
        """What ``/healthz`` shows of the shared state."""
        return {"backend": self.backend, "worker": self.worker_id, "degraded": self.degraded}

    async def aclose(self) -> None:
        """Stop the background work and close the connections."""
        for close in reversed(self.closers):
            result = close()
            if asyncio.iscoroutine(result):
                await result


def default_worker_id(settings: Settings) -> str:
    """``settings.worker_id`` when there is one (issue 19's workers part), else the host
    name, the SIP port and the process id (port 0 picks a free one, so the pid keeps two
    such workers of one host apart)."""
    named = getattr(settings, "worker_id", None)
    if named:
        return str(named)
    return f"{socket.gethostname()}:{settings.sip_port}:{os.getpid()}"


def derived_nonce_secret(platform_key: bytes) -> bytes:
    """The digest nonce secret every worker shares, derived from the platform key (which
    every worker must share already: it opens the sealed trunk passwords and
    recordings). Derived rather than kept in Redis: a Redis restart loses nothing the
    workers need, and a worker verifies another's nonce without asking Redis."""
    return hmac.new(platform_key, b"dialtone sip nonce secret v1", hashlib.sha256).digest()


async def open_shared(
    settings: Settings, *, worker_id: str | None = None, platform_key: bytes | None = None
) -> SharedState:
    """The shared state the settings ask for: in process without ``redis_url``, else
    Redis, reached now (:class:`SharedStateError`, one line, when it cannot be)."""
    worker = worker_id or default_worker_id(settings)
    if not settings.redis_url:
        from .in_process import open_in_process  # noqa: PLC0415

        return open_in_process(worker)
    from .redis_state import open_redis  # noqa: PLC0415

    key = platform_key if platform_key is not None else settings.sealing_key()
    return await open_redis(settings, worker, nonce_secret=derived_nonce_secret(key))


__all__ = [
    "LOOKUPS",
    "WAKE_EMAIL",
    "WAKE_MESSAGES",
    "WAKE_WEBHOOKS",
    "BlockingFailures",
    "Bus",
    "FailureCounter",
    "LiveCalls",
    "SharedState",
    "SharedStateError",
    "blocking_failures",
    "default_worker_id",
    "derived_nonce_secret",
    "open_shared",
]


class BlockingFailures:
    """A ``FailureCounter`` for code on other threads than the loop's (the console's
    sign-in handlers): each call runs on the loop and is waited for, at most the shared
    state's timeout and a margin (the Redis counter answers from its local count when
    Redis does not)."""

    def __init__(
        self, counter: FailureCounter, loop: asyncio.AbstractEventLoop, timeout: float
    ) -> None:
        self.counter = counter
        self.loop = loop
        self.timeout = timeout

    def _wait(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(self.timeout)

    def blocked(self, key: str, now: float) -> bool:
        return self._wait(self.counter.blocked(key, now))

    def record_failure(self, key: str, now: float, *, username: str = "") -> bool:
        return self._wait(self.counter.record_failure(key, now, username=username))

    def record_success(self, key: str, now: float, *, username: str = "") -> None:
        self._wait(self.counter.record_success(key, now, username=username))


def blocking_failures(
    shared: SharedState, timeout: float
) -> Callable[[str, int, float, float], BlockingFailures]:
    """What the console's sign-in limits count with when ``serve`` runs it beside the
    shared state (``app.state.failure_counters``): ``(scope, allowed, window, block)``
    to a counter callable from its threads."""
    loop = asyncio.get_running_loop()

    def make(scope: str, allowed: int, window: float, block: float) -> BlockingFailures:
        counter = shared.failures(scope, allowed=allowed, window=window, block=block)
        return BlockingFailures(counter, loop, timeout)

    return make
