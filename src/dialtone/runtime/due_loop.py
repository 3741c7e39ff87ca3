"""The loop the outboxes share (webhooks, email): take what is due on the database
thread, handle each item (at most ``concurrency`` at a time), take again while there is
more, else wait for ``wake()`` or the next poll. A round that fails is logged and
retried at the next one: what was due stays due in the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")


class DueLoop(Generic[Item]):
    """Runs ``take`` (on ``db``) and ``handle`` (on the loop) until closed."""

    def __init__(
        self,
        name: str,
        db: ThreadPoolExecutor,
        take: Callable[[], list[Item]],
        handle: Callable[[Item], Awaitable[None]],
        *,
        poll: float,
        concurrency: int,
    ) -> None:
        self.log = logging.getLogger(f"dialtone.{name}")
        self.db = db
        self.take = take
        self.handle = handle
        self.poll = poll
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin (on the running loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """Something became due: look now rather than at the next poll."""
        self._wake.set()

    async def close(self) -> None:
        """Stop; items in flight are abandoned (still due in the store)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _one(self, item: Item) -> None:
        async with self._limit:
            await self.handle(item)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                due = await loop.run_in_executor(self.db, self.take)
                if due:
                    await asyncio.gather(*(self._one(item) for item in due))
                    continue  # more may be due
            except Exception:
                self.log.exception("a round failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
