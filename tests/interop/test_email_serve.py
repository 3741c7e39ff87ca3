"""``dialtone serve`` sends the email the API queued through the configured SMTP relay
(a real aiosmtpd server started by the test), and the one-click unsubscribe link it
carries stops the next marketing email (TERMS M9)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage as MimeMessage
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from .conftest import Platform, free_port, provision, start_platform, stop_platform

pytestmark = pytest.mark.interop


class Inbox:
    def __init__(self) -> None:
        self.received: list[MimeMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, MimeMessage)
        self.received.append(parsed)
        return "250 2.0.0 Queued"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:

    handler, port = Inbox(), free_port(socket.SOCK_STREAM)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def platform(tmp_path: Path, inbox: tuple[Inbox, int]) -> Iterator[Platform]:
    running = start_platform(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=str(inbox[1]),
        smtp_starttls="false",
        email_from="news@acme.example",
    )
    try:
        provision(running)
        yield running
    finally:
        assert stop_platform(running) == 0, running.log()


def test_serve_sends_queued_email_and_honours_the_one_click_unsubscribe(
    platform: Platform, inbox: tuple[Inbox, int]
) -> None:
    handler, _ = inbox
    mail = {
        "to": "jane@example.org",
        "subject": "Our spring menu",
        "text": "New dishes this week.",
        "kind": "marketing",
    }
    with platform.http() as http:
        assert (
            http.patch(
                "/v1/account", json={"postal_address": "4 rue de la Paix, Paris"}
            ).status_code
            == 200
        )
        sent = http.post("/v1/emails", json=mail)
        assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + 20
    while not handler.received:
        assert time.monotonic() < deadline, platform.log()[-2000:]
        time.sleep(0.05)
    [message] = handler.received
    assert message["Subject"] == "Our spring menu"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>").split(">")[0]
    assert "4 rue de la Paix" in message.get_body(("plain",)).get_content()
    # The recipient's mail client posts the one-click unsubscribe (RFC 8058) to the
    # link's path on this server (the link's host is email_unsubscribe_base_url's).
    path = link[link.index("/v1/") :]
    answer = httpx.post(
        platform.base_url + path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    with platform.http() as http:
        refused = http.post("/v1/emails", json=mail)
    assert (refused.status_code, refused.json()["code"], refused.json()["rule"]) == (
        403,
        "email.suppressed",
        "M9",
    )
