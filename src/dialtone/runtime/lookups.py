"""A short-lived cache for the look-ups every INVITE makes (trunk by source, route by
number, whether a name is a device's, an account's trunks and numbers).

Calls come in bursts to the same few numbers from the same few trunks; reading the
same rows for each one made the database thread the bottleneck of the call rate.
Entries live ``seconds`` (1 s by default), so a change made over the API or the CLI
takes effect on calls that start at most that long after it. Zero turns it off.

``fetch`` reads through the cache without a stampede: when an entry expires under load,
the concurrent misses for one key share one read (the first starts it, the others await
it; a failure reaches every one of them and is not kept), and a hot entry is read again
shortly before it expires (one refresh at a time per key), so steady load does not miss.
A value lives ``seconds`` from the moment its read *started*, so a change made before
that moment is in it and the bound above holds; ``clear`` during a read keeps that
read's value out of the cache (its waiters still get it, as a read in progress did).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ENTRIES = 10_000
# A hit in the last fifth of an entry's lifetime starts its refresh: 200 ms ahead at the
# default second, ample for a read that takes a millisecond or two.
REFRESH_AHEAD = 0.2


class LookupCache:
    """Values by key, each for ``seconds`` after it was read."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._reads: dict[Hashable, asyncio.Task[Any]] = {}  # in progress, by key
        # Every read until it ends: the loop holds tasks weakly, and a read ``clear``
        # took out of ``_reads`` still runs to its end.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._generation = 0
        self.hits = 0
        self.misses = 0
        self.reads = 0  # reads ``fetch`` started, refreshes included
        self.refreshes = 0

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """(True, value) when ``key`` was read less than ``seconds`` ago, else (False, None)."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self.clock():
            self.hits += 1
            return True, entry[1]
        self.misses += 1
        return False, None

    def put(self, key: Hashable, value: Any) -> None:
        if self.seconds <= 0:
            return
        self._store(key, value, self.clock() + self.seconds)

    async def fetch(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[T]],
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """The value of ``key``: from the cache while fresh, else from ``load()``, one
        read for all the concurrent misses of ``key``. A value ``keep`` rejects is
        returned to those waiting for it but not kept. A hit near the end of the
        entry's life starts a refresh in the background (its failure is logged; the
        entry then expires as it would have)."""
        if self.seconds <= 0:
            self.misses += 1
            return await load()
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            self.hits += 1
            if entry[0] - now <= self.seconds * REFRESH_AHEAD and key not in self._reads:
                self.refreshes += 1
                self._start(key, load, keep, now, refresh=True)
            return entry[1]  # type: ignore[no-any-return]
        self.misses += 1
        running = self._reads.get(key)
        task = running if running is not None else self._start(key, load, keep, now)
        # A waiter that is cancelled (its call gone) leaves the read to the others.
        return await asyncio.shield(task)

    def _start(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[T]],
        keep: Callable[[T], bool] | None,
        started: float,
        *,
        refresh: bool = False,
    ) -> asyncio.Task[T]:
        generation = self._generation
        self.reads += 1

        async def read() -> T:
            return await load()

        task = asyncio.get_running_loop().create_task(read())

        def done(task: asyncio.Task[T]) -> None:
            self._tasks.discard(task)
            if self._reads.get(key) is task:
                del self._reads[key]
            if task.cancelled():
                return
            failure = task.exception()  # retrieved: no "never retrieved" when no one waits
            if failure is not None:
                if refresh:  # no one waits for it: the entry expires as it would have
                    log.warning("look-up %r not refreshed: %r", key, failure)
                return
            value = task.result()
            if generation == self._generation and (keep is None or keep(value)):
                self._store(key, value, started + self.seconds)

        task.add_done_callback(done)
        self._tasks.add(task)
        self._reads[key] = task
        return task

    def _store(self, key: Hashable, value: Any, expires: float) -> None:
        now = self.clock()
        if expires <= now:
            return
        if len(self._entries) >= MAX_ENTRIES:
            # Expired entries first; when everything is fresh, start over (a burst of
            # distinct keys is rare and the cache refills in a second).
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (expires, value)

    def clear(self) -> None:
        """Forget every entry; reads in progress keep their values out of the cache, and
        the next ``fetch`` of their keys reads again rather than joining them."""
        self._entries.clear()
        self._reads.clear()
        self._generation += 1
