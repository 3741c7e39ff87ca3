"""A customer's TwiML application for the interop tests: a small HTTP server on
loopback that answers each path with the document a function makes from Twilio's
request parameters, and checks every request's ``X-Twilio-Signature`` with the twilio
SDK's own ``RequestValidator`` (not with dialtone's code)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator
from twilio.rest import Client

Params = dict[str, str]
Answer = Callable[[Params], str] | Callable[[Params], str | tuple[int, str, str]]


@dataclass
class Request:
    """One request the application received."""

    method: str
    path: str
    params: Params
    signed: bool


@dataclass
class TwimlApp:
    """Routes (path -> what to answer) and what was asked of them."""

    token: str
    routes: dict[str, Answer] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Params]:
        """The parameters of every request to ``path`` so far."""
        with self._changed:
            return [r.params for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[Params]:
        """Until ``path`` was requested ``count`` times; their parameters."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len([r for r in self.requests if r.path == path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(r.path, r.params) for r in self.requests]
                    raise AssertionError(f"{path} not requested {count} times: {seen}")
                self._changed.wait(left)
            return [r.params for r in self.requests if r.path == path]

    def handle(self, method: str, raw_path: str, body: str, signature: str) -> tuple[int, str, str]:
        parts = urlsplit(raw_path)
        if method == "GET":
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            signed = RequestValidator(self.token).validate(self.url(raw_path), {}, signature)
        else:
            params = dict(parse_qsl(body, keep_blank_values=True))
            signed = RequestValidator(self.token).validate(self.url(raw_path), params, signature)
        with self._changed:
            self.requests.append(Request(method, parts.path, params, signed))
            self._changed.notify_all()
        answer = self.routes.get(parts.path)
        if answer is None:
            return 404, "text/plain", "no such route"
        made = answer(params)
        if isinstance(made, tuple):
            return made
        return 200, "text/xml", made


@contextmanager
def twiml_app(token: str, routes: Mapping[str, Answer]) -> Iterator[TwimlApp]:
    """``TwimlApp`` listening on a free loopback port while the block runs."""
    app = TwimlApp(token, dict(routes))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            status, kind, text = app.handle(
                method, self.path, body, self.headers.get("X-Twilio-Signature", "")
            )
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    app.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()


def sdk(platform: Any) -> Client:
    """The unmodified twilio SDK on ``platform`` (a ``conftest.Platform`` provisioned with
    its auth token): only the base URL and the credentials change."""
    client = Client(platform.account_id, platform.extra["auth_token"])
    client.api.base_url = platform.base_url
    return client


def point_number(platform: Any, **urls: str) -> None:
    """Set the platform's number's URLs (``voice_url=…``, ``sms_url=…``) with the SDK."""
    client = sdk(platform)
    (number,) = client.incoming_phone_numbers.list(phone_number=platform.number)
    updated = client.incoming_phone_numbers(number.sid).update(**urls)
    for name, url in urls.items():
        assert getattr(updated, name) == url
