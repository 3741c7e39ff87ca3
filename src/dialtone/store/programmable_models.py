"""The tables of programmable voice and messaging (issue 16): the accounts' Twilio-style
auth tokens, and the recordings call applications make (TwiML ``<Record>``).

An auth token is never stored: it is derived from the platform's key and a random salt
(``services.twilio.auth_tokens``), so the server can sign webhooks with it; the table
keeps the salt and the token's SHA-256, and the hash of the token it replaced while that
one is in its rotation notice (TERMS D2).

A recording made by a call application has no other home (a call's own recording is on
its CDR, a voicemail on its message): it gets a row here, with its ``RE…`` id. The
Recordings API lists the three together (``services.twilio.recordings``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dialtone.store.base import Base, UTCDateTime


class AuthToken(Base):
    """An account's auth token: the salt it is derived from and its hash (TERMS D2)."""

    __tablename__ = "auth_tokens"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    salt: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The token this one replaced works until ``previous_expires_at`` (the D2 notice).
    previous_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Recording(Base):
    """A recording a call application made (TwiML ``<Record>``): the customer's content
    (TERMS D6), kept until deleted (D5). A transcript is machine-made: whenever one is
    set ``transcript_label`` says so (V9)."""

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # No foreign key: the CDR is written when the call ends, after the recording.
    call_sid: Mapped[str | None] = mapped_column(String(34), nullable=True)
    path: Mapped[str] = mapped_column(Text)
    duration: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    channels: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    transcript: Mapped[str | None] = mapped_column(Text, nullable=True)
    transcript_label: Mapped[str | None] = mapped_column(String(40), nullable=True)
