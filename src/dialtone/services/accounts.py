"""Accounts (tenants) and their API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound, Unauthorized
from dialtone.rating.increments import Increment
from dialtone.services.ids import new_id
from dialtone.store.models import Account, ApiKey

KEY_PREFIX = "dt_"


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A created account and the API key shown to the operator once."""

    account: Account
    api_key: str


def hash_key(key: str) -> str:
    """SHA-256 of an API key. Keys are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_account(
    session: Session, name: str, *, now: datetime, billing_increment: str = "60/60"
) -> NewAccount:
    """Create an account with one API key (TERMS B2 increment as its default plan)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise DialtoneError("account.name_invalid", "An account name has 1 to 200 characters.")
    try:
        increment = str(Increment.parse(billing_increment))
    except ValueError as exc:
        raise DialtoneError("account.increment_invalid", str(exc), rule="B2") from None
    account = Account(
        id=new_id("AC"), name=name, status="active", billing_increment=increment, created_at=now
    )
    session.add(account)
    session.flush()
    key = issue_api_key(session, account.id, now=now)
    return NewAccount(account=account, api_key=key)


def issue_api_key(
    session: Session, account_id: str, *, now: datetime, name: str = "default"
) -> str:
    """A new API key for the account; only its hash is stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            id=new_id("KE"),
            account_id=account_id,
            name=name,
            prefix=key[:10],
            key_hash=hash_key(key),
            created_at=now,
        )
    )
    session.flush()
    return key


def authenticate(session: Session, key: str | None) -> Account:
    """The account an API key belongs to; Unauthorized when missing, unknown or revoked."""
    if not key:
        raise Unauthorized("auth.missing", "Send 'Authorization: Bearer <api key>'.")
    row = session.execute(
        select(ApiKey, Account)
        .join(Account, Account.id == ApiKey.account_id)
        .where(ApiKey.key_hash == hash_key(key))
    ).first()
    if row is None or row[0].revoked_at is not None:
        raise Unauthorized("auth.invalid_key", "The API key is unknown or revoked.")
    return row[1]


def get_account(session: Session, account_id: str) -> Account:
    """An account by id."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account.not_found", f"No account {account_id}.")
    return account


def list_accounts(session: Session) -> list[Account]:
    """Every account, oldest first."""
    return list(session.scalars(select(Account).order_by(Account.created_at, Account.id)))
