"""serve's log: the database out of reach is one line per event, not a traceback."""

from __future__ import annotations

import logging
import sys

import pytest
from sqlalchemy.exc import OperationalError

from dialtone.cli.serve import DatabaseUnreachableInOneLine

REFUSED = "connection failed: port 5 failed: Connection refused\nIs the server running?"


def _record(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "dialtone.x", logging.ERROR, __file__, 1, "scan %s", ("failed",), exc_info
    )


def _wrapped(message: str) -> BaseException:
    try:
        try:
            raise OperationalError("SELECT 1", {}, Exception(message))
        except OperationalError as exc:
            raise RuntimeError("a round failed") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "one_line"),
    [
        (OperationalError("x", {}, Exception(REFUSED)), True),
        (OperationalError("x", {}, Exception("FATAL:  the database system is starting up")), True),
        (_wrapped("server closed the connection unexpectedly"), True),  # as a cause
        (OperationalError("x", {}, Exception("database is locked")), False),  # not unreachable
        (ValueError("connection refused"), False),  # not the database's
    ],
)  # fmt: skip
def test_an_unreachable_database_is_logged_in_one_line(
    error: BaseException, one_line: bool
) -> None:
    record = _record(error)
    assert DatabaseUnreachableInOneLine().filter(record)
    if one_line:
        assert record.exc_info is None
        line = record.getMessage()
        assert line.startswith("scan failed: database unreachable (")
        assert "\n" not in line
    else:
        assert record.exc_info is not None
        assert record.getMessage() == "scan failed"
