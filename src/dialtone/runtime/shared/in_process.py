"""The shared state of a single worker: everything in this process, as before issue 19.

Failure counters are the pure ``sip.auth_limiter.FailureLimiter``; no other worker
has calls; a published topic calls this process's subscribers on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from dialtone.sip.auth_limiter import FailureLimiter

from . import SharedState

log = logging.getLogger("dialtone.shared")


class LocalFailures:
    """A ``FailureCounter`` over the pure limiter (thread-safe: the console's handlers
    run on worker threads)."""

    def __init__(self, limiter: FailureLimiter) -> None:
        self.limiter = limiter
        self._lock = threading.Lock()

    async def blocked(self, key: str, now: float) -> bool:
        return self.blocked_now(key, now)

    async def record_failure(self, key: str, now: float, *, username: str = "") -> bool:
        return self.failure_now(key, now, username=username)

    async def record_success(self, key: str, now: float, *, username: str = "") -> None:
        self.success_now(key, now, username=username)

    # The same, synchronous: what the Redis counter falls back to, and the console's.
    def blocked_now(self, key: str, now: float) -> bool:
        with self._lock:
            return self.limiter.blocked(key, now)

    def failure_now(self, key: str, now: float, *, username: str = "") -> bool:
        with self._lock:
            return self.limiter.record_failure(key, now, username=username)

    def success_now(self, key: str, now: float, *, username: str = "") -> None:
        with self._lock:
            self.limiter.record_success(key, now, username=username)


def local_failures(scope: str, allowed: int, window: float, block: float) -> LocalFailures:
    del scope  # one process: each counter is its own object
    return LocalFailures(FailureLimiter(allowed=allowed, window=window, block=block))


class NoOtherWorkers:
    """``LiveCalls`` of a single worker: nobody else has calls."""

    def attach(self, count: Callable[[str], int], snapshot: Callable[[], dict[str, int]]) -> None:
        del count, snapshot

    def changed(self, user_ids: Iterable[str]) -> None:
        del user_ids

    async def elsewhere(self, user_ids: Sequence[str]) -> list[int]:
        return [0] * len(user_ids)

    def elsewhere_blocking(self, user_id: str) -> int:
        del user_id
        return 0


class LocalBus:
    """Topics within this process: a publish schedules every subscriber on the loop
    (from any thread)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.subscribers: dict[str, list[Callable[[], None]]] = {}

    def subscribe(self, topic: str, callback: Callable[[], None]) -> None:
        self.subscribers.setdefault(topic, []).append(callback)

    def publish(self, topic: str) -> None:
        if self.loop.is_closed():
            return
        # The loop may close meanwhile: nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.deliver, topic)

    def deliver(self, topic: str) -> None:
        """Call ``topic``'s subscribers now (on the loop)."""
        for callback in list(self.subscribers.get(topic, ())):
            try:
                callback()
            except Exception:
                log.exception("subscriber of %s failed", topic)


def open_in_process(worker_id: str) -> SharedState:
    """The in-process shared state (no ``redis_url``)."""
    return SharedState(
        backend="in_process",
        worker_id=worker_id,
        bus=LocalBus(asyncio.get_running_loop()),
        live=NoOtherWorkers(),
        failure_counter=local_failures,
    )
