"""Signing in to the web console (issue 18): passwords, operators, invitations, sessions.

A customer's people sign in as the users of their account, with the user's role (TERMS
D1); an operator signs in to run the platform. Passwords are hashed with argon2id
(``argon2-cffi``, its default parameters); only a hash is stored. A session is a random
token in an HttpOnly cookie, of which the database keeps the SHA-256, like an API key;
its CSRF token is separate and goes in every form. An invitation link sets a user's
password once, before it expires. The same email signs in to one place only, so a
password is refused for a user whose email another signed-in person already uses.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound, Unauthorized
from dialtone.services.ids import new_id
from dialtone.store.console_models import ConsoleInvitation, ConsoleSession, Operator
from dialtone.store.models import Account, User

MIN_PASSWORD = 10
MAX_PASSWORD = 200
MAX_EMAIL = 320
INVITATION_TTL = timedelta(days=3)
LANGUAGES = ("en", "fr")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that an unknown email takes as long
    as a wrong password (no telling which emails have an account by timing). Made on first
    use: an argon2 hash costs a tenth of a second, which every start would pay."""
    return _hasher.hash("not a password anyone has")


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session just opened: the cookie's token (given this once) and its row."""

    token: str
    row: ConsoleSession


def hash_token(token: str) -> str:
    """SHA-256 of a session or invitation token (256 random bits: a fast hash is enough)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    """An email as it is compared: trimmed, lower case."""
    return email.strip().lower()


def check_password(password: str) -> None:
    """Refuse a password too short or too long to be a good one (``console.password_invalid``)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise DialtoneError(
            "console.password_invalid",
            f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
        )


