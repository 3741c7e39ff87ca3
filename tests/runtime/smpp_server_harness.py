"""dialtone's SMPP server on port 0 of a thread's event loop, over a migrated SQLite file
with an account that may message (its number, a sender name, a recipient who opted in)
and an SMPP login: what the server's tests and the interop tests with real clients share.

The clients (smpplib, Kannel) block; the server runs on its own loop in a thread, and
``call`` runs a coroutine there from the test's thread.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import select

from dialtone.runtime.smpp_server import SmppServer
from dialtone.services.accounts import accounts
from dialtone.services.messaging import inbound, logins, notices
from dialtone.services.numbering import numbers
from dialtone.sip.auth_limiter import FailureLimiter
from dialtone.smpp.session import SessionSettings
from dialtone.store.db import transaction
from dialtone.store.messaging_models import Message, SenderName
from dialtone.store.models import AuditEvent
from tests.database import migrated_database
from tests.services.conftest import T0
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES, opt_in

R = TypeVar("R")
SYSTEM_ID = "acme"
# The addresses as SMPP clients write them (TON 1, international: no "+").
SOURCE, DEST = NUMBER.lstrip("+"), RECIPIENT.lstrip("+")


class Harness:
    """An account ready to message, its login, and the server (module docstring)."""

    def __init__(
        self,
        tmp: Path,
        *,
        parts_timeout: float = 20.0,
        allowed_failures: int = 10,
        settings: SessionSettings | None = None,
        tls: tuple[int, ssl.SSLContext] | None = None,
        queue_limit: int | None = None,
    ) -> None:
        self.tls = tls
        self.queue_limit = queue_limit
        _, self.sessions = migrated_database(tmp / "smpp.db")
        with transaction(self.sessions) as session:
            self.account = accounts.create_account(session, "Acme", now=T0).account.id
            numbers.add_number(session, self.account, NUMBER, now=T0)
            session.add(
                SenderName(id="SN1", account_id=self.account, name="ACME", registered_at=T0)
            )
            opt_in(session, self.account, RECIPIENT)
            login, self.password = logins.create_login(session, self.account, SYSTEM_ID, now=T0)
            self.login_id = login.id
        self.stored = 0
        self.db = ThreadPoolExecutor(1, thread_name_prefix="smpp-test-db")
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._options = (parts_timeout, allowed_failures, settings)
        self.server: SmppServer = self.call(self._make(*self._options))

    async def _make(
        self, parts_timeout: float, allowed: int, settings: SessionSettings | None
    ) -> SmppServer:
        server = SmppServer(
            host="127.0.0.1",
            port=0,
            sessions=self.sessions,
            db=self.db,
            rules=RULES,
            on_stored=self._on_stored,
            clock=lambda: NOW,
            limiter=FailureLimiter(allowed=allowed, window=60.0, block=300.0),
            settings=settings,
            parts_timeout=parts_timeout,
            tls=self.tls,
            queue_limit=self.queue_limit,
        )
        await server.start()
        return server

    def _on_stored(self) -> None:
        self.stored += 1

    @property
    def port(self) -> int:
        return self.server.port

    def call(self, work: Coroutine[Any, Any, R], timeout: float = 30.0) -> R:
        """Run ``work`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def soon(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's loop (its methods are the loop's) and
        return what it returned."""

        async def run() -> Any:
            return fn(*args)

        return self.call(run())

    def messages(self) -> list[Message]:
        """Every stored message, oldest first."""
        with self.sessions() as session:
            return list(session.scalars(select(Message).order_by(Message.created_at)))

    def audit_events(self) -> list[AuditEvent]:
        """Every audit event, oldest first."""
        with self.sessions() as session:
            return list(session.scalars(select(AuditEvent).order_by(AuditEvent.at)))

    def finish(self, message_id: str, status: str, done_at: datetime | None = None) -> Message:
        """Move a stored message to a final ``status`` (as the dispatcher would: its
        receipt marked owed to the bind when asked for) and return its row."""
        with transaction(self.sessions) as session:
            row = session.get(Message, message_id)
            assert row is not None
            row.status = status
            row.done_at = done_at or NOW
            notices.status_changed(session, row, row.done_at)
            return row  # sessions keep loaded rows usable after commit

    def receive(self, sender: str, body: str, now: datetime = NOW) -> Message:
        """Store a message ``sender`` sent the account's number, as a carrier's
        deliver_sm is (owed to the account's binds: it has a login), and return it."""
        with transaction(self.sessions) as session:
            received = inbound.receive(
                session,
                sender=sender,
                recipient=NUMBER,
                body=body,
                carrier_id=None,
                rules=RULES,
                now=now,
            )
            assert received is not None
            return received.message

    def restart(self) -> None:
        """Stop the server and start another on the same database (a new port)."""
        self.call(self.server.close())
        self.server = self.call(self._make(*self._options))

    def close(self) -> None:
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()
        self.db.shutdown()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
