"""The tables. Money-free for now; call durations are exact Decimals (milliseconds).

Columns added to a table that already holds rows carry a ``server_default`` as well as a
Python ``default``, so the migration can add them NOT NULL to existing rows.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Re-exported: the migrations and services know them as models.Base and models.UTCDateTime.
from dialtone.store.base import Base as Base  # noqa: PLC0414
from dialtone.store.base import UTCDateTime as UTCDateTime  # noqa: PLC0414


class Account(Base):
    """A customer of the operator (a tenant): holds numbers, users, keys and calls."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    billing_increment: Mapped[str] = mapped_column(String(11), default="60/60")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # TERMS V2: one simultaneous call per user; more channels are a paid option.
    channels_per_user: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # TERMS V8: "off", or "notice" (a notice prompt plays first, then both legs are recorded).
    recording_policy: Mapped[str] = mapped_column(String(10), default="off", server_default="off")
    # ISO 3166 country the account dials from (TERMS V6, V7); None: the operator's default.
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # TERMS V5: premium-rate and high-cost destinations are blocked unless the operator
    # allows them for this account.
    premium_rate_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    high_cost_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # TERMS V12: a telemarketing account's calls also meet the national do-not-call
    # registers and the callee's calling hours.
    telemarketing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # TERMS N6: the plan and whether an app store bills it set the revocation delay.
    plan: Mapped[str] = mapped_column(
        String(20), default="professional", server_default="professional"
    )
    app_store: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # TERMS N7: when the account closed (its numbers then go to quarantine).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS F5: a suspension of the unlimited plan for abuse (the rule that found it),
    # its remedy, and the plan's termination when the 7 days ran out unremedied.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    suspension_rule: Mapped[str | None] = mapped_column(String(4), nullable=True)
    remedied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    plan_terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS D3: when the customer declared it is on no sanctions or export-control list.
    sanctions_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS N3: a false or incorrect declaration notified (the 8-day correction window
    # runs from then) and when it was corrected.
    kyc_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    kyc_corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS B10: suspended on the third rejected payment (calls refused, numbers
    # deactivated under N6) until the invoices are paid.
    billing_suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Issue 15: where the account's inbound SMS are POSTed (signed), if anywhere.
    sms_webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # TERMS M3: messaging suspended because a proof of consent was not produced in time.
    messaging_suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The sender's postal address every marketing email carries (TERMS M9); None: the
    # account sends no marketing email.
    postal_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    # TERMS A8: whether the operator may look at the account's AI calls (reports,
    # transcripts) to monitor their quality; the customer opts out from the console.
    ai_quality_monitoring: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class ApiKey(Base):
    """An API key; only its SHA-256 is stored, the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="default")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS D1: a key issued to a user acts with that user's role; an account key (no
    # user) acts as the administrator.
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # TERMS D2: a key the platform rotated keeps working until then (the notice).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    user: Mapped[User | None] = relationship(lazy="selectin")


class User(Base):
    """A person on a paid access of an account (TERMS D1 roles).

    SIP credentials are kept only as digest HA1 hashes (RFC 7616) for MD5 and SHA-256;
    the password itself is never stored. HA1 includes the realm and the username, so a
    change of either needs the password set again.
    """

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("account_id", "extension", name="uq_users_account_id_extension"),
    )

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="user")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extension: Mapped[str | None] = mapped_column(String(6), nullable=True)
    sip_username: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    ha1_md5: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ha1_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # None: the account's channels_per_user applies (TERMS V2).
    channels: Mapped[int | None] = mapped_column(Integer, nullable=True)
    voicemail_greeting: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    # TERMS V7: the registered location emergency calls are placed from, and when the
    # user acknowledged that an Internet emergency call can be misrouted.
    emergency_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    emergency_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    emergency_registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    emergency_warning_acknowledged_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True
    )
    # The web console's sign-in (issue 18): an argon2 hash, never the password; None: the
    # user has not set one (an invitation link sets it).
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The console's language for this user ("en", "fr"); None: the browser's.
    language: Mapped[str | None] = mapped_column(String(5), nullable=True)


class Registration(Base):
    """A contact a user's device registered (RFC 3261 §10.3), kept so a restart keeps it.

    ``source`` is ``transport:host:port`` of the REGISTER (``udp:[2001:db8::1]:5060`` for
    IPv6): requests to a phone behind NAT go there, and it names the device for
    traceback (TERMS V11). Behind an edge it is the client's address as the edge reported
    it, and ``path`` says how to reach it.
    """

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("user_id", "contact"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(100))
    transport: Mapped[str] = mapped_column(String(3))
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    call_id: Mapped[str] = mapped_column(String(255))
    cseq: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The worker whose connection a TCP/TLS binding lives on (issue 19): only that
    # worker's start drops it. NULL for UDP bindings (any worker reaches them) and for
    # rows written before workers were named.
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The REGISTER's Path (RFC 3327), one entry a line: registered through an edge, a
    # request to the contact goes to the first entry with the Path as its Route.
    path: Mapped[str | None] = mapped_column(Text, nullable=True)


class Lease(Base):
    """A lease one worker holds at a time (issue 19): ``leader`` (the duties that must
    not run twice) and each worker's heartbeat (``worker:<id>``). Taken or renewed by
    one conditional statement (``services.leases``); ``token`` grows each time the
    holder changes, so a holder can tell it was replaced (a fencing token)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlatformFact(Base):
    """A fact about the whole platform, one row each (issue 19): today the fingerprint
    of the key that seals recordings, documents and trunk passwords, so that a worker
    given another key is refused at start instead of writing what the others cannot
    open (services.sealing_key)."""

    __tablename__ = "platform_facts"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Trunk(Base):
    """A carrier SIP trunk: where outbound calls leave and inbound ones come from (V11).

    ``account_id`` NULL means an operator-wide trunk every account may use.
    ``password_sealed`` is the carrier's secret sealed with the platform's key
    (``store.sealed.seal_text``, bound to the trunk's id): not hashed, because the platform
    must compute digest responses to the carrier's challenges, which needs the secret
    itself, and never plain at rest (issue 13).
    """

    __tablename__ = "trunks"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255), index=True)
    port: Mapped[int] = mapped_column(Integer, default=5060)
    transport: Mapped[str] = mapped_column(String(3), default="udp")
    username: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_sealed: Mapped[str | None] = mapped_column(String(1200), nullable=True)
    caller_id_format: Mapped[str] = mapped_column(String(20), default="e164")
    priority: Mapped[int] = mapped_column(Integer, default=100)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Registration with the provider (issue 13): REGISTER every ``register_expires``
    # seconds at the registrar (``registrar_host``/``registrar_port``, else host/port),
    # authenticating as ``auth_username`` (else ``username``). ``contact_user`` is the
    # unguessable user part of the Contact we register: an INVITE whose Request-URI
    # carries it comes from this trunk, whatever its source address.
    register: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    register_expires: Mapped[int] = mapped_column(Integer, default=3600, server_default="3600")
    registrar_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    registrar_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    auth_username: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_user: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    # The registration as the runtime last saw it (written by the SIP runtime, read by
    # the API): registering / registered / failed.
    registration_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    registration_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    registration_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    registration_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    registration_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RingGroupMember(Base):
    """A user in a ring group, at a position (the order a sequential group rings in)."""

    __tablename__ = "ring_group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("ring_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class RingGroup(Base):
    """Users rung together ("parallel") or one after another ("sequential")."""

    __tablename__ = "ring_groups"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(10))
    member_seconds: Mapped[int] = mapped_column(Integer, default=20)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    members: Mapped[list[RingGroupMember]] = relationship(
        order_by=RingGroupMember.position,
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class PhoneNumber(Base):
    """An E.164 number leased to one account (TERMS N2: leased, never owned)."""

    __tablename__ = "phone_numbers"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    greeting: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Where calls go: greeting | user | group | forward | voicemail (services.routing).
    route_kind: Mapped[str] = mapped_column(
        String(10), default="greeting", server_default="greeting"
    )
    # A user id, a ring-group id or an E.164 number, by route_kind.
    route_target: Mapped[str | None] = mapped_column(String(34), nullable=True)
    # None: the no_answer_seconds setting applies.
    no_answer_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Whose box takes unanswered calls; None on a "user" route means that user's own box.
    voicemail_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # TERMS N6: random, custom or ported (the revocation delay depends on it).
    kind: Mapped[str] = mapped_column(String(10), default="random", server_default="random")
    # TERMS N6: deactivated for non-payment at the end of a billing cycle (calls get 404).
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS N8: when the idle-number notice was given.
    reclaim_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS N13: bought for a country where the customer has no operations: it takes
    # calls but is never presented on outbound calls.
    inbound_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # TERMS N11: the customer's declaration of the number's intended use and real end user.
    intended_use: Mapped[str | None] = mapped_column(Text, nullable=True)
    end_user: Mapped[str | None] = mapped_column(Text, nullable=True)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS N3: when the number was activated (its holder's documents approved); None: it
    # is leased but takes and places no calls yet.
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # TERMS M7: the 10DLC campaign a US long code's application-to-person SMS go under.
    sms_campaign_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Issue 16, set over the Twilio-compatible API (IncomingPhoneNumbers): a name for
    # people, and where the number's calls and SMS fetch their TwiML (a number with a
    # voice_url runs TwiML instead of its route) and its status callbacks go.
    friendly_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    voice_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    voice_method: Mapped[str] = mapped_column(String(4), default="POST", server_default="POST")
    voice_fallback_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    voice_fallback_method: Mapped[str] = mapped_column(
        String(4), default="POST", server_default="POST"
    )
    status_callback: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status_callback_method: Mapped[str] = mapped_column(
        String(4), default="POST", server_default="POST"
    )
    sms_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    sms_method: Mapped[str] = mapped_column(String(4), default="POST", server_default="POST")
    sms_fallback_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    sms_fallback_method: Mapped[str] = mapped_column(
        String(4), default="POST", server_default="POST"
    )


class QuarantinedNumber(Base):
    """A number released by a closed account, not to be leased again before
    ``available_at`` (TERMS N7)."""

    __tablename__ = "quarantined_numbers"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(34))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Voicemail(Base):
    """A message left for a user (or for a number with no user).

    A transcript is machine-made and can be wrong, so whenever one is set
    ``transcript_label`` says "machine-generated" (TERMS V9).
    """

    __tablename__ = "voicemails"
    __table_args__ = (Index("ix_voicemails_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # SET NULL: a message is the customer's content (TERMS D6) and outlives the user.
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    number: Mapped[str] = mapped_column(String(200))
    from_number: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    path: Mapped[str] = mapped_column(Text)
    heard: Mapped[bool] = mapped_column(Boolean, default=False)
    transcript: Mapped[str | None] = mapped_column(Text, nullable=True)
    transcript_label: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # No foreign key: the CDR and the message have their own lifetimes (V15, D5).
    call_record_id: Mapped[str | None] = mapped_column(String(34), nullable=True)


class CallRecord(Base):
    """One call detail record (CDR) per call, written once when the call ends.

    ``legs`` is the traceback chain (TERMS V11) as JSON: a list of
    ``{"kind": "trunk"|"user"|"device"|"number", "id", "source", "user_agent"}``.
    ``user_id`` is the user who took the call (or whose voicemail did), else who placed
    it; ``caller_user_id`` the user whose device placed it (None for a caller from
    outside), so both parties of a call between colleagues reach its record (TERMS D1).
    ``user_id``, ``caller_user_id`` and ``trunk_id`` carry no foreign key on purpose: a CDR
    is kept at least a year (V15) and must still name who placed the call after the user
    or trunk is gone.
    """

    __tablename__ = "call_records"
    __table_args__ = (
        UniqueConstraint("sip_call_id", "sip_local_tag"),
        Index("ix_call_records_account_started", "account_id", "started_at", "id"),
        # Covering the console's counts (services/telephony/call_stats.py): a period's
        # calls, answered calls and billed seconds, for the account or one user (D1),
        # summed from the index alone.
        Index(
            "ix_call_records_account_totals",
            "account_id",
            "started_at",
            "answered_at",
            "billed_seconds",
            "user_id",
            "caller_user_id",
        ),
    )

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(10))
    from_number: Mapped[str] = mapped_column(String(200))
    to_number: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    billed_seconds: Mapped[int] = mapped_column(Integer)
    billing_increment: Mapped[str] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(12))
    hangup_cause: Mapped[str] = mapped_column(String(40))
    sip_call_id: Mapped[str] = mapped_column(String(255))
    sip_local_tag: Mapped[str] = mapped_column(String(64))
    recording_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    legs: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    user_id: Mapped[str | None] = mapped_column(String(34), nullable=True)
    trunk_id: Mapped[str | None] = mapped_column(String(34), nullable=True)
    caller_user_id: Mapped[str | None] = mapped_column(String(34), nullable=True)


class AuditEvent(Base):
    """One refusal or enforcement action of the terms engine: append-only.

    ``account_id`` is a plain column, not a foreign key: the record outlives the account
    (an operator must be able to say why something was refused after the account is
    gone). On SQLite, triggers refuse UPDATE and DELETE of these rows.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_account_id_at", "account_id", "at"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    account_id: Mapped[str | None] = mapped_column(String(34), nullable=True)
    # Who acted: "api_key:KE…", "user:US…", "peer:udp:1.2.3.4:5060", "scheduler", "operator".
    actor: Mapped[str] = mapped_column(String(120))
    # What was attempted or done: "call.outbound", "call.click_to_call", "route.set"…
    action: Mapped[str] = mapped_column(String(60))
    # "refused" (a request was refused) or "enforced" (the platform acted on a rule).
    outcome: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str | None] = mapped_column(String(8), nullable=True)
    code: Mapped[str] = mapped_column(String(80), index=True)
    message: Mapped[str] = mapped_column(Text)
    # The inputs that mattered, as JSON (the number dialled, the limit, the counter…).
    details: Mapped[str] = mapped_column(Text, default="{}")


class DncEntry(Base):
    """A number not to call (TERMS V12): on an account's own list (``list_name``
    "account"), or, with no account, on a national register the operator imported."""

    __tablename__ = "dnc_entries"
    __table_args__ = (Index("ix_dnc_entries_number_account_id", "number", "account_id"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )
    number: Mapped[str] = mapped_column(String(16))
    list_name: Mapped[str] = mapped_column(String(40))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ErrorLogEntry(Base):
    """One API error as the customer saw it, with the client's IP address (TERMS D4:
    kept at most 14 days, and only the 100 most recent per account). Unlike the audit
    log this one forgets: it holds personal data."""

    __tablename__ = "error_log"
    __table_args__ = (Index("ix_error_log_account_id_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # A plain column: errors of unauthenticated requests belong to no account.
    account_id: Mapped[str | None] = mapped_column(String(34), nullable=True)
    client_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)


class PortInRequest(Base):
    """A port-in request (TERMS N4): the numbers, the documents received (kinds; the
    files are sealed under the data dir), and where the request stands."""

    __tablename__ = "port_in_requests"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    numbers: Mapped[str] = mapped_column(Text)  # JSON list of E.164 numbers
    documents: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of kinds
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Kept as given (the carriers' local time, with its offset) and in UTC for queries.
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    effective_local: Mapped[str | None] = mapped_column(String(40), nullable=True)
    out_of_window_fee: Mapped[bool] = mapped_column(Boolean, default=False)
    previous_line_ended: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rejection: Mapped[str | None] = mapped_column(Text, nullable=True)


class Renumbering(Base):
    """The platform changing a customer's number (TERMS N14): the new number works from
    the notice, the old one until ``effective_at``, when it is released."""

    __tablename__ = "renumberings"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    old_number: Mapped[str] = mapped_column(String(16))
    new_number: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class KycDocument(Base):
    """An identity document of an account (TERMS N3): its kind, the country of the
    address it proves, its review state; the file is stored sealed."""

    __tablename__ = "kyc_documents"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", name="uq_kyc_documents_account_id_kind"),
    )

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    state: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    path: Mapped[str] = mapped_column(Text)


class InventoryNumber(Base):
    """A number the operator has in stock for customers to choose (TERMS N1)."""

    __tablename__ = "number_inventory"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecordingExport(Base):
    """An export of an account's recordings (TERMS D5): the archive is kept, sealed,
    until the customer confirms the transfer."""

    __tablename__ = "recording_exports"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    files: Mapped[int] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- Billing (issue 6: TERMS section B, N9, S1, S4) -------------------------------------


class Subscription(Base):
    """An account's plan (TERMS B6): its term, its currency and tax country (B7), how it
    pays, and its committed accesses (which never decrease under commitment)."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    plan_code: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    country: Mapped[str] = mapped_column(String(2))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accesses: Mapped[int] = mapped_column(Integer, default=1)
    commitment_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # "card" | "sepa_debit" | "invoice" (paid by transfer, no automatic attempt).
    payment_method: Mapped[str] = mapped_column(String(12), default="invoice")
    customer_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # SEPA mandate (B7): the debtor's account and the mandate's reference and date.
    mandate_id: Mapped[str | None] = mapped_column(String(35), nullable=True)
    mandate_signed_on: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    bic: Mapped[str | None] = mapped_column(String(11), nullable=True)
    billing_name: Mapped[str] = mapped_column(String(200), default="")
    billing_address: Mapped[str] = mapped_column(Text, default="")
    vat_number: Mapped[str] = mapped_column(String(40), default="")
    # B3: unlimited plans exclude call centres and telecom professionals.
    call_centre: Mapped[bool] = mapped_column(Boolean, default=False)
    # B16: numbers used against telemarketing law pay a penalty per minute from then.
    penalty_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # B12: when a termination was asked for and when it takes effect.
    termination_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The end of the last period invoiced in advance (the next invoice starts there).
    invoiced_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SubscriptionChange(Base):
    """An access, number or option added to a subscription (B6 pro rata, B17 options),
    kept so the next invoice can bill it; ``invoice_id`` is set once billed."""

    __tablename__ = "subscription_changes"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # access | number | option | fee
    code: Mapped[str] = mapped_column(String(40), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    # A one-off fee's amount (B8 fees, B12, N9), excluding tax; None for the rest.
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    taxable: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    invoice_id: Mapped[str | None] = mapped_column(String(34), nullable=True)


class TariffVersion(Base):
    """One version of a rate deck (calls or SMS, in one currency), as imported."""

    __tablename__ = "tariff_versions"
    __table_args__ = (UniqueConstraint("name", "currency", "effective_from"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    name: Mapped[str] = mapped_column(String(20))  # "calls" | "sms"
    currency: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    csv: Mapped[str] = mapped_column(Text)
    prefixes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UsageEvent(Base):
    """Usage reported over the API (third-party usage), durable before the 2xx;
    ``transaction_id`` is the client's, unique per account (duplicates are ignored)."""

    __tablename__ = "usage_events"
    __table_args__ = (UniqueConstraint("account_id", "transaction_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(34))
    transaction_id: Mapped[str] = mapped_column(String(120))
    code: Mapped[str] = mapped_column(String(20))  # call | forward | sms
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    destination: Mapped[str] = mapped_column(String(20))
    caller: Mapped[str | None] = mapped_column(String(20), nullable=True)
    duration: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal(0))
    segments: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rated: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class RatedLine(Base):
    """A call, forward or message rated once (B1–B5, V4, B16): the unique ``usage_key``
    makes re-rating a no-op. It keeps the tariff version and the buckets it used."""

    __tablename__ = "rated_lines"
    __table_args__ = (Index("ix_rated_lines_account_started", "account_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    usage_key: Mapped[str] = mapped_column(String(160), unique=True)
    account_id: Mapped[str] = mapped_column(String(34))
    kind: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    destination: Mapped[str] = mapped_column(String(200))
    destination_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    quantity: Mapped[int] = mapped_column(Integer)
    included: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    bucket_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    credits: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    overage: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    penalty: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    buckets: Mapped[str] = mapped_column(String(60))
    rules: Mapped[str] = mapped_column(String(60))
    rate_prefix: Mapped[str | None] = mapped_column(String(16), nullable=True)
    tariff_version: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    increment: Mapped[str | None] = mapped_column(String(11), nullable=True)
    status: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    invoice_id: Mapped[str | None] = mapped_column(String(34), nullable=True, index=True)


class LedgerEntry(Base):
    """One posting of a balanced transaction; append-only (SQLite triggers refuse
    UPDATE and DELETE), unique by (transaction key, line)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("tx_key", "line_no"),
        Index("ix_ledger_entries_account_currency", "account", "currency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tx_key: Mapped[str] = mapped_column(String(160))
    line_no: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    account: Mapped[str] = mapped_column(String(80))
    # Ten-thousandths of the currency unit, as an integer: SQLite keeps NUMERIC as a
    # binary float, and balances are sums, which must be exact.
    amount_e4: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str] = mapped_column(Text, default="")


class Invoice(Base):
    """An invoice or credit note. Drafts have no number; issuing gives the next number
    of the sequence in the same transaction (no gaps, B7)."""

    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(34), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="invoice")  # | credit_note
    sequence: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    number: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # issued | paid
    currency: Mapped[str] = mapped_column(String(3))
    country: Mapped[str] = mapped_column(String(2))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    tax: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    carried_credit: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    # JSON: the seller, the customer and the payment terms as printed when it was issued,
    # so the document of an issued invoice never changes (null: before issue 13).
    parties: Mapped[str | None] = mapped_column(Text, nullable=True)
    lines: Mapped[list[InvoiceLineRow]] = relationship(
        order_by="InvoiceLineRow.position", lazy="selectin", cascade="all, delete-orphan"
    )


class BillingProfile(Base):
    """Who an account's invoices are made out to: its legal name, postal address and VAT
    number (the customer's mentions of a B2B invoice)."""

    __tablename__ = "billing_profiles"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    legal_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    vat_number: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InvoiceLineRow(Base):
    """One line of an invoice, as issued."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    rule: Mapped[str | None] = mapped_column(String(8), nullable=True)
    taxable: Mapped[bool] = mapped_column(Boolean, default=True)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PaymentAttempt(Base):
    """One attempt to collect an invoice (B7, B10): by card or SEPA direct debit.

    ``at`` is when the attempt was made (a card charged, a debit's collection date);
    ``result_at`` when its result arrived (a SEPA return comes days later; null while
    ``pending``). B10's retries count from ``at``."""

    __tablename__ = "payment_attempts"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(10))  # paid | rejected | pending
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(String(60), default="")
    provider_ref: Mapped[str] = mapped_column(String(120), default="")
    customer_caused: Mapped[bool] = mapped_column(Boolean, default=True)


class CreditPurchase(Base):
    """Prepaid communication credits bought (B4), and their withdrawal (B13)."""

    __tablename__ = "credit_purchases"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(34), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(20))
    purchased_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    withdrawal_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Dispute(Base):
    """A bill disputed within 30 days of issue (B9); an agreed amount becomes a credit
    note line on the next invoice."""

    __tablename__ = "disputes"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(34), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")  # agreed | rejected
    agreed_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    credited_invoice_id: Mapped[str | None] = mapped_column(String(34), nullable=True)


class SlaIncident(Base):
    """Downtime at a location (S1, S4): reported, or found by the health checks."""

    __tablename__ = "sla_incidents"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    location: Mapped[str] = mapped_column(String(80), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cause: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(12))  # reported | health_check
    note: Mapped[str] = mapped_column(Text, default="")


class SlaClaim(Base):
    """A claimed SLA credit (S1 per location, S4 per month): it reduces the next
    invoice (``invoice_id`` once applied)."""

    __tablename__ = "sla_claims"
    __table_args__ = (UniqueConstraint("account_id", "rule", "month", "location"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(34), index=True)
    rule: Mapped[str] = mapped_column(String(4))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    location: Mapped[str] = mapped_column(String(80), default="")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    detail: Mapped[str] = mapped_column(Text, default="")
    invoice_id: Mapped[str | None] = mapped_column(String(34), nullable=True)


class PriceChange(Base):
    """A plan's price change announced to its customers (B11)."""

    __tablename__ = "price_changes"

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    plan_code: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(10))  # increase | revision | decrease
    old_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    new_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    carrier_cost: Mapped[bool] = mapped_column(Boolean, default=False)


# The messaging and email tables live in their own modules; importing it here registers them on
# the shared metadata wherever the models are loaded (migrations, tests, the server).
from dialtone.store import (  # noqa: E402, F401
    agent_models,
    console_models,
    email_models,
    messaging_models,
    programmable_models,
)
