"""The web console's tables (issue 18): the platform's operators, signed-in sessions and
invitation links.

An operator runs the platform (all accounts); a customer's people sign in as the users of
their account (TERMS D1 roles). Passwords are argon2 hashes. A session's cookie holds a
random token of which only the SHA-256 is stored, as for API keys: a stolen database
does not sign anyone in. An invitation link is the same: its token is shown once, its
hash kept, and it works once, before it expires.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dialtone.store.base import Base, UTCDateTime


class Operator(Base):
    """A person who runs the platform: sees every account, acts as an account's
    administrator when they open it."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleSession(Base):
    """A signed-in browser: a user of an account, or an operator (with the account they
    opened, if any). ``csrf_token`` is the token every form of the session carries."""

    __tablename__ = "console_sessions"

    # SHA-256 of the cookie's token.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    operator_id: Mapped[str | None] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # The account the session acts on: the user's; for an operator, the one opened.
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleInvitation(Base):
    """A link that lets a user set their password and sign in, once, until it expires."""

    __tablename__ = "console_invitations"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
