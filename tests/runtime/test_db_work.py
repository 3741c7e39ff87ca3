"""DbWork: work queued together is committed together; grouped work of one kind runs
as one call, after the batch's other work, kinds by rank, each caller getting its own
result; a failing piece fails alone."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dialtone.runtime.db_work import DbWork, Grouped
from tests.database import migrated_database


def _work(tmp_path: Path, executor: ThreadPoolExecutor) -> DbWork:
    _, sessions = migrated_database(tmp_path / "work.db")
    # Pieces queued in one turn of the loop (``gather``'s tasks all start before the
    # worker the first one creates) land in one batch.
    return DbWork(sessions, executor)


def test_grouped_kinds_run_by_rank_after_the_rest_each_caller_its_result(
    tmp_path: Path,
) -> None:
    calls: list[tuple[str, list[int]]] = []

    def kind(name: str) -> Grouped[int, int]:
        def fn(session: Session, args: list[int]) -> list[int]:
            calls.append((name, list(args)))
            return [a * 10 for a in args]

        return Grouped(rank={"receipts": 3, "acceptances": 2}[name], fn=fn)

    receipts, acceptances = kind("receipts"), kind("acceptances")

    def plain(session: Session) -> str:
        calls.append(("plain", []))
        return "done"

    async def main() -> list[object]:
        with ThreadPoolExecutor(1) as executor:
            work = _work(tmp_path, executor)
            return list(
                await asyncio.gather(
                    work.run_grouped(receipts, 1),
                    work.run_grouped(acceptances, 2),
                    work.run(plain),
                    work.run_grouped(receipts, 3),
                    work.run_grouped(acceptances, 4),
                )
            )

    assert asyncio.run(main()) == [10, 20, "done", 30, 40]
    assert calls == [("plain", []), ("acceptances", [2, 4]), ("receipts", [1, 3])]


def test_a_failing_piece_fails_alone(tmp_path: Path) -> None:
    def fn(session: Session, args: list[int]) -> list[int]:
        if 13 in args:
            raise ValueError("unlucky")
        return list(args)

    grouped: Grouped[int, int] = Grouped(1, fn)

    async def main() -> list[object]:
        with ThreadPoolExecutor(1) as executor:
            work = _work(tmp_path, executor)
            return list(
                await asyncio.gather(
                    work.run_grouped(grouped, 12),
                    work.run_grouped(grouped, 13),
                    work.run_grouped(grouped, 14),
                    return_exceptions=True,
                )
            )

    first, failed, last = asyncio.run(main())
    assert (first, last) == (12, 14)
    assert isinstance(failed, ValueError)


@pytest.mark.parametrize("pieces", [1, 2, 200])
def test_every_caller_is_answered_whatever_the_batch(tmp_path: Path, pieces: int) -> None:
    grouped: Grouped[int, int] = Grouped(1, lambda session, args: [a + 1 for a in args])

    async def main() -> list[int]:
        with ThreadPoolExecutor(1) as executor:
            work = _work(tmp_path, executor)
            return list(
                await asyncio.gather(*(work.run_grouped(grouped, i) for i in range(pieces)))
            )

    assert asyncio.run(main()) == [i + 1 for i in range(pieces)]
