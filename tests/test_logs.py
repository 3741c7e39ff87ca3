"""The log lines (issue 19): text as before, or one JSON object a line, each carrying the
call's, the account's and the worker's ids of the work it was logged in, and nothing
else new (no phone number, no secret: TERMS D4)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from dialtone.logs import (
    CLEAN,
    LOG_IDS,
    JsonFormatter,
    LogIds,
    TextFormatter,
    configure,
    note_account,
)

log = logging.getLogger("dialtone.test")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's output in JSON, as ``serve`` configures it; restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    handler = configure("DEBUG", "json", worker_id="w1", force=True)
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    # Every line parses on its own.
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_one_json_object_with_ids_inside_a_calls_work_only(
    captured: io.StringIO,
) -> None:
    log.info("before the call")
    token = LOG_IDS.set(LogIds("CA1", "AC1"))
    try:
        log.warning("inside the call: %s", 'a "quoted"\nline')
    finally:
        LOG_IDS.reset(token)
    log.info("after the call")
    before, inside, after = lines(captured)
    assert inside["call_id"] == "CA1"
    assert inside["account_id"] == "AC1"
    assert inside["worker_id"] == "w1"
    assert inside["message"] == 'inside the call: a "quoted"\nline'
    assert (inside["level"], inside["logger"]) == ("WARNING", "dialtone.test")
    assert str(inside["time"]).endswith("+00:00")  # ISO 8601, UTC
    for outside in (before, after):
        assert "call_id" not in outside
        assert "account_id" not in outside
        assert outside["worker_id"] == "w1"
    assert set(inside) == {
        "time",
        "level",
        "logger",
        "message",
        "call_id",
        "account_id",
        "worker_id",
    }


def test_a_traceback_is_in_exc(captured: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    [line] = lines(captured)
    assert "ValueError: boom" in str(line["exc"])
    assert line["message"] == "it failed"


def test_tasks_the_work_starts_carry_its_ids_and_shared_work_does_not(
    captured: io.StringIO,
) -> None:
    async def child() -> None:
        log.info("in a task")

    async def work() -> None:
        loop = asyncio.get_running_loop()
        LOG_IDS.set(LogIds("CA2", "AC2"))
        await loop.create_task(child())
        await asyncio.to_thread(log.info, "in a thread")
        # A shared worker started from the call's work runs in a clean context.
        loop.call_soon(log.info, "in no call", context=CLEAN.copy())
        await asyncio.sleep(0.01)

    asyncio.run(work())
    task, thread, shared = [line for line in lines(captured) if line["logger"] == log.name]
    assert task["call_id"] == thread["call_id"] == "CA2"
    assert "call_id" not in shared


def test_a_request_learns_its_account_once_its_key_is_checked(captured: io.StringIO) -> None:
    note_account("ACnobody")  # outside a request: nothing to note it on
    token = LOG_IDS.set(LogIds())
    try:
        log.info("before the key")
        note_account("AC3")
        log.info("after the key")
    finally:
        LOG_IDS.reset(token)
    before, after = lines(captured)
    assert "account_id" not in before
    assert after["account_id"] == "AC3"
    assert LOG_IDS.get() is None


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("dialtone.calls", logging.INFO, __file__, 1, message, None, None)


def test_the_text_format_is_as_before_with_the_ids_when_known() -> None:
    formatter = TextFormatter()
    plain = record("stopped")
    plain.call_id = plain.account_id = None
    assert formatter.format(plain).endswith(" INFO dialtone.calls: stopped")
    inside = record("call CA1 ended")
    inside.call_id, inside.account_id = "CA1", "AC1"
    assert formatter.format(inside).endswith(
        " INFO dialtone.calls: [call CA1 account AC1] call CA1 ended"
    )


def test_json_is_written_from_any_record() -> None:
    # A record that did not pass the ids filter (another handler's) still formats.
    line = json.loads(JsonFormatter().format(record("x")))
    assert set(line) == {"time", "level", "logger", "message"}


def test_configure_replaces_the_handlers_and_keeps_text_by_default() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        handler = configure("warning", force=True)
        assert handler is not None
        assert root.handlers == [handler]
        assert isinstance(handler.formatter, TextFormatter)
        assert root.level == logging.WARNING
        # As logging.basicConfig: handlers in place (a test runner's) are left alone.
        assert configure("debug", "json") is None
        assert root.handlers == [handler]
        assert root.level == logging.WARNING
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
