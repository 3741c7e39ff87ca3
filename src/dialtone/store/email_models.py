"""The email tables (issue 15, TERMS M9): emails sent through the operator's SMTP relay
and each account's suppression list.

An email is checked and stored ``queued`` before the API's ``202``; the runtime's sender
moves it to ``sent`` or ``failed`` (a temporary SMTP error leaves it ``queued`` for a
later attempt), or to ``suppressed`` when its recipient was suppressed in the meantime
(an unsubscribe is honoured at once, even for mail already queued). What is stored is
what goes on the wire: bodies with the marketing footer, the ``List-Unsubscribe`` value.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dialtone.store.base import Base, UTCDateTime


class EmailMessage(Base):
    """One email an account sent (or asked to send)."""

    __tablename__ = "email_messages"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_email_messages_account_id_created_at", "account_id", "created_at"),
        Index("ix_email_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(254))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    kind: Mapped[str] = mapped_column(String(13))  # transactional | marketing
    status: Mapped[str] = mapped_column(String(10))  # queued | sent | failed | suppressed
    # Why it failed or was suppressed: a reason code where one applies, and the words
    # (an SMTP server's answer, for instance).
    error_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The Message-ID header (with its angle brackets), made when the email is stored so a
    # retried attempt carries the same one.
    message_id_header: Mapped[str] = mapped_column(String(255))
    # The List-Unsubscribe header of a marketing email (RFC 2369; with RFC 8058's
    # List-Unsubscribe-Post beside it), None for transactional mail.
    list_unsubscribe: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(120), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EmailSuppression(Base):
    """An address the account's mail no longer goes to: the recipient unsubscribed
    (marketing stops; only the recipient lifts it), the address bounced, or the account
    put it there (``manual``; neither of the last two gets any mail)."""

    __tablename__ = "email_suppressions"
    __table_args__ = (UniqueConstraint("account_id", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(254))  # lower-cased
    reason: Mapped[str] = mapped_column(String(12))  # unsubscribe | bounce | manual
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
