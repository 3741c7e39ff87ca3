"""Bodies are refused by size before they are read (issue 13, item 7): a declared
``Content-Length`` over the route's limit is a 413 without reading, and a body without
one is cut off at the limit as it streams in."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.api.limits import DEFAULT_LIMIT, MIB, limit_for
from dialtone.settings import Settings

from .conftest import auth, new_account


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/v1/usage", DEFAULT_LIMIT),
        ("POST", "/v1/dnc", 16 * MIB),
        ("PUT", "/v1/numbers/+33123456789/greeting", 10 * MIB),
        ("PUT", "/v1/kyc/documents/identity", 10 * MIB),
        ("PUT", "/v1/users/US0/voicemail-greeting", 10 * MIB),
        ("PUT", "/v1/port-ins/PI0/documents/mandate", 10 * MIB),
        ("POST", "/v1/numbers", 10 * MIB * 4 // 3 + 64 * 1024),
        ("GET", "/v1/dnc", DEFAULT_LIMIT),
    ],
)
def test_each_route_has_its_limit(method: str, path: str, limit: int) -> None:
    assert limit_for(method, path) == limit


@pytest.mark.parametrize(
    ("size", "refused"),
    [(DEFAULT_LIMIT - 1, False), (DEFAULT_LIMIT, False), (DEFAULT_LIMIT + 1, True)],
)
def test_a_declared_length_over_the_limit_is_a_413(
    client: TestClient, sessions: sessionmaker[Session], size: int, refused: bool
) -> None:
    _, key = new_account(sessions, "Acme")
    body = b"{" + b" " * (size - 2) + b"}"
    response = client.post(
        "/v1/usage", content=body, headers={**auth(key), "Content-Type": "application/json"}
    )
    if refused:
        assert response.status_code == 413
        assert response.json()["code"] == "http.too_large"
        assert "at most 1 MiB" in response.json()["message"]
    else:  # read, and refused for what it says
        assert response.status_code == 400
        assert response.json()["code"] == "request.invalid"


def _drive(
    app: Any,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    *,
    chunks: int,
    chunk: bytes,
) -> tuple[int, dict[str, Any], int]:
    """Run one request through the ASGI app with a body of ``chunks`` × ``chunk`` that
    is only produced as the app asks for it; (status, JSON body, bytes the app pulled)."""
    pulled = 0
    sent = 0
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled, sent
        if sent == chunks:
            return {"type": "http.disconnect"}
        sent += 1
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": sent < chunks}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
        "root_path": "", "query_string": b"", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], json.loads(body), pulled


@pytest.mark.parametrize("path", ["/v1/dnc", "/v1/usage"])
def test_a_declared_length_is_refused_without_reading_a_byte(
    settings: Settings, sessions: sessionmaker[Session], path: str
) -> None:
    _, key = new_account(sessions, "Acme")
    headers = [
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"text/csv"),
        (b"content-length", str(26 * MIB).encode()),  # the upload
    ]
    app = create_app(settings, sessions)
    status, body, pulled = _drive(app, "POST", path, headers, chunks=26, chunk=b"0" * MIB)
    assert (status, body["code"], pulled) == (413, "http.too_large", 0)


@pytest.mark.parametrize(
    ("path", "content_type"), [("/v1/dnc", b"text/csv"), ("/v1/usage", b"application/json")]
)
def test_a_chunked_body_is_cut_off_at_the_limit(
    settings: Settings, sessions: sessionmaker[Session], path: str, content_type: bytes
) -> None:
    """No Content-Length: 1000 chunks of 64 KiB (62.5 MiB) are offered; the app stops
    pulling one chunk past its limit and answers 413."""
    _, key = new_account(sessions, "Acme")
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"content-type", content_type)]
    chunk = b"1" * (64 * 1024)
    app = create_app(settings, sessions)
    status, body, pulled = _drive(app, "POST", path, headers, chunks=1000, chunk=chunk)
    assert (status, body["code"]) == (413, "http.too_large")
    assert limit_for("POST", path) < pulled <= limit_for("POST", path) + len(chunk)


def test_a_chunked_body_under_the_limit_is_read(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"content-type", b"text/csv")]
    app = create_app(settings, sessions)
    status, body, pulled = _drive(app, "POST", "/v1/dnc", headers, chunks=3,
                                  chunk=b"+33612345678\n")  # fmt: skip
    assert (status, body["added"], pulled) == (200, 1, 39)
