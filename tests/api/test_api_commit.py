"""A write is committed before its response starts (nothing acknowledged is lost)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.settings import Settings
from tests.api.conftest import new_account


def _request(
    app: Any, method: str, path: str, *, key: str, body: dict[str, Any], seen: Any
) -> None:
    """Drive the ASGI app by hand: ``seen(message)`` runs as each message is sent, so
    what had happened by then can be observed (a test client only returns at the end)."""
    payload = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        seen(message)

    asyncio.run(app(scope, receive, send))


def test_a_write_is_committed_before_its_response_starts(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """A client holding a 2xx may act on it at once (a route set, then a call placed at
    once must find the new route), and a commit that fails must not follow a 2xx."""
    _, key = new_account(sessions, "acme")
    app = create_app(settings, sessions)
    commits = 0
    at_start: list[tuple[int, int]] = []

    def committed(_session: Session) -> None:
        nonlocal commits
        commits += 1

    def seen(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            at_start.append((message["status"], commits))

    event.listen(Session, "after_commit", committed)
    try:
        _request(app, "POST", "/v1/numbers", key=key, body={"number": "+33123456789"}, seen=seen)
    finally:
        event.remove(Session, "after_commit", committed)
    status, commits_by_then = at_start[0]
    assert status == 201
    assert commits_by_then >= 1, "the 201 was sent before the number was committed"
