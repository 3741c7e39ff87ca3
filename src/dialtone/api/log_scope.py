"""Each HTTP request's log context (dialtone.logs): the lines logged while it is handled
carry the account it acts for, once its key is checked (``deps.current_caller`` and the
Twilio API's and the console's sign-in checks call ``note_account``)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from dialtone.logs import LOG_IDS, LogIds


class LogScope:
    """An ASGI middleware: a fresh :class:`LogIds` for every HTTP request, shared by its
    handler and the dependencies run in the thread pool (each runs in a copy of the
    request's context, which holds the same object)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = LOG_IDS.set(LogIds())
        try:
            await self.app(scope, receive, send)
        finally:
            LOG_IDS.reset(token)
