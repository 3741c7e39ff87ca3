"""Webhooks owed to an account: stored in the transaction of the change they tell of,
then POSTed by the runtime, signed, and retried with back-off.

The signature lets the customer check a request came from this platform and was not
replayed: header ``Dialtone-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">``, keyed by the account's webhook secret. The secret is derived from the
platform's key and the account id (no table of secrets to leak or back up); the account
reads it with ``GET /v1/account/webhook-secret``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.store.messaging_models import WebhookDelivery

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
    return [Due(r.id, r.account_id, r.url, r.body) for r in rows]


def record_attempt(
    session: Session, delivery_id: int, *, error: str | None, now: datetime
) -> WebhookDelivery | None:
    """The outcome of one attempt: delivered (``error`` None), or retried after 10 s
    doubling to an hour, given up (``failed``) a day after it was owed."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.state != "pending":
        return row
    row.attempts += 1
    if error is None:
        row.state, row.done_at, row.next_at, row.last_error = "delivered", now, None, None
        return row
    row.last_error = error[:300]
    if now - row.created_at >= GIVE_UP_AFTER:
        row.state, row.done_at, row.next_at = "failed", now, None
        return row
    wait = min(LONGEST_WAIT, FIRST_RETRY * 2 ** min(row.attempts - 1, 20))
    row.next_at = now + wait
    return row
