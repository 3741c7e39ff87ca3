"""Webhooks owed are POSTed signed to a real local HTTP server, retried after a failure,
and a message's status changes and inbound messages are owed in their transaction."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.webhook_sender import WebhookSender
from dialtone.services.accounts import accounts, webhooks
from dialtone.services.accounts.webhook_targets import TargetPolicy
from dialtone.store.db import transaction
from dialtone.store.messaging_models import WebhookDelivery
from tests.database import migrated_database

KEY = bytes(range(32))
LOOPBACK = TargetPolicy(allow_private=True)  # the tests' servers listen on loopback


class Sink(http.server.ThreadingHTTPServer):
    """Records POSTs; answers ``status`` (500 first ``failures`` times)."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers.items()), body))
        failing = self.server.failures > 0
        self.server.failures -= 1
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    _, factory = migrated_database(tmp_path / "hooks.db")
    return factory


def _owe(sessions: sessionmaker[Session], url: str, now: datetime) -> str:
    with transaction(sessions) as session:
        account = accounts.create_account(session, "Acme", now=now).account.id
        webhooks.enqueue(
            session, account, url=url, event="message.status", payload={"status": "sent"}, now=now
        )
    return account


async def _until(check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_a_webhook_is_posted_signed_and_marked_delivered(
    sessions: sessionmaker[Session], sink: Sink
) -> None:
    account = _owe(sessions, sink.url, datetime.now(UTC))

    async def scenario() -> None:
        with ThreadPoolExecutor(1) as db:
            sender = WebhookSender(sessions, db, KEY, poll=0.05, policy=LOOPBACK)
            sender.start()
            await _until(lambda: len(sink.received) == 1)
            await asyncio.sleep(0.2)
            await sender.close()
            # Counted for the metrics (runtime.metrics): format, outcome, reason.
            assert sender.attempts == {("dialtone", "delivered", ""): 1}

    asyncio.run(scenario())
    [(headers, body)] = sink.received
    assert body == b'{"event":"message.status","status":"sent"}'
    secret = webhooks.account_secret(KEY, account)
    assert webhooks.verify(secret, body, headers["Dialtone-Signature"], now=int(time.time()))
    assert not webhooks.verify("other", body, headers["Dialtone-Signature"], now=int(time.time()))
    with transaction(sessions) as session:
        row = session.scalars(select(WebhookDelivery)).one()
        assert (row.state, row.attempts) == ("delivered", 1)


def test_a_failed_attempt_is_retried_after_the_back_off(
    sessions: sessionmaker[Session], sink: Sink
) -> None:
    sink.failures = 1
    start = datetime.now(UTC)
    _owe(sessions, sink.url, start)
    clock = [start]

    async def scenario() -> None:
        with ThreadPoolExecutor(1) as db:
            sender = WebhookSender(
                sessions, db, KEY, poll=0.05, clock=lambda: clock[0], policy=LOOPBACK
            )
            sender.start()
            await _until(lambda: len(sink.received) == 1)
            await asyncio.sleep(0.3)
            assert len(sink.received) == 1  # not before the back-off
            clock[0] = start + timedelta(seconds=11)
            await _until(lambda: len(sink.received) == 2)
            await asyncio.sleep(0.2)
            await sender.close()
            assert sender.attempts == {
                ("dialtone", "failed", "http_5xx"): 1,
                ("dialtone", "delivered", ""): 1,
            }

    asyncio.run(scenario())
    with transaction(sessions) as session:
        row = session.scalars(select(WebhookDelivery)).one()
        assert (row.state, row.attempts, row.last_error) == ("delivered", 2, None)


@pytest.mark.parametrize(
    ("age", "attempts", "state", "wait"),
    [
        (timedelta(0), 1, "pending", timedelta(seconds=10)),
        (timedelta(0), 3, "pending", timedelta(seconds=40)),
        (timedelta(0), 12, "pending", timedelta(hours=1)),  # capped
        (timedelta(hours=24) - timedelta(seconds=1), 5, "pending", timedelta(seconds=160)),
        (timedelta(hours=24), 5, "failed", None),  # given up a day after it was owed
    ],
)
def test_the_back_off_schedule(
    sessions: sessionmaker[Session],
    *,
    age: timedelta,
    attempts: int,
    state: str,
    wait: timedelta | None,
) -> None:
    owed = datetime(2026, 12, 1, tzinfo=UTC)
    _owe(sessions, "http://127.0.0.1:9/x", owed)
    now = owed + age
    with transaction(sessions) as session:
        row = session.scalars(select(WebhookDelivery)).one()
        row.attempts = attempts - 1
        webhooks.record_attempt(session, row.id, error="HTTP 500", now=now)
        assert row.state == state
        assert row.next_at == (now + wait if wait is not None else None)
