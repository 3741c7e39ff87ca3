"""Accounts' SMPP logins: the ``system_id`` and password their software binds to
dialtone's SMPP server with. Only a scrypt hash of the password is kept; it is shown
once, when the login is made."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.services.ids import new_id
from dialtone.store.messaging_models import SmppLogin

# scrypt's cost (RFC 7914): 2^14 iterations of 8 blocks, about 16 MiB and tens of ms per
# check; binds are rare and rate-limited, so this is cheap for us and dear for a guesser.
_N, _R, _P = 2**14, 8, 1
PASSWORD_LENGTH = 8  # SMPP 3.4 passwords are at most 8 characters


def hash_password(password: str) -> str:
    """``password`` as stored: ``scrypt$n$r$p$salt$hash`` (base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${encode(salt).decode()}${encode(digest).decode()}"


def password_matches(stored: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant time)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


def create_login(
    session: Session, account_id: str, system_id: str, *, now: datetime
) -> tuple[SmppLogin, str]:
    """A new login for the account; the row and its password (shown only now)."""
    if not 1 <= len(system_id) <= 15 or not system_id.isprintable():
        raise DialtoneError("request.invalid", "system_id: 1 to 15 printable characters.")
    if session.scalar(select(SmppLogin.id).where(SmppLogin.system_id == system_id)):
        raise Conflict("smpp_login.taken", f"The system_id {system_id!r} is taken.")
    # Letters and digits only: SMPP clients put passwords in config files and URLs.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    password = "".join(secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH))
    row = SmppLogin(
        id=new_id("SL"),
        account_id=account_id,
        system_id=system_id,
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, password


def authenticate(session: Session, system_id: str, password: str) -> SmppLogin | None:
    """The login a bind names, when the password matches and it is not revoked."""
    row = session.scalar(select(SmppLogin).where(SmppLogin.system_id == system_id))
    if row is None or row.revoked_at is not None:
        # The same work as a check, so a missing system_id is not told apart by time.
        password_matches(_dummy_hash(), password)
        return None
    return row if password_matches(row.password_hash, password) else None


def list_logins(session: Session, account_id: str) -> list[SmppLogin]:
    """The account's logins."""
    return list(
        session.scalars(
            select(SmppLogin)
            .where(SmppLogin.account_id == account_id)
            .order_by(SmppLogin.created_at)
        )
    )


def revoke_login(session: Session, account_id: str, login_id: str, *, now: datetime) -> None:
    """Revoke a login: new binds with it are refused."""
    row = session.get(SmppLogin, login_id)
    if row is None or row.account_id != account_id:
        raise NotFound("smpp_login.not_found", f"No SMPP login {login_id}.")
    if row.revoked_at is None:
        row.revoked_at = now


@functools.cache
def _dummy_hash() -> str:
    # Made on first use: an argon2 hash costs a tenth of a second every start would pay.
    return hash_password(secrets.token_hex(8))
