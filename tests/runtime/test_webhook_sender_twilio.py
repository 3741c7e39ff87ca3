"""Twilio-style deliveries sent by the one webhook sender: form parameters by POST or
GET, validated by the Twilio SDK on a real server; and every delivery through the SSRF
guard (loopback refused unless allowed, every address checked, the connection made to
the address checked)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.guarded_http import Resolve
from dialtone.runtime.webhook_sender import WebhookSender
from dialtone.services.accounts import accounts, webhooks
from dialtone.services.accounts.webhook_targets import TargetPolicy
from dialtone.store.db import transaction
from dialtone.store.messaging_models import WebhookDelivery
from tests.database import migrated_database

from .twilio_sink import Answer, TwilioSink, twilio_sink

KEY = bytes(range(32))
TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
LOOPBACK = TargetPolicy(allow_private=True)


@pytest.fixture
def sink() -> Iterator[TwilioSink]:
    with twilio_sink(TOKEN) as server:
        yield server


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    _, factory = migrated_database(tmp_path / "hooks.db")
    return factory


def _account(sessions: sessionmaker[Session]) -> str:
    with transaction(sessions) as session:
        return accounts.create_account(session, "Acme", now=datetime.now(UTC)).account.id


def _owe(sessions: sessionmaker[Session], account: str, url: str, method: str, params: Any) -> None:
    with transaction(sessions) as session:
        webhooks.enqueue_twilio(
            session,
            account,
            url=url,
            method=method,
            params=params,
            event="message.status",
            now=datetime.now(UTC),
        )


def _rows(sessions: sessionmaker[Session]) -> list[tuple[str, int, str | None]]:
    with transaction(sessions) as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        return [(r.state, r.attempts, r.last_error) for r in rows]


def _run(
    sessions: sessionmaker[Session],
    until: object,
    *,
    policy: TargetPolicy = LOOPBACK,
    token_of: object = lambda account: TOKEN,
    resolve: Resolve | None = None,
) -> None:
    async def scenario() -> None:
        with ThreadPoolExecutor(1) as db:
            extra = {"resolve": resolve} if resolve is not None else {}
            sender = WebhookSender(
                sessions, db, KEY, poll=0.05, policy=policy, token_of=token_of, **extra
            )
            sender.start()
            deadline = time.monotonic() + 10
            while not until():  # type: ignore[operator]
                assert time.monotonic() < deadline, "timed out"
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            await sender.close()

    asyncio.run(scenario())


PARAMS = [
    ("MessageSid", "SM0123"),
    ("MessageStatus", "delivered"),
    ("Body", "héllo ✓ & = + 你好"),
    ("Tag", "b"),
    ("Tag", "a"),
    ("Empty", ""),
]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("path", ["/hook", "/hook?existing=1&x=%20y", "/café/hook?q=é&r=a|b"])
def test_a_twilio_delivery_validates_with_the_sdk(
    sessions: sessionmaker[Session], sink: TwilioSink, method: str, path: str
) -> None:
    account = _account(sessions)
    _owe(sessions, account, sink.base + path, method, PARAMS)
    _run(sessions, lambda: _rows(sessions)[0][0] != "pending")
    [seen] = sink.seen
    assert seen.valid
    assert seen.method == method
    assert seen.headers["User-Agent"].startswith("DialtoneProxy/")
    assert seen.headers["I-Twilio-Idempotency-Token"]
    if method == "POST":
        assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert seen.form == PARAMS
    else:
        assert seen.form == []
        assert "MessageStatus=delivered" in seen.url
    assert _rows(sessions) == [("delivered", 1, None)]


def test_a_retry_carries_the_same_idempotency_token(
    sessions: sessionmaker[Session], sink: TwilioSink
) -> None:
    sink.on("/flaky", Answer(status=503))
    account = _account(sessions)
    _owe(sessions, account, sink.base + "/flaky", "POST", {"A": "1"})
    _owe(sessions, account, sink.base + "/flaky", "POST", {"A": "2"})
    _run(sessions, lambda: len(sink.seen) >= 2)
    first, second = sink.seen[:2]
    assert (
        first.headers["I-Twilio-Idempotency-Token"] != second.headers["I-Twilio-Idempotency-Token"]
    )
    with transaction(sessions) as session:
        dues = [
            webhooks.Due(r.id, r.account_id, r.url, r.body, r.format, r.method, r.created_at)
            for r in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        ]
    tokens = {s.form[0][1]: s.headers["I-Twilio-Idempotency-Token"] for s in sink.seen[:2]}
    assert tokens == {"1": dues[0].idempotency_token, "2": dues[1].idempotency_token}
    assert [row[:1] + row[2:] for row in _rows(sessions)] == [
        ("pending", "HTTP 503"),
        ("pending", "HTTP 503"),
    ]


def test_an_account_without_an_auth_token_fails_its_attempt(
    sessions: sessionmaker[Session], sink: TwilioSink
) -> None:
    account = _account(sessions)
    _owe(sessions, account, sink.base + "/hook", "POST", {"A": "1"})
    _run(sessions, lambda: _rows(sessions)[0][1] == 1, token_of=lambda account: None)
    assert sink.seen == []
    [(state, _, error)] = _rows(sessions)
    assert state == "pending"
    assert error is not None
    assert "no auth token" in error


def test_a_redirect_is_not_followed(sessions: sessionmaker[Session], sink: TwilioSink) -> None:
    sink.on("/moved", Answer(status=302, headers={"Location": sink.base + "/hook"}))
    account = _account(sessions)
    _owe(sessions, account, sink.base + "/moved", "POST", {"A": "1"})
    _run(sessions, lambda: _rows(sessions)[0][1] == 1)
    assert [s.url.rsplit("/", 1)[1] for s in sink.seen] == ["moved"]
    assert _rows(sessions)[0][2] == "HTTP 302"


def test_loopback_is_refused_by_default(sessions: sessionmaker[Session], sink: TwilioSink) -> None:
    account = _account(sessions)
    _owe(sessions, account, sink.base + "/hook", "POST", {"A": "1"})
    with transaction(sessions) as session:
        webhooks.enqueue(
            session,
            account,
            url=sink.base + "/json",
            event="message.status",
            payload={},
            now=datetime.now(UTC),
        )
    _run(sessions, lambda: all(r[1] == 1 for r in _rows(sessions)), policy=TargetPolicy())
    assert sink.seen == []  # neither format reached the server
    for state, _, error in _rows(sessions):
        assert state == "pending"
        assert error is not None
        assert "loopback" in error


def test_a_name_is_resolved_once_and_the_checked_address_connected_to(
    sessions: sessionmaker[Session], sink: TwilioSink
) -> None:
    port = sink.server_address[1]
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        # A name whose answer changes: only what the guard saw may be connected to.
        asked.append(host)
        return ["127.0.0.1"] if len(asked) == 1 else ["169.254.169.254"]

    only_loopback = TargetPolicy.of(False, ["127.0.0.1/32"])
    account = _account(sessions)
    _owe(sessions, account, f"http://hooks.example:{port}/hook", "POST", {"A": "1"})
    _run(
        sessions,
        lambda: _rows(sessions)[0][0] != "pending",
        policy=only_loopback,
        resolve=rebinding,
    )
    [seen] = sink.seen
    assert seen.headers["Host"] == f"hooks.example:{port}"  # the URL's host, kept
    assert seen.valid  # signed over the URL as named
    assert asked == ["hooks.example"]
    assert _rows(sessions) == [("delivered", 1, None)]


def test_one_refused_address_among_several_refuses_the_name(
    sessions: sessionmaker[Session], sink: TwilioSink
) -> None:
    port = sink.server_address[1]

    async def mixed(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "10.0.0.8"]

    account = _account(sessions)
    _owe(sessions, account, f"http://mixed.example:{port}/hook", "POST", {"A": "1"})
    _run(
        sessions,
        lambda: _rows(sessions)[0][1] == 1,
        policy=TargetPolicy.of(False, ["127.0.0.1/32"]),
        resolve=mixed,
    )
    assert sink.seen == []
    error = _rows(sessions)[0][2]
    assert error is not None
    assert "10.0.0.8" in error


def test_an_unknown_name_is_a_bad_host(sessions: sessionmaker[Session]) -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    account = _account(sessions)
    _owe(sessions, account, "http://nowhere.example/hook", "POST", {"A": "1"})
    _run(sessions, lambda: _rows(sessions)[0][1] == 1, resolve=nowhere)
    error = _rows(sessions)[0][2]
    assert error is not None
    assert error.startswith("11210: nowhere.example does not resolve")


def test_a_url_of_another_scheme_is_never_requested(sessions: sessionmaker[Session]) -> None:
    account = _account(sessions)
    _owe(sessions, account, "file:///etc/passwd", "POST", {"A": "1"})
    _run(sessions, lambda: _rows(sessions)[0][1] == 1)
    error = _rows(sessions)[0][2]
    assert error is not None
    assert "http://" in error
