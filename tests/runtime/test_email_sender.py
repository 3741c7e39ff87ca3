"""Email goes through a real SMTP server started by the test (aiosmtpd, a server we did
not write): a marketing email arrives with its one-click unsubscribe headers, postal
address and Message-ID; the recipient's one-click POST suppresses the next one (M9); a
4xx answer is retried, a 5xx fails the email, a 5xx to the recipient suppresses it."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage as MimeMessage
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.runtime.email_sender import EmailSender, Relay
from dialtone.services.accounts import accounts
from dialtone.services.messaging import email
from dialtone.settings import Settings
from dialtone.store.db import transaction
from dialtone.store.email_models import EmailMessage
from tests.database import migrated_database

ADDRESS = "Acme SAS\n1 rue de la Paix\n75002 Paris, France"


class Inbox:
    """aiosmtpd's handler: keeps what it accepts; answers DATA from ``answers`` first
    (then 250), refuses recipients at ``gone.example`` with 550."""

    def __init__(self) -> None:
        self.received: list[MimeMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.answers: list[str] = []
        self.data_attempts = 0

    async def handle_RCPT(  # noqa: N802 (aiosmtpd names its hooks)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@gone.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_attempts += 1
        answer = self.answers.pop(0) if self.answers else "250 2.0.0 Queued"
        if answer.startswith("250"):
            parsed = message_from_bytes(envelope.content, policy=default)
            assert isinstance(parsed, MimeMessage)
            self.received.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return answer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    _, factory = migrated_database(tmp_path / "email.db")
    return factory


def _settings(tmp_path: Path, port: int) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "var",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        email_from="news@acme.example",
        email_unsubscribe_base_url="http://testserver",
        _env_file=None,
    )


def _relay(port: int) -> Relay:
    return Relay(host="127.0.0.1", port=port, starttls=False)


def test_the_relay_is_read_from_the_settings(tmp_path: Path) -> None:
    relay = Relay.of(_settings(tmp_path, 2525))
    assert relay == Relay("127.0.0.1", 2525, "", "", starttls=False, tls=False)
    assert "s3cret" not in repr(Relay("h", password="s3cret"))


def _run_sender(
    sessions: sessionmaker[Session],
    relay: Relay,
    until: Callable[[], bool],
    *,
    linger: float = 0.2,
    **options: Any,
) -> None:
    """Run an EmailSender until ``until()`` holds (10 s at most), then ``linger``."""

    async def scenario() -> None:
        with ThreadPoolExecutor(1) as db:
            sender = EmailSender(sessions, db, relay, poll=0.05, timeout=5, **options)
            sender.start()
            deadline = time.monotonic() + 10
            while not until():
                assert time.monotonic() < deadline, "timed out"
                await asyncio.sleep(0.02)
            await asyncio.sleep(linger)
            await sender.close()

    asyncio.run(scenario())


def _account(sessions: sessionmaker[Session], postal_address: str | None = ADDRESS) -> str:
    with transaction(sessions) as session:
        created = accounts.create_account(session, "Acme", now=datetime.now(UTC))
        accounts.set_postal_address(session, created.account.id, postal_address)
        return created.api_key


def _row(sessions: sessionmaker[Session], email_id: str) -> EmailMessage:
    with transaction(sessions) as session:
        row = session.get(EmailMessage, email_id)
        assert row is not None
        return row


def test_marketing_email_arrives_then_one_click_unsubscribes_it(
    tmp_path: Path, sessions: sessionmaker[Session], inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    settings = _settings(tmp_path, port)
    key = _account(sessions)
    auth = {"Authorization": f"Bearer {key}"}
    offer = {
        "to": "Ann.Lee@example.com",
        "subject": "Our winter offer",
        "text": "Twenty per cent off all plans this week.",
        "html": "<html><body><p>Twenty per cent off all plans this week.</p></body></html>",
        "kind": "marketing",
    }
    with TestClient(create_app(settings, sessions)) as client:
        answer = client.post("/v1/emails", json=offer, headers=auth)
        assert answer.status_code == 202, answer.text
        sent = answer.json()

        _run_sender(sessions, _relay(port), lambda: len(server.received) == 1)
        [message] = server.received
        assert server.envelopes == [("news@acme.example", ["Ann.Lee@example.com"])]
        assert message["Message-ID"] == sent["message_id"]
        assert message["Message-ID"].endswith("@acme.example>")
        assert message["Subject"] == "Our winter offer"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = message["List-Unsubscribe"].strip("<>")
        assert message["List-Unsubscribe"] == f"<{url}>"
        assert url.startswith("http://testserver/v1/email/unsubscribe/")
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert text is not None
        assert html is not None
        assert ADDRESS in text.get_content().replace("\r\n", "\n")
        assert url in text.get_content()
        assert "1 rue de la Paix" in html.get_content()
        assert f'href="{url}"' in html.get_content()
        row = _row(sessions, sent["id"])
        assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 1, True)

        # The recipient's mail client POSTs the one-click body (RFC 8058), no credentials.
        path = urlsplit(url).path
        assert client.get(path).status_code == 200  # the confirm page changes nothing
        assert client.get("/v1/email/suppressions", headers=auth).json()["suppressions"] == []
        unsubscribed = client.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsubscribed.status_code == 200, unsubscribed.text
        [entry] = client.get("/v1/email/suppressions", headers=auth).json()["suppressions"]
        assert (entry["address"], entry["reason"]) == ("ann.lee@example.com", "unsubscribe")

        again = client.post("/v1/emails", json=offer | {"subject": "Last days"}, headers=auth)
        assert again.status_code == 403
        assert (again.json()["code"], again.json()["rule"]) == ("email.suppressed", "M9")
        # Transactional mail still reaches the recipient (M9 exempts it).
        receipt = offer | {"kind": "transactional", "subject": "Your invoice", "html": None}
        assert client.post("/v1/emails", json=receipt, headers=auth).status_code == 202

    _run_sender(sessions, _relay(port), lambda: len(server.received) == 2)
    assert server.received[1]["Subject"] == "Your invoice"
    assert server.received[1]["List-Unsubscribe"] is None
    assert len(server.received) == 2


def _queue(sessions: sessionmaker[Session], to: str) -> str:
    with transaction(sessions) as session:
        account = accounts.create_account(session, "Acme", now=datetime.now(UTC)).account.id
        row, _ = email.send(
            session,
            account,
            email.Outgoing(to=to, subject="Your receipt", text="Thank you."),
            rules=email.EmailRules(default_from="billing@acme.example"),
            platform_key=bytes(32),
            now=datetime.now(UTC),
        )
        return row.id


def test_a_4xx_answer_is_retried_after_the_back_off(
    sessions: sessionmaker[Session], inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    server.answers = ["451 4.3.0 Try again later"]
    email_id = _queue(sessions, "ann@example.com")
    _run_sender(
        sessions,
        _relay(port),
        lambda: len(server.received) == 1,
        first_retry=timedelta(milliseconds=300),
    )
    assert server.data_attempts == 2
    row = _row(sessions, email_id)
    assert (row.status, row.attempts, row.error) == ("sent", 2, None)


def test_a_4xx_leaves_the_email_queued_until_its_retry(
    sessions: sessionmaker[Session], inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    server.answers = ["421 4.7.0 Busy"]
    email_id = _queue(sessions, "ann@example.com")
    _run_sender(sessions, _relay(port), lambda: server.data_attempts == 1, linger=0.5)
    assert server.data_attempts == 1  # the first retry is 30 s away
    row = _row(sessions, email_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.error is not None
    assert "421" in row.error
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - row.updated_at == email.FIRST_RETRY


def test_a_5xx_answer_fails_the_email_for_good(
    sessions: sessionmaker[Session], inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    server.answers = ["554 5.7.1 Message rejected as spam"]
    email_id = _queue(sessions, "ann@example.com")
    _run_sender(
        sessions,
        _relay(port),
        lambda: server.data_attempts == 1,
        linger=0.5,
        first_retry=timedelta(milliseconds=50),
    )
    assert server.data_attempts == 1
    row = _row(sessions, email_id)
    assert (row.status, row.error_code, row.attempts) == ("failed", "email.smtp_refused", 1)
    assert row.error is not None
    assert "554" in row.error
    with transaction(sessions) as session:
        assert email.suppression_of(session, row.account_id, row.recipient) is None


def test_a_recipient_refused_with_5xx_is_suppressed_as_a_bounce(
    sessions: sessionmaker[Session], inbox: tuple[Inbox, int]
) -> None:
    _, port = inbox
    email_id = _queue(sessions, "nobody@gone.example")
    _run_sender(
        sessions,
        _relay(port),
        lambda: _row(sessions, email_id).status != "queued",
    )
    row = _row(sessions, email_id)
    assert (row.status, row.error_code) == ("failed", "email.smtp_refused")
    with transaction(sessions) as session:
        entry = email.suppression_of(session, row.account_id, "Nobody@gone.example")
        assert entry is not None
        assert entry.reason == "bounce"


def test_no_relay_listening_is_temporary(sessions: sessionmaker[Session]) -> None:
    email_id = _queue(sessions, "ann@example.com")
    _run_sender(
        sessions,
        _relay(_free_port()),
        lambda: _row(sessions, email_id).attempts == 1,
    )
    row = _row(sessions, email_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.error is not None


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_auth_is_used_and_a_refused_login_is_not_the_emails_fault(
    sessions: sessionmaker[Session],
) -> None:
    handler = Inbox()
    port = _free_port()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        def text(value: str | bytes) -> str:
            return value.decode() if isinstance(value, bytes) else value

        good = isinstance(data, LoginPassword) and (text(data.login), text(data.password)) == (
            "dialtone",
            "s3cret",
        )
        # handled=False: aiosmtpd answers 235 or 535 itself.
        return AuthResult(success=good, handled=False)

    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        wrong = _queue(sessions, "ann@example.com")
        _run_sender(
            sessions,
            Relay("127.0.0.1", port, "dialtone", "nope", starttls=False),
            lambda: _row(sessions, wrong).attempts == 1,
        )
        refused = _row(sessions, wrong)
        assert (refused.status, handler.received) == ("queued", [])  # retried, not failed
        assert refused.error is not None
        assert "535" in refused.error
        with transaction(sessions) as session:
            session.get(EmailMessage, wrong).next_attempt_at = datetime.now(UTC)  # type: ignore[union-attr]
        _run_sender(
            sessions,
            Relay("127.0.0.1", port, "dialtone", "s3cret", starttls=False),
            lambda: len(handler.received) == 1,
        )
        assert _row(sessions, wrong).status == "sent"
    finally:
        controller.stop()
