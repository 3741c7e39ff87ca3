"""number lifecycle: plans, kinds, deactivation, idle notices, quarantine (N6–N8)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00

Hand-written. ``accounts`` and ``phone_numbers`` only gain columns (plain ALTER TABLE,
see 0002).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _utc() -> dialtone.store.models.UTCDateTime:
    return dialtone.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("plan", sa.String(length=20), server_default="professional", nullable=False)
        )
        batch_op.add_column(
            sa.Column("app_store", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("closed_at", _utc(), nullable=True))
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="random", nullable=False)
        )
        batch_op.add_column(sa.Column("deactivated_at", _utc(), nullable=True))
        batch_op.add_column(sa.Column("reclaim_notice_at", _utc(), nullable=True))
    op.create_table(
        "quarantined_numbers",
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("released_at", _utc(), nullable=False),
        sa.Column("available_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_quarantined_numbers")),
    )


def downgrade() -> None:
    op.drop_table("quarantined_numbers")
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("reclaim_notice_at")
        batch_op.drop_column("deactivated_at")
        batch_op.drop_column("kind")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("app_store")
        batch_op.drop_column("plan")
