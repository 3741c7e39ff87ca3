"""The process's log lines: text (the default) or one JSON object a line (issue 19).

Which call, account and worker a line belongs to is not passed to each log call: the work
that runs for a call (the call driver feeding it an event) or for an account (an API
request once its key is known) sets :data:`LOG_IDS`, and every line logged during that
work, in tasks it starts too, carries them. Shared workers started lazily from such work
(a group commit's writer, a channel's timer) run in :data:`CLEAN`, so they do not carry one
call's ids into everyone's work.

Only ids go into the new fields: record ids (``CA…``, ``AC…``) and the worker's name, never
a phone number or a secret (TERMS D4). What a message itself says is unchanged.

Imports nothing of dialtone: the runtime, the API and the console all set the ids.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "CLEAN",
    "LOG_IDS",
    "JsonFormatter",
    "LogIds",
    "TextFormatter",
    "configure",
    "note_account",
]


class LogIds:
    """The ids of the work being done: mutable, so an API request's account, known only
    once its key is checked (in a thread of the pool, a copy of the request's context),
    reaches every later line of the request."""

    __slots__ = ("account_id", "call_id")

    def __init__(self, call_id: str | None = None, account_id: str | None = None) -> None:
        self.call_id = call_id
        self.account_id = account_id


LOG_IDS: contextvars.ContextVar[LogIds | None] = contextvars.ContextVar(
    "dialtone_log_ids", default=None
)

# A context with no ids: shared work started from a call's or a request's work runs in a
# copy of it (``loop.call_at(..., context=CLEAN.copy())``, ``create_task(...,
# context=CLEAN.copy())``; a copy each time, so nothing set in one run stays for the next).
CLEAN = contextvars.Context()


def note_account(account_id: str) -> None:
    """The account the current request acts for (after its key is checked); nothing
    outside a request's work."""
    ids = LOG_IDS.get()
    if ids is not None:
        ids.account_id = account_id


class _Ids(logging.Filter):
    """Puts the ids on every record (``call_id``, ``account_id``, ``worker_id``; None
    when not known) for the formatters."""

    def __init__(self, worker_id: str | None) -> None:
        super().__init__()
        self.worker_id = worker_id

    def filter(self, record: logging.LogRecord) -> bool:
        ids = LOG_IDS.get()
        record.call_id = ids.call_id if ids is not None else None
        record.account_id = ids.account_id if ids is not None else None
        record.worker_id = self.worker_id
        return True


_FIELDS = ("call_id", "account_id", "worker_id")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (ISO 8601, UTC, milliseconds), ``level``,
    ``logger``, ``message``, the ids known (``call_id``, ``account_id``, ``worker_id``,
    absent when not) and ``exc`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The text line as it always was, with ``[call CA… account AC…]`` after the logger's
    name when the line was logged in a call's or an account's work."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s:%(ids)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = []
        call_id = getattr(record, "call_id", None)
        account_id = getattr(record, "account_id", None)
        if call_id is not None:
            parts.append(f"call {call_id}")
        if account_id is not None:
            parts.append(f"account {account_id}")
        record.ids = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


def configure(
    level: str,
    log_format: Literal["text", "json"] = "text",
    *,
    worker_id: str | None = None,
    force: bool = False,
) -> logging.Handler | None:
    """Log to standard error at ``level`` in ``log_format``; returns the handler. As
    ``logging.basicConfig`` does, nothing is done when the root logger has handlers
    already (a command run inside a test, whose runner captures the logs), unless
    ``force``, which replaces them."""
    root = logging.getLogger()
    if root.handlers and not force:
        return None
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    # On the handler, not a logger: records of every logger (uvicorn's, SQLAlchemy's)
    # pass through it.
    handler.addFilter(_Ids(worker_id))
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
