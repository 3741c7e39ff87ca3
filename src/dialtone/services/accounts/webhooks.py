"""Webhooks owed to an account: stored in the transaction of the change they tell of,
then sent by the runtime, signed, and retried with back-off. One table and one sender
for both shapes a delivery takes (its ``format``):

- "dialtone": JSON POSTed with ``Dialtone-Signature: t=<unix seconds>,v1=<hex
  HMAC-SHA256 of "<t>.<body>">``, keyed by the account's webhook secret, so the customer
  can check a request came from this platform and was not replayed. The secret is
  derived from the platform's key and the account id (no table of secrets to leak or
  back up); the account reads it with ``GET /v1/account/webhook-secret``.
- "twilio" (issue 16): form parameters sent by POST or GET as Twilio sends its webhooks,
  with ``X-Twilio-Signature`` keyed by the account's auth token
  (:mod:`dialtone.services.accounts.twilio_signing`), so unmodified Twilio applications
  and Twilio's validators accept them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import twilio_signing
from dialtone.store.messaging_models import WebhookDelivery

Format = Literal["dialtone", "twilio"]
STATES = ("pending", "delivered", "failed")

SIGNATURE_HEADER = "Dialtone-Signature"
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)


def account_secret(platform_key: bytes, account_id: str) -> str:
    """The account's webhook signing secret (hex), derived from the platform's key."""
    return hmac.new(
        platform_key, f"webhook-secret:{account_id}".encode(), hashlib.sha256
    ).hexdigest()


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Dialtone-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, now: int, tolerance: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds
    of ``now`` (what a customer's endpoint does; the tests use it)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, body, timestamp), header)


def enqueue(
    session: Session,
    account_id: str,
    *,
    url: str,
    event: str,
    payload: dict[str, Any],
    now: datetime,
) -> WebhookDelivery:
    """Owe ``payload`` to ``url`` (in the caller's transaction: it is sent only if what
    it tells of is committed)."""
    row = WebhookDelivery(
        account_id=account_id,
        event=event,
        url=url,
        body=json.dumps({"event": event, **payload}, separators=(",", ":"), ensure_ascii=False),
        format="dialtone",
        method="POST",
        state="pending",
        attempts=0,
        next_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def enqueue_twilio(
    session: Session,
    account_id: str,
    *,
    url: str,
    method: str,
    params: Mapping[str, object] | Iterable[tuple[str, object]],
    event: str,
    now: datetime,
) -> WebhookDelivery:
    """Owe a Twilio-style webhook: ``params`` (None values left out) sent to ``url`` by
    ``method`` (POST or GET), signed with the account's auth token when sent. In the
    caller's transaction, like :func:`enqueue`."""
    verb = method.upper()
    if verb not in ("POST", "GET"):
        raise DialtoneError("request.invalid", f"method: POST or GET, not {method!r}.")
    row = WebhookDelivery(
        account_id=account_id,
        event=event,
        url=url,
        body=twilio_signing.encode(twilio_signing.as_params(params)),
        format="twilio",
        method=verb,
        state="pending",
        attempts=0,
        next_at=now,
        created_at=now,
    )
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery to attempt now, as the sender needs it (no ORM object leaves the DB
    thread)."""

    id: int
    account_id: str
    url: str
    body: str
    format: str = "dialtone"
    method: str = "POST"
    created_at: datetime | None = None
    event: str = ""

    @property
    def idempotency_token(self) -> str:
        """The same for every attempt of this delivery, different from any other's
        (``I-Twilio-Idempotency-Token``: a receiver drops a retry it already handled)."""
        stamp = self.created_at.timestamp() if self.created_at else 0
        digest = hashlib.sha256(f"{self.account_id}:{self.id}:{stamp}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def take_due(session: Session, now: datetime, limit: int = 100) -> list[Due]:
    """Pending deliveries due at ``now``, oldest first; each is pushed a minute ahead so
    a second sender (or the next round) does not take it while it is in flight."""
    rows = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.state == "pending", WebhookDelivery.next_at <= now)
        .order_by(WebhookDelivery.next_at, WebhookDelivery.id)
        .limit(limit)
    ).all()
    for row in rows:
        row.next_at = now + timedelta(minutes=1)
    return [
        Due(r.id, r.account_id, r.url, r.body, r.format, r.method, r.created_at, r.event)
        for r in rows
    ]


def record_attempt(
    session: Session,
    delivery_id: int,
    *,
    error: str | None,
    now: datetime,
    retry: bool = True,
) -> WebhookDelivery | None:
    """The outcome of one attempt: delivered (``error`` None), or retried after 10 s
    doubling to an hour, given up (``failed``) a day after it was owed — at once without
    ``retry`` (a request whose answer is wanted now, as an SmsUrl's)."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.state != "pending":
        return row
    row.attempts += 1
    if error is None:
        row.state, row.done_at, row.next_at, row.last_error = "delivered", now, None, None
        return row
    row.last_error = error[:300]
    if not retry or now - row.created_at >= GIVE_UP_AFTER:
        row.state, row.done_at, row.next_at = "failed", now, None
        return row
    wait = min(LONGEST_WAIT, FIRST_RETRY * 2 ** min(row.attempts - 1, 20))
    row.next_at = now + wait
    return row


def list_deliveries(
    session: Session,
    account_id: str | None,
    *,
    state: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[WebhookDelivery]:
    """The account's deliveries (every account's for None: the operator's view), newest
    first, ``state`` only when given; a page ends where ``before_id`` (the last id of
    the page before) says."""
    if state is not None and state not in STATES:
        raise DialtoneError("request.invalid", f"state: one of {', '.join(STATES)}.")
    query = select(WebhookDelivery)
    if account_id is not None:
        query = query.where(WebhookDelivery.account_id == account_id)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    query = query.order_by(WebhookDelivery.id.desc()).limit(limit)
    return list(session.scalars(query))


def masked_url(url: str) -> str:
    """``url`` with the password of its credentials, if any, shown as ``***`` (what
    lists of deliveries show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}"))
