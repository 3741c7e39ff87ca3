"""The tables of the AI receptionist (issue 17): agent profiles (TERMS A1), their
knowledge entries, and the report of each call an agent answered.

A profile's secrets (the calendar's password, the language model's API key) are used by
the platform itself, so they are sealed in their columns with the platform's key
(``store.sealed.seal_text``), bound to their row, as trunk passwords are. Hours,
transfer targets, languages and extra values are small lists read whole with the
profile: JSON columns. Knowledge entries are rows, added, listed and deleted one by one
and imported in bulk.

A report belongs to the call whose CDR has ``call_id`` (one report per call: the
runtime may retry its write). Like a CDR it names its agent without a foreign key: the
record outlives the profile (V15). Everything in it the agent wrote is AI-generated and
says so (A4, V9): ``ai_generated`` and ``label``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dialtone.store.base import Base, UTCDateTime


class AgentProfileRow(Base):
    """An agent's profile (TERMS A1); ``services.agents.profiles.profile_for`` turns it
    into the pure ``agents.profile.AgentProfile`` a call uses."""

    __tablename__ = "agent_profiles"
    __table_args__ = (Index("ix_agent_profiles_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    business_name: Mapped[str] = mapped_column(String(200), default="")
    # sales | marketing | customer_service | technical_support | custom (A1's templates).
    purpose: Mapped[str] = mapped_column(String(20))
    greeting: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text, default="")
    # JSON list of BCP 47 tags, the first spoken first.
    languages: Mapped[str] = mapped_column(Text, default='["en-US"]')
    voice: Mapped[str] = mapped_column(String(60))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # JSON list of {"weekday": 0-6, "opens": "HH:MM", "closes": "HH:MM"}.
    hours: Mapped[str] = mapped_column(Text, default="[]")
    # JSON list of {"kind": "user"|"group"|"number", "ref", "label"}, in offer order.
    transfer_targets: Mapped[str] = mapped_column(Text, default="[]")
    calendar_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    calendar_username: Mapped[str | None] = mapped_column(String(200), nullable=True)
    calendar_password_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    appointment_minutes: Mapped[int] = mapped_column(Integer)
    take_messages: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_template: Mapped[str | None] = mapped_column(Text, nullable=True)
    max_call_seconds: Mapped[int] = mapped_column(Integer)
    end_silence_ms: Mapped[int] = mapped_column(Integer)
    # rules | llm
    dialog: Mapped[str] = mapped_column(String(8), default="rules")
    model_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    model_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model_api_key_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    model_timeout_seconds: Mapped[float] = mapped_column(Float, default=4.0)
    # JSON object of further template values (string to string).
    extra: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgentKnowledge(Base):
    """One question an agent can answer, with its answer; ``position`` orders them (the
    order they were added or imported in)."""

    __tablename__ = "agent_knowledge"
    __table_args__ = (Index("ix_agent_knowledge_profile_position", "profile_id", "position"),)

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    profile_id: Mapped[str] = mapped_column(ForeignKey("agent_profiles.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgentReport(Base):
    """The report of one call an agent answered (issue 17 §6): what was said, with
    timings, the summary and the outcome, labelled AI-generated (A4, V9).

    ``transcript``: JSON list of {"speaker": "caller"|"agent", "text", "start", "end",
    "label"} (seconds from the answer); ``latencies``: JSON list of per-turn figures
    ({"turn", "vad_end_ms", "stt_ms", "dialog_ms", "tts_first_ms", "total_ms"}).
    ``transcript_withheld``: the call was not to be transcribed (no notice, or a party
    objected: V8), so the transcript is empty whatever the runtime sent.
    """

    __tablename__ = "agent_reports"
    __table_args__ = (
        Index("ix_agent_reports_account_started", "account_id", "started_at", "id"),
        Index("ix_agent_reports_account_agent", "account_id", "agent_id"),
    )

    id: Mapped[str] = mapped_column(String(34), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(34))
    # The CDR's id (the call's record id, known from the call's start): one report each.
    call_id: Mapped[str] = mapped_column(String(34), unique=True)
    from_number: Mapped[str] = mapped_column(String(200), default="")
    to_number: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # booked | message | transferred | answered | abandoned
    outcome: Mapped[str] = mapped_column(String(12))
    summary: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[str] = mapped_column(Text, default="[]")
    transcript_withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    latencies: Mapped[str] = mapped_column(Text, default="[]")
    # JSON list of the rules that answered instead of the dialog ("emergency", "advice",
    # "identity": A3, A4), in the order they did.
    guarded: Mapped[str] = mapped_column(Text, default="[]")
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=True)
    label: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
