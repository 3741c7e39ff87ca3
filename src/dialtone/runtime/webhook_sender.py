"""Sends the webhooks owed to accounts (:mod:`dialtone.services.accounts.webhooks`):
takes the due ones on the database thread, sends each signed in its format, records
each outcome.

A "dialtone" delivery is JSON POSTed with ``Dialtone-Signature``; a "twilio" one is its
form parameters sent by POST (the body) or GET (the query string) with
``X-Twilio-Signature``, keyed by the account's auth token from ``token_of`` (asked on
the database thread, when the delivery is taken). Either goes through the SSRF guard
(:mod:`dialtone.runtime.guarded_http`): only to addresses ``policy`` allows, checked as
the connection is made.

An answer 2xx is a delivery; anything else (an error status, a redirect, a refused or
failed connection, no answer within ``timeout``) is retried with back-off by the
service's schedule. A restart loses nothing: what was in flight is still ``pending``
and comes due again. The answer's body is not read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import twilio_signing, webhooks
from dialtone.services.accounts.webhook_targets import TargetPolicy, parse_target
from dialtone.store.db import transaction
from dialtone.store.messaging_models import WebhookDelivery

from .due_loop import DueLoop
from .guarded_http import Resolve, TargetError, guarded_client, resolve_on_loop

log = logging.getLogger("dialtone.webhooks")


TokenOf = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class _Taken:
    """A due delivery and, for a Twilio-style one, the account's auth token."""

    due: webhooks.Due
    token: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """What a request whose answer is wanted got: the answer (``status`` None: none
    came, ``error`` says why)."""

    status: int | None
    content_type: str | None
    body: bytes
    error: str | None = None


# Acts on an answer in the transaction that records the delivery (an SmsUrl's TwiML
# sends its replies there: both or neither); True when it stored something to send.
AnswerHandler = Callable[[Session, webhooks.Due, Answer], bool]
# The largest answer read for a handler (an SmsUrl's TwiML, as a voice document's).
MAX_ANSWER_BYTES = 64 * 1024


def outgoing(
    due: webhooks.Due, *, key: bytes, token: str | None, now: int
) -> tuple[str, str, str | None, dict[str, str]]:
    """The method, URL, body and headers of ``due``'s request, signed (``now``: unix
    seconds, for the Dialtone signature's timestamp). Raises ``ValueError`` for a
    Twilio-style delivery with no auth token to sign it with."""
    if due.format != "twilio":
        secret = webhooks.account_secret(key, due.account_id)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "dialtone-webhooks",
            webhooks.SIGNATURE_HEADER: webhooks.signature(secret, due.body.encode(), now),
        }
        return "POST", due.url, due.body, headers
    if not token:
        raise ValueError(f"account {due.account_id} has no auth token to sign with")
    params = twilio_signing.decode(due.body)
    target, body = twilio_signing.request_of(due.method, due.url, params)
    # Signed as httpx will write the URL on the wire, which is what the receiver's
    # validator reads back (a character httpx escapes would otherwise differ).
    wire_url = str(httpx.URL(target))
    headers = {
        "User-Agent": twilio_signing.USER_AGENT,
        "Accept": "*/*",
        twilio_signing.IDEMPOTENCY_HEADER: due.idempotency_token,
        twilio_signing.SIGNATURE_HEADER: twilio_signing.signature(
            token, wire_url, params if body is not None else []
        ),
    }
    if body is not None:
        headers["Content-Type"] = twilio_signing.FORM_TYPE
    return due.method, wire_url, body, headers


