"""the AI receptionist (issue 17): agent profiles, their knowledge, call reports

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-14 10:00:00

Three new tables, nothing existing changed: a number routes to an agent with route_kind
"agent" (phone_numbers.route_kind is String(10) already), and a CDR finds its report by
its id (agent_reports.call_id, unique), so call_records keeps its shape.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.base

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_profiles",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("business_name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("greeting", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("voice", sa.String(length=60), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.Column("transfer_targets", sa.Text(), nullable=False),
        sa.Column("calendar_url", sa.Text(), nullable=True),
        sa.Column("calendar_username", sa.String(length=200), nullable=True),
        sa.Column("calendar_password_sealed", sa.Text(), nullable=True),
        sa.Column("appointment_minutes", sa.Integer(), nullable=False),
        sa.Column("take_messages", sa.Boolean(), nullable=False),
        sa.Column("sms_template", sa.Text(), nullable=True),
        sa.Column("max_call_seconds", sa.Integer(), nullable=False),
        sa.Column("end_silence_ms", sa.Integer(), nullable=False),
        sa.Column("dialog", sa.String(length=8), nullable=False),
        sa.Column("model_url", sa.Text(), nullable=True),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_api_key_sealed", sa.Text(), nullable=True),
        sa.Column("model_timeout_seconds", sa.Float(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.Column("created_at", dialtone.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dialtone.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_agent_profiles_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_profiles")),
    )
    with op.batch_alter_table("agent_profiles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_profiles_account_created", ["account_id", "created_at"], unique=False
        )

    op.create_table(
        "agent_reports",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("agent_id", sa.String(length=34), nullable=False),
        sa.Column("call_id", sa.String(length=34), nullable=False),
        sa.Column("from_number", sa.String(length=200), nullable=False),
        sa.Column("to_number", sa.String(length=200), nullable=False),
        sa.Column("started_at", dialtone.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", dialtone.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("transcript_withheld", sa.Boolean(), nullable=False),
        sa.Column("latencies", sa.Text(), nullable=False),
        sa.Column("guarded", sa.Text(), nullable=False),
        sa.Column("ai_generated", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("created_at", dialtone.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_agent_reports_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_reports")),
        sa.UniqueConstraint("call_id", name=op.f("uq_agent_reports_call_id")),
    )
    with op.batch_alter_table("agent_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_reports_account_agent", ["account_id", "agent_id"], unique=False
        )
        batch_op.create_index(
            "ix_agent_reports_account_started", ["account_id", "started_at", "id"], unique=False
        )

    op.create_table(
        "agent_knowledge",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("profile_id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", dialtone.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_agent_knowledge_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["agent_profiles.id"],
            name=op.f("fk_agent_knowledge_profile_id_agent_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_knowledge")),
    )
    with op.batch_alter_table("agent_knowledge", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_knowledge_profile_position", ["profile_id", "position"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("agent_knowledge", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_knowledge_profile_position")

    op.drop_table("agent_knowledge")
    with op.batch_alter_table("agent_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_reports_account_started")
        batch_op.drop_index("ix_agent_reports_account_agent")

    op.drop_table("agent_reports")
    with op.batch_alter_table("agent_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_profiles_account_created")

    op.drop_table("agent_profiles")
