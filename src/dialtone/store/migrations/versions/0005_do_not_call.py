"""do-not-call lists and telemarketing accounts (TERMS V12)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:30:00

Hand-written. ``accounts`` only gains a column (plain ALTER TABLE, see 0002).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("telemarketing", sa.Boolean(), server_default="0", nullable=False)
        )
    op.create_table(
        "dnc_entries",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=True),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("list_name", sa.String(length=40), nullable=False),
        sa.Column("added_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_dnc_entries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_entries")),
    )
    with op.batch_alter_table("dnc_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dnc_entries_number_account_id", ["number", "account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dnc_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_dnc_entries_number_account_id")
    op.drop_table("dnc_entries")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("telemarketing")
