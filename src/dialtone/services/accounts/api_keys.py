"""API keys: the account's, its users', their rotation and revocation (TERMS D1, D2).

Only a key's SHA-256 is stored; the key itself is shown once, when issued. A key issued
to a user acts with that user's role (D1); the key an account is created with belongs
to no user and acts as its administrator. A rotation issues the replacement at once and
lets the old key work until the notice ends (D2: one business day when the platform
rotates), or stops it at once when the customer rotates after a suspected compromise.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound, Unauthorized
from dialtone.policy.permissions import ADMINISTRATOR, rotation_deadline
from dialtone.services.accounts import audit
from dialtone.services.ids import new_id
from dialtone.store.models import Account, ApiKey, User

KEY_PREFIX = "dt_"
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just issued: its row and the key itself, shown this once."""

    row: ApiKey
    key: str


@dataclass(frozen=True, slots=True)
class Credential:
    """Who an API request acts as: the key, its account, and the role it carries."""

    key_id: str
    account: Account
    role: str
    user_id: str | None
    # When the key stops (it was rotated with notice, D2); None: it does not expire.
    expires_at: datetime | None = None
    # What ``key_id`` names: an API key, or who signed in to the web console ("user",
    # "operator"), which acts with the same role and permissions.
    kind: str = "api_key"

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.kind}:{self.key_id}"


def hash_key(key: str) -> str:
    """SHA-256 of an API key. Keys are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue(
    session: Session,
    account_id: str,
    *,
    now: datetime,
    name: str = "default",
    user_id: str | None = None,
) -> IssuedKey:
    """A new API key for the account, or for one of its users (then it carries the
    user's role, TERMS D1); only its hash is stored."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise DialtoneError("api_key.invalid", f"A key name has 1 to {MAX_NAME} characters.")
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.account_id != account_id:
            raise NotFound("user.not_found", f"The account has no user {user_id}.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=new_id("KE"),
        account_id=account_id,
        name=name,
        prefix=key[:10],
        key_hash=hash_key(key),
        created_at=now,
        user_id=user_id,
    )
    session.add(row)
    session.flush()
    return IssuedKey(row=row, key=key)


def authenticate(session: Session, key: str | None, *, now: datetime) -> Credential:
    """Who ``key`` acts as; 401 when it is missing, unknown, revoked, past the end of
    its rotation notice (D2), or its user is disabled (D1)."""
    if not key:
        raise Unauthorized("auth.missing", "Send 'Authorization: Bearer <api key>'.")
    found = session.execute(
        select(ApiKey, Account, User)
        .join(Account, Account.id == ApiKey.account_id)
        .outerjoin(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == hash_key(key))
    ).first()
    if found is None:
        raise Unauthorized("auth.invalid_key", "The API key is unknown or revoked.")
    row, account, user = found
    if row.revoked_at is not None:
        raise Unauthorized("auth.invalid_key", "The API key is unknown or revoked.")
    if row.expires_at is not None and now >= row.expires_at:
        raise Unauthorized(
            "auth.invalid_key",
            "The API key was rotated and its notice has ended: use its replacement.",
        )
    if user is not None and user.status != "active":
        raise Unauthorized("auth.invalid_key", "The API key's user is disabled.")
    role = user.role if user is not None else ADMINISTRATOR
    return Credential(
        key_id=row.id,
        account=account,
        role=role,
        user_id=user.id if user else None,
        expires_at=row.expires_at,
    )


def list_keys(session: Session, account_id: str) -> list[ApiKey]:
    """The account's keys (revoked ones too, for the record), oldest first."""
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.account_id == account_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
    )


def get_key(session: Session, account_id: str, key_id: str) -> ApiKey:
    """One of the account's keys; 404 ``api_key.not_found`` otherwise."""
    row = session.get(ApiKey, key_id)
    if row is None or row.account_id != account_id:
        raise NotFound("api_key.not_found", f"The account has no API key {key_id}.")
    return row


def revoke(session: Session, account_id: str, key_id: str, *, now: datetime) -> ApiKey:
    """Stop a key at once (kept, marked revoked). Revoking twice keeps the first time."""
    row = get_key(session, account_id, key_id)
    if row.revoked_at is None:
        row.revoked_at = now
    session.flush()
    return row


def rotate(
    session: Session,
    account_id: str,
    key_id: str,
    *,
    now: datetime,
    immediately: bool = False,
    notice_business_days: int = 1,
    actor: str = "operator",
) -> IssuedKey:
    """Replace a key (TERMS D2): the replacement works at once, with the same name and
    user; the old key stops at once when ``immediately`` (the customer's own rotation
    after a suspected compromise), else after ``notice_business_days`` business days
    (the platform's rotation for security). Recorded on the audit log. A key already
    rotated (in its notice) is not rotated again: 409 ``api_key.rotating``."""
    old = get_key(session, account_id, key_id)
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
        raise Conflict("api_key.inactive", f"The API key {key_id} is revoked or already expired.")
    if old.expires_at is not None:
        # Already replaced: another replacement would leave two live successors, and a
        # key could be kept alive forever by rotating it again before its notice ends.
        raise Conflict(
            "api_key.rotating",
            f"The API key {key_id} was already rotated and stops at "
            f"{old.expires_at.isoformat()}: rotate its replacement, or revoke it to stop it now.",
            rule="D2",
        )
    replacement = issue(session, account_id, now=now, name=old.name, user_id=old.user_id)
    ends = now if immediately else rotation_deadline(now, notice_business_days=notice_business_days)
    if old.expires_at is None or ends < old.expires_at:
        old.expires_at = ends
    audit.record_enforcement(
        session,
        "credentials.rotated",
        f"API key {old.prefix}… was replaced by {replacement.row.prefix}…; "
        f"the old key stops working at {ends.isoformat()}",
        at=now,
        account_id=account_id,
        actor=actor,
        action="api_key.rotate",
        key_id=old.id,
        replacement_id=replacement.row.id,
        expires_at=ends.isoformat(),
    )
    session.flush()
    return replacement
