"""Twilio-compatible API (issue 16): accounts' auth tokens, the numbers' TwiML and
status-callback URLs, the recordings call applications make

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-10 09:00:00

Two new tables, and columns of phone_numbers added by plain ALTER TABLE (a rebuild of
phone_numbers is not needed and would cost a copy of every number). The methods are NOT
NULL with a server default, so existing numbers read POST.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_URLS = (
    "voice_url",
    "voice_fallback_url",
    "status_callback",
    "sms_url",
    "sms_fallback_url",
)
_METHODS = (
    "voice_method",
    "voice_fallback_method",
    "status_callback_method",
    "sms_method",
    "sms_fallback_method",
)


def upgrade() -> None:
    op.create_table(
        "auth_tokens",
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "previous_expires_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_auth_tokens_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_auth_tokens")),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("call_sid", sa.String(length=34), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("duration", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("created_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("transcript_label", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_recordings_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recordings_account_created", ["account_id", "created_at"], unique=False
        )

    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("friendly_name", sa.String(length=64), nullable=True))
        for name in _URLS:
            batch_op.add_column(sa.Column(name, sa.String(length=500), nullable=True))
        for name in _METHODS:
            batch_op.add_column(
                sa.Column(name, sa.String(length=4), server_default="POST", nullable=False)
            )


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        for name in (*_METHODS, *_URLS, "friendly_name"):
            batch_op.drop_column(name)
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_account_created")
    op.drop_table("recordings")
    op.drop_table("auth_tokens")
