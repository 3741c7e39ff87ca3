"""A short-lived cache for the look-ups every INVITE makes (trunk by source, route by
number, whether a name is a device's, an account's trunks and numbers).

Calls come in bursts to the same few numbers from the same few trunks; reading the
same rows for each one made the database thread the bottleneck of the call rate.
Entries live ``seconds`` (1 s by default), so a change made over the API or the CLI
takes effect on calls that start at most that long after it. Zero turns it off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

MAX_ENTRIES = 10_000


class LookupCache:
    """Values by key, each for ``seconds`` after it was read."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self.hits = 0
        self.misses = 0

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
        now = self.clock()
        if len(self._entries) >= MAX_ENTRIES:
            # Expired entries first; when everything is fresh, start over (a burst of
            # distinct keys is rare and the cache refills in a second).
            self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (now + self.seconds, value)

    def clear(self) -> None:
        self._entries.clear()
