"""inbound-only numbers and declarations of use and end user (TERMS N11, N13)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00

Hand-written. ``phone_numbers`` only gains columns (plain ALTER TABLE, see 0006).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("inbound_only", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("intended_use", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("end_user", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "declared_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("declared_at")
        batch_op.drop_column("end_user")
        batch_op.drop_column("intended_use")
        batch_op.drop_column("inbound_only")
