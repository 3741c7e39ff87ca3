"""The tasks call applications ask the runtime to run (``RunTask``): one registry from a
task's type to the coroutine that does it (fetch a TwiML document, synthesise speech,
save a recording). The application stays pure; what it needs from outside is here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dialtone.call.spec import CallSpec

log = logging.getLogger("dialtone.calls")

# A task's handler: the call's spec (whose call it is) and the task; its result.
Handler = Callable[[CallSpec, Any], Awaitable[object]]


class AppTasks:
    """Handlers by task type; ``run`` never raises (a failure is the answer's error)."""

    def __init__(self) -> None:
        self._handlers: dict[type, Handler] = {}

    def register(self, kind: type, handler: Handler) -> None:
        """Run tasks of ``kind`` with ``handler`` (one handler per type)."""
        self._handlers[kind] = handler

    def knows(self, kind: type) -> bool:
        return kind in self._handlers

    async def run(self, spec: CallSpec, task: object) -> tuple[object, str | None]:
        """The task's result, or None and why it failed."""
        handler = self._handlers.get(type(task))
        if handler is None:
            return None, f"no handler for {type(task).__name__}"
        try:
            return await handler(spec, task), None
        except Exception as exc:
            log.warning("call %s: %s failed: %s", spec.record_id, type(task).__name__, exc)
            return None, f"{type(exc).__name__}: {exc}"[:300]
