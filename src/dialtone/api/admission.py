"""How many API requests use the database at once.

FastAPI runs each request's session on its thread pool (40 threads), and SQLAlchemy's
pool holds 15 connections: under a burst of POSTs (issue 15: 300 POST /v1/messages per
second), 40 sessions waited on 15 connections and the ones still waiting after 30 s
were answered 500 (the pool's time-out). Here a request waits for a place
(``SESSIONS_AT_ONCE``, below the pool's size: the runtime's threads use it too) at most
``WAIT_SECONDS``, then is answered ``503 api.busy`` with ``Retry-After``, without
touching the database (not even the error log).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dialtone.core.errors import DialtoneError

SESSIONS_AT_ONCE = 8
WAIT_SECONDS = 2.0
RETRY_AFTER_SECONDS = 1


class Admission:
    """The places (module docstring)."""

    def __init__(
        self, *, sessions_at_once: int = SESSIONS_AT_ONCE, wait_seconds: float = WAIT_SECONDS
    ) -> None:
        self.wait_seconds = wait_seconds
        self._places = threading.BoundedSemaphore(sessions_at_once)
        self.refused = 0

    @contextmanager
    def enter(self) -> Iterator[None]:
        """Hold a place for the block; raises ``api.busy`` (503) when none came within
        ``wait_seconds``."""
        if not self._places.acquire(timeout=self.wait_seconds):
            self.refused += 1
            raise DialtoneError(
                "api.busy",
                f"The API is past its capacity; try again in {RETRY_AFTER_SECONDS} s.",
                status=503,
            )
        try:
            yield
        finally:
            self._places.release()
