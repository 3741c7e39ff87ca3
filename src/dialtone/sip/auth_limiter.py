"""Counting failed authentications per source, against toll-fraud brute force.

TERMS D2 (unauthorised use is stopped): a source that fails digest authentication more
than ``auth_failures_allowed`` times (default 10) within ``auth_failure_window_seconds``
(default 60) is refused for ``auth_block_seconds`` (default 300). A success forgets only
the failures of the username that succeeded: an attacker who holds one account cannot
reset the count of its guesses at another's password by registering its own phone
between them (issue 13).

Pure: no clock; every call is told the time.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Entry:
    # (when, hash of the username): a hash, so that an entry's size does not grow with
    # the usernames a scanner sends; at most ``allowed`` + 1 of them are kept.
    failures: deque[tuple[float, int]] = field(default_factory=deque)
    blocked_until: float | None = None

    def idle(self, now: float, window: float) -> bool:
        """Whether forgetting this entry now would change no answer."""
        if self.blocked_until is not None and now < self.blocked_until:
            return False
        return not self.failures or now - self.failures[-1][0] >= window


class FailureLimiter:
    """A sliding window of failures per key (a source address); the failure that makes more
    than ``allowed`` within ``window`` seconds blocks the key for ``block`` seconds (TERMS D2).

    Failures are counted per key whatever the username they tried; a success forgets the
    failures of its own username only, so the key's count of the others goes on (D2).
    A failure counts while it is less than ``window`` seconds old. A block runs from the
    failure that caused it until exactly ``block`` seconds later. At most ``max_keys`` keys
    are remembered: past that the least recently failing are forgotten (blocks included,
    the price of bounded memory); entries that no longer matter are dropped lazily.
    Settings: ``auth_failures_allowed``, ``auth_failure_window_seconds``,
    ``auth_block_seconds``.
    """

    __slots__ = ("_entries", "allowed", "block", "max_keys", "window")

    def __init__(
        self, *, allowed: int, window: float, block: float, max_keys: int = 100_000
    ) -> None:
        if allowed < 0 or window <= 0 or block < 0 or max_keys < 1:
            raise ValueError("need allowed >= 0, window > 0, block >= 0 and max_keys >= 1")
        self.allowed = allowed
        self.window = window
        self.block = block
        self.max_keys = max_keys
        # Least recently failing first, so that both eviction and lazy expiry look at the
        # front only.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are remembered (for tests and metrics)."""
        return len(self._entries)

    def _expire(self, now: float) -> None:
        # Amortised O(1): each entry is dropped once; stop at the first that still matters.
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if not entry.idle(now, self.window):
                return
            del self._entries[key]

    def blocked(self, key: str, now: float) -> bool:
        """Whether ``key`` is refused at ``now`` (TERMS D2)."""
        self._expire(now)
        entry = self._entries.get(key)
        if entry is None or entry.blocked_until is None:
            return False
        if now < entry.blocked_until:
            return True
        entry.blocked_until = None
        if not entry.failures:
            del self._entries[key]
        return False

    def record_failure(self, key: str, now: float, *, username: str = "") -> bool:
        """Count one failed authentication of ``key`` at ``now``, trying ``username``.

        True exactly when this failure is the (``allowed`` + 1)-th inside the window, so
        ``key`` is now blocked for ``block`` seconds. While a block lasts, failures are not
        counted and do not extend it (the caller refuses the key before trying anyway).
        """
        self._expire(now)
        entry = self._entries.get(key)
        if entry is None:
            entry = _Entry()
            self._entries[key] = entry
        else:
            self._entries.move_to_end(key)
            if entry.blocked_until is not None:
                if now < entry.blocked_until:
                    return False
                entry.blocked_until = None
        failures = entry.failures
        while failures and now - failures[0][0] >= self.window:
            failures.popleft()
        failures.append((now, hash(username)))
        over = len(failures) > self.allowed
        if over:
            failures.clear()
            entry.blocked_until = now + self.block
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)
        return over

    def record_success(self, key: str, now: float, *, username: str = "") -> None:
        """A successful authentication of ``username`` from ``key`` forgets the failures of
        that username only (a phone whose user fixed a mistyped password); the failures of
        other usernames from ``key`` still count, and a block is not lifted (TERMS D2)."""
        self._expire(now)
        entry = self._entries.get(key)
        if entry is None:
            return
        mine = hash(username)
        kept = [failure for failure in entry.failures if failure[1] != mine]
        if len(kept) != len(entry.failures):
            entry.failures = deque(kept)
        if entry.failures:
            return
        if entry.blocked_until is None or now >= entry.blocked_until:
            del self._entries[key]
