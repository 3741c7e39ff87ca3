"""Request body limits, applied before the body is read (ASGI middleware).

A handler that checks a body's size after ``await request.body()`` has already held all
of it in memory: a 26 MB upload to a 64 MiB route cost the server 290 MB before its 400.
So the limit is the edge's: a ``Content-Length`` above the route's limit is answered 413
before one byte is read, and a body without one (chunked) is counted as it streams in
and cut off with 413 as soon as it passes the limit, so the application never holds
more than the limit plus one chunk of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from dialtone.api.v1.dnc import MAX_UPLOAD_BYTES
from dialtone.services.numbering.kyc import MAX_DOCUMENT_BYTES
from dialtone.services.telephony.greetings import MAX_GREETING_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 1024 * 1024

# Bodies are JSON requests of a few kilobytes (a usage batch of 1000 events is ~300 KB)
# except these uploads, each allowed what its handler accepts (and no more).
DEFAULT_LIMIT = 1 * MIB
UPLOAD_LIMITS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("POST", re.compile(r"/v1/dnc/?"), MAX_UPLOAD_BYTES),
    # A greeting as base64 (4 bytes per 3) inside the JSON of a new number.
    ("POST", re.compile(r"/v1/numbers/?"), MAX_GREETING_BYTES * 4 // 3 + 64 * 1024),
    ("PUT", re.compile(r"/v1/numbers/[^/]+/greeting"), MAX_GREETING_BYTES),
    ("PUT", re.compile(r"/v1/users/[^/]+/voicemail-greeting"), MAX_GREETING_BYTES),
    ("PUT", re.compile(r"/v1/port-ins/[^/]+/documents/[^/]+"), MAX_DOCUMENT_BYTES),
    ("PUT", re.compile(r"/v1/kyc/documents/[^/]+"), MAX_DOCUMENT_BYTES),
)


def limit_for(method: str, path: str) -> int:
    """The most bytes a request body to ``method path`` may have."""
    for upload_method, pattern, limit in UPLOAD_LIMITS:
        if method == upload_method and pattern.fullmatch(path):
            return limit
    return DEFAULT_LIMIT


def _too_large(method: str, path: str, limit: int) -> str:
    size = f"{limit / MIB:.4g} MiB" if limit >= MIB else f"{limit} bytes"
    return f"The body of {method} {path} is at most {size}."


class BodyLimit:
    """Refuse a body larger than :func:`limit_for` allows, before reading it (413
    ``http.too_large``, JSON)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        limit = limit_for(method, path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, _too_large(method, path, limit))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the application's read: FastAPI lets an
                    # HTTPException through, and the API's handler answers it as JSON.
                    raise HTTPException(413, _too_large(method, path, limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"code": "http.too_large", "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The body was not read: the connection cannot carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
