"""Group commit: records written together share one transaction (one fsync).

``write`` returns only once its record is committed (or raises when it could not be), so
the caller may then acknowledge what the record stands for. A failing batch is retried
one record at a time, so one bad record fails alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from dialtone.logs import CLEAN
from dialtone.store.db import transaction

log = logging.getLogger("dialtone.store")

Item = TypeVar("Item")


class GroupCommit(Generic[Item]):
    """Queues records and commits them in batches on the database thread. Subclasses say
    how a batch is written fast (``write_batch``) and how one record is written with its
    checks (``write_one``)."""

    what = "records"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        executor: Executor,
        *,
        max_batch: int = 200,
        window: float = 0.015,
        busy_gap: float = 0.05,
    ) -> None:
        self.sessions = sessions
        self.executor = executor
        self.max_batch = max_batch
        # Under load (the last commit ended less than ``busy_gap`` ago), wait ``window``
        # seconds for more records before committing: a transaction costs about 0.6 ms of
        # CPU whatever it holds, against some 0.1 ms per extra record, and that CPU is
        # taken from the event loop (the GIL). An idle server commits at once.
        self.window = window
        self.busy_gap = busy_gap
        self._last_commit = float("-inf")
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[None]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0
        self.written = 0
        self._in_flight = 0
        # Told how long each record committed waited, from ``write`` to its commit
        # (seconds): what a BYE's answer waits (the metrics' histogram).
        self.on_committed: Callable[[float], None] | None = None

    def write_batch(self, session: Session, items: list[Item]) -> None:
        """Write ``items`` in one go (no per-record checks)."""
        for item in items:
            self.write_one(session, item)

    def write_one(self, session: Session, item: Item) -> None:
        """Write one record, with whatever checks make a bad one fail alone."""
        raise NotImplementedError

    async def write(self, item: Item) -> None:
        """Commit ``item`` (possibly together with others); raises if it cannot be."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        began = loop.time()
        self._queue.put_nowait((item, done))
        if self._worker is None or self._worker.done():
            # The writer commits everyone's records: it logs in no call's context.
            self._worker = loop.create_task(self._run(), context=CLEAN.copy())
        await done
        if self.on_committed is not None:
            self.on_committed(loop.time() - began)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._queue.empty():
            if (
                self.window > 0
                and loop.time() - self._last_commit < self.busy_gap
                and self._queue.qsize() < self.max_batch
            ):
                await asyncio.sleep(self.window)
            batch = [self._queue.get_nowait()]
            while not self._queue.empty() and len(batch) < self.max_batch:
                batch.append(self._queue.get_nowait())
            items = [item for item, _ in batch]
            self._in_flight = len(batch)
            try:
                await loop.run_in_executor(self.executor, self._commit, items, True)
            except Exception:
                log.warning("a batch of %d %s failed; retrying one by one", len(batch), self.what)
                for item, done in batch:
                    try:
                        await loop.run_in_executor(self.executor, self._commit, [item], False)
                    except Exception as exc:
                        _settle(done, exc)
                    else:
                        self.batches += 1
                        self.written += 1
                        _settle(done, None)
                self._in_flight = 0
                continue
            self._in_flight = 0
            self._last_commit = loop.time()
            self.batches += 1
            self.written += len(batch)
            for _, done in batch:
                _settle(done, None)

    @property
    def pending(self) -> int:
        """Records waiting for their commit (queued or in the batch being written): a
        backlog overload control measures, since each one holds a BYE's answer."""
        return self._queue.qsize() + self._in_flight

    def _commit(self, items: list[Item], fast: bool) -> None:
        with transaction(self.sessions) as session:
            if fast:
                self.write_batch(session, items)
            else:
                for item in items:
                    self.write_one(session, item)

    async def close(self) -> None:
        """Wait for queued records to be committed."""
        if self._worker is not None:
            await asyncio.gather(self._worker, return_exceptions=True)


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    """Tell a writer how its record went, unless it stopped waiting (cancelled): the
    worker must go on for the others."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
