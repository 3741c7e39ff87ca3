"""A rate limit for one carrier bind: at most ``rate`` requests a second, with a small
burst, as the generic cell rate algorithm (a token bucket without a timer). Each caller
reserves its slot when it asks, so callers go in the order they asked."""

from __future__ import annotations


class RateLimit:
    """``rate`` per second; up to ``burst`` at once after a quiet time. ``pause(until)``
    holds every slot until then (an SMSC that said ESME_RTHROTTLED)."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0:
            raise ValueError(f"a rate is positive, not {rate}")
        self.interval = 1.0 / rate
        self.tolerance = max(0, burst - 1) * self.interval
        self._tat = float("-inf")  # the theoretical arrival time of the next request
        self._paused_until = float("-inf")

    def reserve(self, now: float) -> float:
        """Take the next slot; the seconds to wait before using it (0: now)."""
        start = max(now, self._tat - self.tolerance, self._paused_until)
        self._tat = max(self._tat, start) + self.interval
        return start - now

    def pause(self, until: float) -> None:
        """No slot before ``until``; slots already taken keep their time."""
        self._paused_until = max(self._paused_until, until)
