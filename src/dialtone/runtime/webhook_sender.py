"""Sends the webhooks owed to accounts (:mod:`dialtone.services.accounts.webhooks`):
takes the due ones on the database thread, POSTs them signed, records each outcome.

An answer 2xx is a delivery; anything else (an error status, a refused connection, no
answer within ``timeout``) is retried with back-off by the service's schedule. A restart
loses nothing: what was in flight is still ``pending`` and comes due again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import webhooks
from dialtone.store.db import transaction

from .due_loop import DueLoop

log = logging.getLogger("dialtone.webhooks")


class WebhookSender:
    """One loop POSTing due webhooks, at most ``concurrency`` at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        db: ThreadPoolExecutor,
        platform_key: bytes,
        *,
        poll: float = 1.0,
        timeout: float = 10.0,
        concurrency: int = 16,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.db = db
        self.key = platform_key
        self.poll = poll
        self.timeout = timeout
        self.clock = clock
        self._client: httpx.AsyncClient | None = None
        self._loop = DueLoop(
            "webhooks", db, self._take, self._send, poll=poll, concurrency=concurrency
        )

    def start(self) -> None:
        """Begin sending (on the running loop)."""
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        self._loop.start()

    def wake(self) -> None:
        """Something was owed: look now rather than at the next poll."""
        self._loop.wake()

    async def close(self) -> None:
        """Stop; deliveries in flight are abandoned (still pending, sent after restart)."""
        await self._loop.close()
        if self._client is not None:
            await self._client.aclose()

    def _take(self) -> list[webhooks.Due]:
        with transaction(self.sessions) as session:
            return webhooks.take_due(session, self.clock())

    async def _send(self, due: webhooks.Due) -> None:
        assert self._client is not None
        body = due.body.encode()
        secret = webhooks.account_secret(self.key, due.account_id)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "dialtone-webhooks",
            webhooks.SIGNATURE_HEADER: webhooks.signature(secret, body, int(time.time())),
        }
        error: str | None = None
        try:
            answer = await self._client.post(due.url, content=body, headers=headers)
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        if error is not None:
            log.info("webhook %d to %s: %s (will retry)", due.id, due.url, error)
        await asyncio.get_running_loop().run_in_executor(self.db, self._record, due.id, error)

    def _record(self, delivery_id: int, error: str | None) -> None:
        with transaction(self.sessions) as session:
            webhooks.record_attempt(session, delivery_id, error=error, now=self.clock())
