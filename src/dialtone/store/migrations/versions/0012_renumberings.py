"""renumberings with notice (TERMS N14)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 06:00:00

Hand-written. A new table only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _utc() -> dialtone.store.models.UTCDateTime:
    return dialtone.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "renumberings",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("old_number", sa.String(length=16), nullable=False),
        sa.Column("new_number", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("notified_at", _utc(), nullable=False),
        sa.Column("effective_at", _utc(), nullable=False),
        sa.Column("done_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_renumberings_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renumberings")),
    )
    with op.batch_alter_table("renumberings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_renumberings_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("renumberings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renumberings_account_id"))
    op.drop_table("renumberings")
