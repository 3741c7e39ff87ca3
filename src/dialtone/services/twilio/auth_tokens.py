"""Accounts' auth tokens: HTTP Basic ``AccountSid:AuthToken`` and the key of the
``X-Twilio-Signature`` on webhooks (issue 16; TERMS D2).

The server must be able to produce the token (webhooks are signed with it), yet a copy
of the database alone must not reveal it. So, like the webhook secret
(:func:`dialtone.services.accounts.webhooks.account_secret`), the token is derived:
``hex(HMAC-SHA256(platform key, "auth-token:<account id>:<salt>"))[:32]``, from a random
salt kept per account and the platform's key (``Settings.sealing_key()``, never in the
database). The table keeps the salt and the token's SHA-256, which a request's token is
compared with.

Rotation (D2): a new salt becomes the token; the token it replaced keeps working until
the notice ends (one business day when the platform rotates; at once when the customer
rotates after a suspected compromise), then stops. One token is kept in its notice: a
second rotation during it stops the oldest at once (it never extends a notice).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, object_session

from dialtone.core.errors import Conflict
from dialtone.policy.permissions import rotation_deadline
from dialtone.services.accounts import audit
from dialtone.store.models import Account
from dialtone.store.programmable_models import AuthToken

TOKEN_LENGTH = 32  # hex digits, as Twilio's


def derive(platform_key: bytes, account_id: str, salt: str) -> str:
    """The token a salt gives (32 hex digits)."""
    mac = hmac.new(platform_key, f"auth-token:{account_id}:{salt}".encode(), hashlib.sha256)
    return mac.hexdigest()[:TOKEN_LENGTH]


def hash_token(token: str) -> str:
    """SHA-256 of a token (128 bits of HMAC output: a fast hash is enough)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new(platform_key: bytes, account_id: str) -> tuple[str, str]:
    salt = secrets.token_hex(16)
    token = derive(platform_key, account_id, salt)
    return salt, token


def issue(session: Session, account: Account | str, platform_key: bytes, now: datetime) -> str:
    """The account's first auth token (shown once, by ``accounts create``); 409
    ``auth_token.exists`` when it has one: rotate that instead."""
    account_id = account if isinstance(account, str) else account.id
    if session.get(AuthToken, account_id) is not None:
        raise Conflict(
            "auth_token.exists",
            f"Account {account_id} already has an auth token: rotate it.",
        )
    salt, token = _new(platform_key, account_id)
    session.add(
        AuthToken(account_id=account_id, salt=salt, token_hash=hash_token(token), created_at=now)
    )
    session.flush()
    return token


@dataclass(frozen=True, slots=True)
class Rotated:
    """A rotation: the new token (shown once) and when the one it replaced stops."""

    token: str
    previous_expires_at: datetime | None


def rotate(
    session: Session,
    account: Account | str,
    platform_key: bytes,
    now: datetime,
    *,
    immediately: bool = False,
    notice_business_days: int = 1,
    actor: str = "operator",
) -> Rotated:
    """TERMS D2: a new token works at once; the old one stops at once when
    ``immediately`` (the customer's rotation after a suspected compromise), else after
    ``notice_business_days`` business days (the platform's rotation). An account without
    a token gets its first. Recorded on the audit log."""
    account_id = account if isinstance(account, str) else account.id
    row = session.get(AuthToken, account_id)
    if row is None:
        return Rotated(issue(session, account_id, platform_key, now), None)
    salt, token = _new(platform_key, account_id)
    ends = now if immediately else rotation_deadline(now, notice_business_days=notice_business_days)
    row.previous_hash = None if immediately else row.token_hash
    row.previous_expires_at = None if immediately else ends
    row.salt, row.token_hash, row.created_at = salt, hash_token(token), now
    audit.record_enforcement(
        session,
        "credentials.rotated",
        f"The auth token of {account_id} was replaced; the old one stops working at "
        f"{ends.isoformat()}",
        at=now,
        account_id=account_id,
        actor=actor,
        action="auth_token.rotate",
        expires_at=ends.isoformat(),
    )
    session.flush()
    return Rotated(token, ends)


def current_token(platform_key: bytes, account: Account | AuthToken) -> str | None:
    """The account's auth token now: what ``X-Twilio-Signature`` is computed with.
    None when the account has none. Given an ``Account``, its row is read in the
    account's own session."""
    if isinstance(account, AuthToken):
        return derive(platform_key, account.account_id, account.salt)
    session = object_session(account)
    row = session.get(AuthToken, account.id) if session is not None else None
    return None if row is None else derive(platform_key, account.id, row.salt)


@dataclass(frozen=True, slots=True)
class Match:
    """A token that authenticates: None, or when it stops (a replaced one, D2)."""

    expires_at: datetime | None


def match(session: Session, account_id: str, token: str, now: datetime) -> Match | None:
    """Whether ``token`` is the account's token, or the one it replaced while that one
    is in its notice; compared by hash, in constant time."""
    row = session.get(AuthToken, account_id)
    if row is None or not token:
        return None
    given = hash_token(token)
    if hmac.compare_digest(given, row.token_hash):
        return Match(None)
    if (
        row.previous_hash is not None
        and row.previous_expires_at is not None
        and now < row.previous_expires_at
        and hmac.compare_digest(given, row.previous_hash)
    ):
        return Match(row.previous_expires_at)
    return None


def check(
    session: Session, account_id: str, token: str, platform_key: bytes, now: datetime
) -> bool:
    """Whether ``token`` authenticates as ``account_id`` now (:func:`match`). The
    current token is also re-derived from its salt: a hash written into the database
    without the platform's key authenticates nothing."""
    found = match(session, account_id, token, now)
    if found is None:
        return False
    if found.expires_at is not None:
        return True  # the replaced token: its salt is gone, its hash was checked
    row = session.get(AuthToken, account_id)
    return row is not None and hmac.compare_digest(
        derive(platform_key, account_id, row.salt), token
    )
