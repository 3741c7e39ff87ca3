"""The messaging tables (issue 15): messages and their parts on the wire, SMPP carriers
and customers' SMPP logins, opt-outs, opt-in records and registered sender IDs.

A message is stored before it is acknowledged (HTTP 202 or submit_sm_resp) and moves
``queued → sending → sent → delivered | undelivered | failed | expired``; each of its
parts is one submit_sm to one carrier, with the carrier's message id so the delivery
receipts find it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dialtone.store.base import Base, UTCDateTime

# Messages the platform sends on its own (the answers to STOP, START, HELP): not the
# customer's, so neither billed (M2) nor counted against bulk or quota limits (M7, M11).
PLATFORM_ORIGIN = "keyword"


class Message(Base):
    """One SMS, outbound (from the API, the CLI or a customer's SMPP bind) or inbound
    (from a carrier). ``segments`` is core.sms's count, the one rules, billing (M2:
    every processed part is billed, delivered or not) and the wire share."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_messages_account_id_created_at", "account_id", "created_at"),
        Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # Only what a bind is owed now: a handful of rows, however many messages.
        Index(
            "ix_messages_bind_notice_due",
            "account_id",
            "bind_notice_due_at",
            sqlite_where=text("bind_notice_due_at IS NOT NULL"),
            postgresql_where=text("bind_notice_due_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))  # outbound | inbound
    sender: Mapped[str] = mapped_column(String(32))  # E.164 or an alphanumeric sender ID
    recipient: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))  # GSM-7 | UCS-2
    segments: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    # Why a message failed or was not delivered: a reason code, and its rule if a term
    # applies (status callbacks carry both).
    error_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    error_rule: Mapped[str | None] = mapped_column(String(8), nullable=True)
    error_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status_callback: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # How the status callback is shaped: "dialtone" (signed JSON) or "twilio" (Twilio's
    # form parameters, X-Twilio-Signature), as the API the message came through.
    callback_format: Mapped[str] = mapped_column(
        String(8), default="dialtone", server_default="dialtone"
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(120), nullable=True)
    origin: Mapped[str] = mapped_column(String(8))  # api | cli | smpp | carrier | agent
    # The customer's SMPP login that submitted it: its receipts go back to that bind.
    smpp_login_id: Mapped[str | None] = mapped_column(String(34), nullable=True)
    # The customer's own reference from submit_sm (user_message_reference).
    client_reference: Mapped[str | None] = mapped_column(String(65), nullable=True)
    # submit_sm's registered_delivery (SMPP 3.4 §5.2.17): which delivery receipt the
    # customer's bind asked for; NULL for a message that did not come by SMPP.
    smpp_registered_delivery: Mapped[int | None] = mapped_column(Integer, nullable=True)
    carrier_id: Mapped[str | None] = mapped_column(String(34), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The validity period: undelivered by then, the message expires.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Since when a customer's SMPP bind is owed a deliver_sm for this message (its
    # receipt, or the inbound message itself); NULL when none is, or once the bind
    # answered it (services.messaging.bind_notices).
    bind_notice_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MessagePart(Base):
    """One part of a message as submitted to a carrier (one submit_sm)."""

    __tablename__ = "message_parts"
    __table_args__ = (
        UniqueConstraint("message_id", "seq"),
        Index("ix_message_parts_carrier_id_carrier_message_id", "carrier_id", "carrier_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    carrier_id: Mapped[str | None] = mapped_column(String(34), nullable=True)
    carrier_message_id: Mapped[str | None] = mapped_column(String(65), nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SmppCarrier(Base):
    """A carrier's SMSC dialtone binds to as an ESME, configured like a SIP trunk:
    messages whose recipient starts with one of ``prefixes`` (all when empty) go to the
    enabled carrier of lowest ``priority``, the next one on temporary errors. The
    password is sealed with the platform's key (it must be sent, so it cannot be hashed)."""

    __tablename__ = "smpp_carriers"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=2775)
    system_id: Mapped[str] = mapped_column(String(16))
    password_sealed: Mapped[str] = mapped_column(String(1200))
    system_type: Mapped[str] = mapped_column(String(13), default="")
    bind_type: Mapped[str] = mapped_column(String(12), default="transceiver")
    window: Mapped[int] = mapped_column(Integer, default=10)
    throughput: Mapped[int] = mapped_column(Integer, default=100)  # messages per second
    prefixes: Mapped[str] = mapped_column(String(2000), default="")  # space-separated
    priority: Mapped[int] = mapped_column(Integer, default=100)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The bind as the runtime last saw it: bound / connecting / failed, and why.
    bind_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    bind_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


class SmppLogin(Base):
    """An account's SMPP credentials: its software binds to dialtone's SMPP server with
    ``system_id`` and the password, of which only a hash is kept."""

    __tablename__ = "smpp_logins"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    system_id: Mapped[str] = mapped_column(String(16), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SmsOptOut(Base):
    """TERMS M3: a recipient who asked one of the account's numbers (``sender``), or all
    of them (``sender`` NULL: STOPALL), to stop; ``opted_in_at`` when they opted back
    in (START, UNSTOP, YES). The row is kept as the record of both."""

    __tablename__ = "sms_opt_outs"
    __table_args__ = (Index("ix_sms_opt_outs_account_id_recipient", "account_id", "recipient"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str | None] = mapped_column(String(32), nullable=True)
    keyword: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # keyword | api | cli
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opted_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SmsConsent(Base):
    """TERMS M3: a recipient's opt-in as the account recorded it: where it was given
    (``source``: a web form's address, a paper form, a keyword), when, the wording shown,
    and whether it covers marketing. Withdrawn consents are kept, as proof of the past."""

    __tablename__ = "sms_consents"
    __table_args__ = (Index("ix_sms_consents_account_id_recipient", "account_id", "recipient"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(500))
    wording: Mapped[str] = mapped_column(Text)
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SenderName(Base):
    """TERMS M6: an alphanumeric sender ID registered to an account (the operator
    registers it after checking the account may use that name)."""

    __tablename__ = "sender_names"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(11))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """One HTTP notification owed to a customer (a message's status callback, an inbound
    message, a call's status), stored in the transaction of what it tells so it is never
    lost, then sent signed and retried with back-off until answered 2xx or given up.

    ``format`` says how: "dialtone" POSTs ``body`` as JSON signed ``Dialtone-Signature``;
    "twilio" sends ``body``, form-encoded parameters, by ``method`` (POST: the form;
    GET: in the query string) signed ``X-Twilio-Signature`` with the auth token."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_state_next_at", "state", "next_at"),
        # An account's deliveries listed, newest first (GET /v1/webhooks).
        Index("ix_webhook_deliveries_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))  # message.status | message.received
    url: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)  # the JSON, or the form parameters, sent
    format: Mapped[str] = mapped_column(String(8), default="dialtone", server_default="dialtone")
    method: Mapped[str] = mapped_column(String(4), default="POST", server_default="POST")
    state: Mapped[str] = mapped_column(String(10))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsentProofRequest(Base):
    """TERMS M3: someone (a carrier, a regulator, through the operator) asked the account
    for the proof of a recipient's consent; unanswered 24 hours later, the account's
    messaging is suspended until it answers."""

    __tablename__ = "consent_proof_requests"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
