"""A small HTTP server on 127.0.0.1 that records every GET it is sent (Kannel's dlr-url
and sms-service get-url hits), answering 200 with an empty body."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from .peer import free_tcp_port


@dataclass(frozen=True)
class Hit:
    """One request: its path and its query's parameters (the last value of each),
    percent-decoded as latin-1 so every octet survives (Kannel sends UCS-2 texts as
    their UTF-16 octets)."""

    path: str
    query: dict[str, str]


class HttpSink:
    """Records requests until stopped; ``hits(path)`` reads them."""

    def __init__(self) -> None:
        self.port = free_tcp_port()
        self._hits: list[Hit] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {
                    k: v[-1]
                    for k, v in parse_qs(
                        url.query, keep_blank_values=True, encoding="latin-1"
                    ).items()
                }
                sink._hits.append(Hit(url.path, query))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # the hits are the record; no lines on the test's stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this sink."""
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str | None = None) -> list[Hit]:
        """The requests so far (to ``path`` only when given), oldest first."""
        return [h for h in self._hits if path is None or h.path == path]

    def wait(self, path: str, count: int = 1, timeout: float = 15.0) -> list[Hit]:
        """The requests to ``path`` once there are ``count``; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while len(found := self.hits(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} hits on {path} of {count}: {self._hits}")
            time.sleep(0.05)
        return found

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
