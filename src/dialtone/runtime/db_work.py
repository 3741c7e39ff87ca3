"""Database work of the messaging runtime, in order and in shared transactions.

Each piece of work is a function of a session; ``run`` returns its result once it is
committed. Work queued together is committed together (``GroupCommit``: one fsync for
many submit_sm_resp), in the order it was queued, so a delivery receipt queued after
its part's record always finds the part. A failing batch is retried one piece at a time:
only the piece that fails raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.orm import Session

from .group_commit import GroupCommit

T = TypeVar("T")


@dataclass(slots=True)
class _Work(Generic[T]):
    fn: Callable[[Session], T]
    result: T | None = None


class DbWork(GroupCommit[_Work[Any]]):
    """Functions of a session, committed in batches on one database thread."""

    what = "messaging writes"

    def write_one(self, session: Session, item: _Work[Any]) -> None:
        item.result = item.fn(session)

    async def run(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)``'s result, once its transaction is committed; raises what
        ``fn`` raised (alone in its transaction, after the batch's retry)."""
        work: _Work[T] = _Work(fn)
        await self.write(work)
        return cast(T, work.result)
