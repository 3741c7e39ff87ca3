"""Sends queued email (:mod:`dialtone.services.messaging.email`) through the operator's
SMTP relay with aiosmtplib: takes the due ones on the database thread, sends each on its
own connection, records each outcome.

The relay's answer decides (RFC 5321 §4.2.1): 2xx sent; 5xx failed for good (a
recipient refused with 5xx also goes on the account's suppression list as a bounce);
4xx, a refused or dropped connection or no answer within ``timeout`` are temporary, and
the email is retried with back-off. A failed AUTH or a relay without STARTTLS is the
platform's configuration, not the email's: temporary too, logged as an error. A restart
loses nothing: an email in flight is still ``queued`` and comes due again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiosmtplib
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.messaging import email
from dialtone.settings import EmailSection
from dialtone.store.db import transaction

from .due_loop import DueLoop

log = logging.getLogger("dialtone.email")


@dataclass(frozen=True, slots=True)
class Relay:
    """Where and how to reach the SMTP relay (the settings' email section)."""

    host: str
    port: int = 587
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True
    tls: bool = False
    validate_certs: bool = True

    @classmethod
    def of(cls, settings: EmailSection) -> Relay:
        """The relay the settings name (``smtp_host`` empty: email is disabled, and the
        caller starts no sender)."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result: ``error`` None when sent."""

    error: str | None = None
    permanent: bool = False
    bounced: bool = False


def outcome_of(exc: Exception) -> Outcome:
    """What an aiosmtplib error means for the email (see the module's docstring)."""
    text = f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return Outcome(text, permanent=permanent, bounced=permanent)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return Outcome(text)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        permanent = 500 <= exc.code < 600
        return Outcome(text, permanent=permanent, bounced=permanent)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Outcome(text, permanent=500 <= exc.code < 600)
    return Outcome(text)


class EmailSender:
    """One loop sending due email, at most ``concurrency`` at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        db: ThreadPoolExecutor,
        relay: Relay,
        *,
        poll: float = 1.0,
        timeout: float = 30.0,
        concurrency: int = 4,
        first_retry: timedelta = email.FIRST_RETRY,
        give_up_after: timedelta = email.GIVE_UP_AFTER,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.db = db
        self.relay = relay
        self.poll = poll
        self.timeout = timeout
        self.first_retry = first_retry
        self.give_up_after = give_up_after
        self.clock = clock
        self._loop = DueLoop(
            "email", db, self._take, self._send, poll=poll, concurrency=concurrency
        )

    def start(self) -> None:
        """Begin sending (on the running loop)."""
        self._loop.start()

    def wake(self) -> None:
        """An email was queued: look now rather than at the next poll."""
        self._loop.wake()

    async def close(self) -> None:
        """Stop; email in flight is abandoned (still queued, sent after restart)."""
        await self._loop.close()

    def _take(self) -> list[email.Due]:
        with transaction(self.sessions) as session:
            return email.take_due(session, self.clock())

    async def _send(self, due: email.Due) -> None:
        relay = self.relay
        try:
            await aiosmtplib.send(
                email.mime(due),
                sender=due.sender,
                recipients=[due.recipient],
                hostname=relay.host,
                port=relay.port,
                username=relay.username or None,
                password=relay.password or None,
                use_tls=relay.tls,
                start_tls=relay.starttls and not relay.tls,
                validate_certs=relay.validate_certs,
                timeout=self.timeout,
            )
            outcome = Outcome()
        except (aiosmtplib.SMTPException, OSError) as exc:
            outcome = outcome_of(exc)
            # A failed AUTH or no STARTTLS is the relay's settings, not this email's.
            config = (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPNotSupported)
            level = logging.ERROR if isinstance(exc, config) else logging.INFO
            log.log(level, "email %s to %s: %s", due.id, due.recipient, outcome.error)
        await asyncio.get_running_loop().run_in_executor(self.db, self._record, due.id, outcome)

    def _record(self, email_id: str, outcome: Outcome) -> None:
        now = self.clock()
        with transaction(self.sessions) as session:
            if outcome.error is None:
                email.record_sent(session, email_id, now=now)
                return
            email.record_failure(
                session,
                email_id,
                error=outcome.error,
                permanent=outcome.permanent,
                bounced=outcome.bounced,
                now=now,
                first_retry=self.first_retry,
                give_up_after=self.give_up_after,
            )
