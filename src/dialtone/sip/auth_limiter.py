"""Counting failed authentications per source, for toll-fraud brute force (TERMS D2:
unauthorised use is stopped). Settings: ``auth_failures_allowed`` (10),
``auth_failure_window_seconds`` (60), ``auth_block_seconds`` (300)."""

from __future__ import annotations

from collections import OrderedDict, deque


class FailureLimiter:
    """A sliding window of failures per key; over ``allowed`` in ``window`` seconds, the
    key is blocked for ``block`` seconds. Memory is bounded by ``max_keys``."""

    def __init__(
        self, *, allowed: int, window: float, block: float, max_keys: int = 100_000
    ) -> None:
        self.allowed = allowed
        self.window = window
        self.block = block
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._blocked_until: dict[str, float] = {}

    def blocked(self, key: str, now: float) -> bool:
        """Whether ``key`` is refused at ``now``."""
        until = self._blocked_until.get(key)
        if until is None:
            return False
        if now >= until:
            del self._blocked_until[key]
            return False
        return True

    def record_failure(self, key: str, now: float) -> bool:
        """Count one failure; True when it puts ``key`` over the limit (now blocked)."""
        times = self._failures.pop(key, None) or deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        times.append(now)
        self._failures[key] = times
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)
        if len(times) > self.allowed:
            self._blocked_until[key] = now + self.block
            del self._failures[key]
            if len(self._blocked_until) > self.max_keys:
                oldest = min(self._blocked_until, key=self._blocked_until.__getitem__)
                del self._blocked_until[oldest]
            return True
        return False

    def record_success(self, key: str, now: float) -> None:
        """A successful authentication forgets the key's failures."""
        self._failures.pop(key, None)
