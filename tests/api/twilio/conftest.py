"""The Twilio-compatible API's tests: an account with an auth token, the operator's
stock of numbers, and (for the SDK) the real app served by uvicorn on loopback."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.services.numbering import inventory
from dialtone.services.twilio import auth_tokens
from dialtone.settings import Settings
from dialtone.store.db import transaction
from tests.api.conftest import new_account

STOCK = ("+33123456789", "+33123456790", "+33123456791", "+33612345600", "+33800123456")
RECIPIENT = "+33612345678"


@dataclass(frozen=True)
class Acme:
    account: str
    key: str  # the account's API key (Bearer)
    token: str  # its auth token (Basic)

    @property
    def basic(self) -> dict[str, str]:
        raw = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def path(self, rest: str) -> str:
        return f"/2010-04-01/Accounts/{self.account}/{rest}"


def make_acme(sessions: sessionmaker[Session], settings: Settings, name: str = "Acme") -> Acme:
    account, key = new_account(sessions, name)
    with transaction(sessions) as session:
        token = auth_tokens.issue(session, account, settings.sealing_key(), datetime.now(UTC))
        inventory.stock(session, STOCK, now=datetime.now(UTC))
    return Acme(account, key, token)


@pytest.fixture
def acme(sessions: sessionmaker[Session], settings: Settings) -> Acme:
    return make_acme(sessions, settings)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[str]:
    """The real app on a real socket: the base URL a Twilio client is given."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, sessions), host="127.0.0.1", port=port, log_level="warning"
    )
    http = uvicorn.Server(config)
    thread = threading.Thread(target=http.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        pytest.fail("the API did not start")
    yield base
    http.should_exit = True
    thread.join(timeout=10)