class WebhookSender:
    """One loop sending due webhooks, at most ``concurrency`` at a time.

    ``policy`` is the SSRF guard's (strict unless the settings loosen it); ``token_of``
    gives an account's current auth token for Twilio-style deliveries (None: the
    account has none, the delivery fails its attempt and is retried)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        db: ThreadPoolExecutor,
        platform_key: bytes,
        *,
        poll: float = 1.0,
        timeout: float = 10.0,
        concurrency: int = 16,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        policy: TargetPolicy | None = None,
        token_of: TokenOf | None = None,
        resolve: Resolve = resolve_on_loop,
    ) -> None:
        self.sessions = sessions
        self.db = db
        self.key = platform_key
        self.poll = poll
        self.timeout = timeout
        self.clock = clock
        self.policy = policy or TargetPolicy()
        # Events whose answer is acted on (by event name), tried once: "message.twiml".
        self.answers: dict[str, AnswerHandler] = {}
        # Called after a handler stored something to send (wakes the dispatcher).
        self.on_stored: Callable[[], None] | None = None
        self.token_of = token_of
        self.resolve = resolve
        # Attempts by (format, outcome, reason): plain ints, exported at scrape time.
        # Bounded: outcome is delivered or failed, reason one of ATTEMPT_REASONS.
        self.attempts: dict[tuple[str, str, str], int] = {}
        self._client: httpx.AsyncClient | None = None
        self._loop = DueLoop(
            "webhooks", db, self._take, self._send, poll=poll, concurrency=concurrency
        )

    def start(self) -> None:
        """Begin sending (on the running loop)."""
        self._client = guarded_client(self.policy, timeout=self.timeout, resolve=self.resolve)
        self._loop.start()

    def wake(self) -> None:
        """Something was owed: look now rather than at the next poll."""
        self._loop.wake()

    async def close(self) -> None:
        """Stop; deliveries in flight are abandoned (still pending, sent after restart)."""
        await self._loop.close()
        if self._client is not None:
            await self._client.aclose()

    def _take(self) -> list[_Taken]:
        with transaction(self.sessions) as session:
            due = webhooks.take_due(session, self.clock())
        tokens: dict[str, str | None] = {}
        for one in due:
            if one.format == "twilio" and one.account_id not in tokens:
                tokens[one.account_id] = self._token(one.account_id)
        return [_Taken(one, tokens.get(one.account_id)) for one in due]

    def _token(self, account_id: str) -> str | None:
        if self.token_of is None:
            return None
        try:
            return self.token_of(account_id)
        except Exception:  # an account without a token fails its own deliveries only
            log.exception("auth token of %s", account_id)
            return None

    async def _send(self, taken: _Taken) -> None:
        assert self._client is not None
        due = taken.due
        handler = self.answers.get(due.event.split(":")[0])
        error: str | None = None
        got = Answer(None, None, b"")
        why = ""
        try:
            parse_target(due.url)
            method, url, body, headers = outgoing(
                due, key=self.key, token=taken.token, now=int(time.time())
            )
            async with self._client.stream(method, url, content=body, headers=headers) as answer:
                read = bytearray()
                if handler is not None:
                    async for chunk in answer.aiter_bytes():
                        read += chunk
                        if len(read) > MAX_ANSWER_BYTES:
                            raise ValueError(f"the answer exceeds {MAX_ANSWER_BYTES} bytes")
                got = Answer(answer.status_code, answer.headers.get("content-type"), bytes(read))
                if not 200 <= answer.status_code < 300:
                    error = f"HTTP {answer.status_code}"
                    why = f"http_{answer.status_code // 100}xx"
        except DialtoneError as exc:
            error, why = exc.message, "refused"
        except TargetError as exc:
            error, why = f"{exc.code}: {exc.reason}", "target"
        except (httpx.HTTPError, ValueError) as exc:
            error, why = f"{type(exc).__name__}: {exc}", _failure(exc)
        key = (due.format, "delivered" if error is None else "failed", why)
        self.attempts[key] = self.attempts.get(key, 0) + 1
        if error is not None:
            error = error[:300]
            got = Answer(got.status, got.content_type, got.body, error)
            log.info("webhook %d to %s: %s", due.id, due.url, error)
        stored = await asyncio.get_running_loop().run_in_executor(
            self.db, self._record, due, error, got if handler is not None else None
        )
        if stored and self.on_stored is not None:
            self.on_stored()

    def _record(self, due: webhooks.Due, error: str | None, got: Answer | None) -> bool:
        stored = False
        with transaction(self.sessions) as session:
            if got is not None:
                # The answer acted on and the delivery recorded together: a crash
                # between them would send the replies twice or never.
                row = session.get(WebhookDelivery, due.id)
                if row is None or row.state != "pending":
                    return False  # acted on already (a second sender took it too)
                webhooks.record_attempt(session, due.id, error=error, now=self.clock(), retry=False)
                stored = self.answers[due.event.split(":")[0]](session, due, got)
            else:
                webhooks.record_attempt(session, due.id, error=error, now=self.clock())
        return stored


# Why an attempt failed, as the metrics label it (a bounded set).
ATTEMPT_REASONS = (
    "",
    "http_1xx",
    "http_3xx",
    "http_4xx",
    "http_5xx",
    "timeout",
    "connection",
    "target",
    "refused",
    "invalid",
)


def _failure(exc: Exception) -> str:
    """The reason label of a transport failure or a bad answer."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.TransportError):
        return "connection"
    return "invalid"
