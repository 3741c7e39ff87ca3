"""The runtime's side of applications' tasks and prompts: handlers by task type, a
failure reported rather than raised, loops bounded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from dialtone.call.spec import CallSpec
from dialtone.runtime.app_tasks import AppTasks
from dialtone.runtime.call_driver import LONGEST_LOOP_SECONDS, looped

SPEC = CallSpec("CA1", "AC1", "inbound", "+1", "+2", datetime(2026, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class Double:
    n: int


@dataclass(frozen=True)
class Other:
    pass


def run(tasks: AppTasks, task: object) -> tuple[object, str | None]:
    return asyncio.run(tasks.run(SPEC, task))


def test_a_task_runs_with_the_handler_of_its_type() -> None:
    tasks = AppTasks()
    seen: list[str] = []

    async def double(spec: CallSpec, task: Double) -> int:
        seen.append(spec.record_id)
        return task.n * 2

    tasks.register(Double, double)
    assert run(tasks, Double(21)) == (42, None)
    assert seen == ["CA1"]
    assert tasks.knows(Double)
    assert not tasks.knows(Other)


def test_an_unknown_task_or_a_failing_handler_is_an_error_not_an_exception() -> None:
    tasks = AppTasks()

    async def fail(spec: CallSpec, task: Double) -> int:
        raise OSError("disk full")

    tasks.register(Double, fail)
    assert run(tasks, Other()) == (None, "no handler for Other")
    assert run(tasks, Double(1)) == (None, "OSError: disk full")


@pytest.mark.parametrize(
    ("loop", "times"),
    [(1, 1), (2, 2), (3, 3), (0, LONGEST_LOOP_SECONDS * 8000 // 800), (-1, 6000), (10**6, 6000)],
)
def test_a_prompt_loops_as_asked_and_never_beyond_the_longest(loop: int, times: int) -> None:
    prompt = bytes(range(200)) * 4  # 800 bytes: 0.1 s of G.711
    assert len(looped(prompt, loop)) == len(prompt) * times


def test_an_empty_prompt_stays_empty() -> None:
    assert looped(b"", 0) == b""