def hash_password(password: str) -> str:
    """The argon2id hash of an acceptable password."""
    check_password(password)
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def create_operator(
    session: Session, email: str, name: str, password: str, *, now: datetime
) -> Operator:
    """A new operator of the platform (``console.email_taken`` if the email signs in already)."""
    address = _checked_email(email)
    _refuse_taken(session, address)
    row = Operator(
        id=new_id("OP"),
        email=address,
        name=name.strip()[:200] or address,
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def set_user_password(session: Session, account_id: str, user_id: str, password: str) -> User:
    """Set the console password of a user who has an email (TERMS D1: they sign in with
    their role)."""
    user = _user(session, account_id, user_id)
    if not user.email:
        raise DialtoneError(
            "console.email_missing", "The user needs an email to sign in to the console."
        )
    _refuse_taken(session, normalise_email(user.email), except_user=user.id)
    user.password_hash = hash_password(password)
    # A new password ends the sessions opened with the old one.
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    return user


def change_password(
    session: Session,
    account_id: str,
    user_id: str,
    current: str,
    new: str,
    *,
    now: datetime,
    ttl: timedelta,
) -> SignedIn:
    """A user changes their own console password, giving the current one first (TERMS
    D2: a session left open on a shared screen cannot take the account over); 400
    ``console.invalid`` when it is wrong. As any new password, it ends every session of
    the user; the one returned replaces the session that asked."""
    user = _user(session, account_id, user_id)
    if not _verify(user.password_hash, current):
        raise DialtoneError("console.invalid", "The current password is wrong.")
    set_user_password(session, account_id, user_id, new)
    return _open(session, now=now, ttl=ttl, user=user)


def change_operator_password(
    session: Session,
    operator_id: str,
    current: str,
    new: str,
    *,
    now: datetime,
    ttl: timedelta,
    account_id: str | None = None,
) -> SignedIn:
    """An operator changes their own password, the current one first (D2): every session
    of theirs ends; the one returned (with ``account_id`` still open) replaces the one
    that asked."""
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise NotFound("console.invalid", "No such operator.")
    if not _verify(operator.password_hash, current):
        raise DialtoneError("console.invalid", "The current password is wrong.")
    set_operator_password(session, operator.email, new)
    signed = _open(session, now=now, ttl=ttl, operator=operator)
    signed.row.account_id = account_id
    return signed


def set_operator_password(session: Session, email: str, password: str) -> Operator:
    """Set an operator's password (the CLI's reset): every session of theirs ends."""
    operator = session.scalar(select(Operator).where(Operator.email == normalise_email(email)))
    if operator is None:
        raise NotFound("console.invalid", f"No operator signs in as {email}.")
    operator.password_hash = hash_password(password)
    session.execute(delete(ConsoleSession).where(ConsoleSession.operator_id == operator.id))
    return operator


def set_language(session: Session, account_id: str, user_id: str, language: str | None) -> User:
    """The console's language for a user (``en``, ``fr``; None: the browser's)."""
    if language is not None and language not in LANGUAGES:
        raise DialtoneError("console.invalid", f"language is one of {', '.join(LANGUAGES)}.")
    user = _user(session, account_id, user_id)
    user.language = language
    return user


def invite(session: Session, account_id: str, user_id: str, *, now: datetime) -> str:
    """An invitation link's token for the user (shown once; valid for three days and for
    one use). Earlier unused invitations of the user stop working."""
    user = _user(session, account_id, user_id)
    if not user.email:
        raise DialtoneError(
            "console.email_missing", "The user needs an email to sign in to the console."
        )
    _refuse_taken(session, normalise_email(user.email), except_user=user.id)
    session.execute(
        delete(ConsoleInvitation).where(
            ConsoleInvitation.user_id == user.id, ConsoleInvitation.used_at.is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleInvitation(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + INVITATION_TTL,
        )
    )
    session.flush()
    return token


def invited_users(session: Session, user_ids: Sequence[str], *, now: datetime) -> set[str]:
    """Which of ``user_ids`` hold an invitation still usable at ``now`` (the users page
    says "invited" for them)."""
    if not user_ids:
        return set()
    return set(
        session.scalars(
            select(ConsoleInvitation.user_id).where(
                ConsoleInvitation.user_id.in_(list(user_ids)),
                ConsoleInvitation.used_at.is_(None),
                ConsoleInvitation.expires_at > now,
            )
        )
    )


def invited_user(session: Session, token: str, *, now: datetime) -> User:
    """The user an unused, unexpired invitation is for (``console.invitation_invalid``)."""
    invitation = session.get(ConsoleInvitation, hash_token(token))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise NotFound(
            "console.invitation_invalid", "This invitation link is used, expired or unknown."
        )
    user = session.get(User, invitation.user_id)
    if user is None or user.status != "active":
        raise NotFound(
            "console.invitation_invalid", "This invitation link is used, expired or unknown."
        )
    return user


def accept_invitation(
    session: Session, token: str, password: str, *, now: datetime, ttl: timedelta
) -> SignedIn:
    """Set the invited user's password, use the invitation up, and sign them in."""
    user = invited_user(session, token, now=now)
    invitation = session.get(ConsoleInvitation, hash_token(token))
    assert invitation is not None  # checked by invited_user
    set_user_password(session, user.account_id, user.id, password)
    invitation.used_at = now
    return _open(session, now=now, ttl=ttl, user=user)


def sign_in(
    session: Session, email: str, password: str, *, now: datetime, ttl: timedelta
) -> SignedIn:
    """A session for the active user or the operator this email and password are
    (``console.sign_in_failed``, the same answer whichever was wrong)."""
    address = normalise_email(email)
    operator = session.scalar(select(Operator).where(Operator.email == address))
    if operator is not None:
        if _verify(operator.password_hash, password):
            return _open(session, now=now, ttl=ttl, operator=operator)
        raise _failed()
    users = session.scalars(
        select(User).where(
            func.lower(User.email) == address,
            User.password_hash.is_not(None),
            User.status == "active",
        )
    ).all()
    user = users[0] if len(users) == 1 else None
    if _verify(user.password_hash if user else None, password) and user is not None:
        account = session.get(Account, user.account_id)
        if account is not None and account.status != "closed":
            return _open(session, now=now, ttl=ttl, user=user)
    raise _failed()


def session_for(session: Session, token: str | None, *, now: datetime) -> ConsoleSession | None:
    """The session a cookie's token opens, while it has not expired."""
    if not token:
        return None
    row = session.get(ConsoleSession, hash_token(token))
    if row is None or row.expires_at <= now:
        return None
    return row


def sign_out(session: Session, token: str) -> None:
    """End the session of this token (nothing if there is none)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token)))


def open_account(session: Session, row: ConsoleSession, account_id: str | None) -> None:
    """An operator's session opens ``account_id`` (None: back to every account)."""
    if row.operator_id is None:
        raise DialtoneError(
            "console.operator_only", "Only an operator opens other accounts.", status=403
        )
    if account_id is not None and session.get(Account, account_id) is None:
        raise NotFound("account.not_found", f"No account {account_id}.")
    row.account_id = account_id


def forget_expired(session: Session, *, now: datetime) -> int:
    """Delete sessions that have expired; how many."""
    result = session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def _open(
    session: Session,
    *,
    now: datetime,
    ttl: timedelta,
    user: User | None = None,
    operator: Operator | None = None,
) -> SignedIn:
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=hash_token(token),
        user_id=user.id if user else None,
        operator_id=operator.id if operator else None,
        account_id=user.account_id if user else None,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    return SignedIn(token, row)


def _failed() -> Unauthorized:
    return Unauthorized("console.sign_in_failed", "The email or the password is wrong.")


def _checked_email(email: str) -> str:
    address = normalise_email(email)
    if not 3 <= len(address) <= MAX_EMAIL or "@" not in address:
        raise DialtoneError("console.invalid", "An email address is needed.")
    return address


def _refuse_taken(session: Session, address: str, except_user: str | None = None) -> None:
    taken = session.scalar(select(Operator.id).where(Operator.email == address)) or session.scalar(
        select(User.id).where(
            func.lower(User.email) == address,
            User.password_hash.is_not(None),
            User.id != (except_user or ""),
        )
    )
    if taken:
        raise Conflict(
            "console.email_taken", f"{address} already signs in to the console elsewhere."
        )


def _user(session: Session, account_id: str, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or user.account_id != account_id:
        raise NotFound("user.not_found", f"The account has no user {user_id}.")
    return user
