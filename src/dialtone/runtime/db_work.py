"""Database work of the messaging runtime, in order and in shared transactions.

Each piece of work is a function of a session; ``run`` returns its result once it is
committed. Work queued together is committed together (``GroupCommit``: one fsync for
many submit_sm_resp), in the order it was queued. A failing batch is retried one piece
at a time: only the piece that fails raises.

Work done for every part of every message (intents, acceptances, receipts) is
``Grouped``: the pieces of one kind queued together run as one call of its function on
all their arguments (a statement for all of them, not one each: issue 15, Figures).
Grouped work runs after the batch's other work, the kinds in the order of their
``rank``, each kind's pieces in the order they were queued. The ranks keep the one
order that matters between them: a delivery receipt is queued after its part's
acceptance (the carrier answers the submit_sm before it sends the receipt), and
acceptances rank before receipts, so a receipt always finds its part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.orm import Session

from .group_commit import GroupCommit

T = TypeVar("T")
A = TypeVar("A")


@dataclass(frozen=True, slots=True)
class Grouped(Generic[A, T]):
    """Work of one kind that runs for many arguments at once: ``fn(session, args)``
    returns one result per argument, in order."""

    rank: int
    fn: Callable[[Session, list[A]], list[T]]
    # Issue 19: a decision to send, refused to a leader that lost its lease (DbWork.fence).
    fenced: bool = False


class Deposed(Exception):
    """This worker no longer holds the leader lease: fenced work is refused."""


@dataclass(slots=True)
class _Work(Generic[T]):
    fn: Callable[[Session], T] | None
    grouped: Grouped[Any, T] | None = None
    arg: Any = None
    result: T | None = None


class DbWork(GroupCommit[_Work[Any]]):
    """Functions of a session, committed in batches on one database thread."""

    what = "messaging writes"
    # Whether this worker still holds the leader lease, read in the transaction of the
    # fenced work (issue 19); None: one worker, nothing to fence.
    fence: Callable[[Session], bool] | None = None

    def fenced(self, session: Session) -> None:
        """Raise :class:`Deposed` when the lease is no longer ours."""
        if self.fence is not None and not self.fence(session):
            raise Deposed("the leader lease is held by another worker")

    def write_batch(self, session: Session, items: list[_Work[Any]]) -> None:
        if any(item.grouped is not None and item.grouped.fenced for item in items):
            self.fenced(session)
        groups: dict[Grouped[Any, Any], list[_Work[Any]]] = {}
        for item in items:
            if item.grouped is None:
                self.write_one(session, item)
            else:
                groups.setdefault(item.grouped, []).append(item)
        for grouped in sorted(groups, key=lambda g: g.rank):
            pieces = groups[grouped]
            results = grouped.fn(session, [piece.arg for piece in pieces])
            for piece, result in zip(pieces, results, strict=True):
                piece.result = result

    def write_one(self, session: Session, item: _Work[Any]) -> None:
        if item.grouped is not None and item.grouped.fenced:
            self.fenced(session)
        if item.grouped is not None:
            [item.result] = item.grouped.fn(session, [item.arg])
        else:
            assert item.fn is not None
            item.result = item.fn(session)

    async def run(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)``'s result, once its transaction is committed; raises what
        ``fn`` raised (alone in its transaction, after the batch's retry)."""
        work: _Work[T] = _Work(fn)
        await self.write(work)
        return cast(T, work.result)

    async def run_grouped(self, grouped: Grouped[A, T], arg: A) -> T:
        """``grouped``'s result for ``arg``, once committed, computed with the other
        arguments of that kind queued with it."""
        work: _Work[T] = _Work(None, grouped, arg)
        await self.write(work)
        return cast(T, work.result)
