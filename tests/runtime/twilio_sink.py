"""A real HTTP server on loopback that checks each request as a Twilio application does:
``X-Twilio-Signature`` through the Twilio SDK's ``RequestValidator``. Shared by the
webhook sender's and the TwiML fetcher's tests."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator


class MultiDict:
    """A form with repeated names, as the validator reads one (``getall``)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self.pairs))

    def getall(self, name: str) -> list[str]:
        return [v for n, v in self.pairs if n == name]


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    url: str
    headers: dict[str, str]
    form: list[tuple[str, str]]
    valid: bool


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"<Response/>"
    content_type: str = "text/xml"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class TwilioSink(http.server.ThreadingHTTPServer):
    """Records requests; ``answer(path)`` says how to answer each path."""

    daemon_threads = True

    def __init__(self, token: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.seen: list[Seen] = []
        self.answers: dict[str, Callable[[], Answer]] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def on(self, path: str, answer: Answer) -> None:
        self.answers[path] = lambda: answer


class _Handler(http.server.BaseHTTPRequestHandler):
    server: TwilioSink
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        form = parse_qsl(body, keep_blank_values=True) if body else []
        url = f"http://{self.headers['Host']}{self.path}"
        signature = self.headers.get("X-Twilio-Signature", "")
        valid = RequestValidator(self.server.token).validate(url, MultiDict(form), signature)
        self.server.seen.append(Seen(self.command, url, dict(self.headers.items()), form, valid))
        path = self.path.split("?", 1)[0]
        answer = self.server.answers.get(path, Answer)()
        if answer.delay:
            threading.Event().wait(answer.delay)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = _handle  # noqa: N815 (http.server's names)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def twilio_sink(token: str) -> Iterator[TwilioSink]:
    server = TwilioSink(token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
