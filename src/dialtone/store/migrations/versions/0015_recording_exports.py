"""exports of recordings, kept until the transfer is confirmed (TERMS D5)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 09:00:00

Hand-written. A new table only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _utc() -> dialtone.store.models.UTCDateTime:
    return dialtone.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recording_exports",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("confirmed_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_recording_exports_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_exports")),
    )
    with op.batch_alter_table("recording_exports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_exports_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recording_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_exports_account_id"))
    op.drop_table("recording_exports")
