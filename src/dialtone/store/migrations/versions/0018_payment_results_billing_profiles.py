"""payment attempts: when the result arrived, apart from when the attempt was made (B10)

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06 18:40:00

A SEPA return arrives days after the debit was presented; B10 counts retries from the
attempt. Existing attempts were recorded when their result arrived: their result time is
their recorded time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("result_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE payment_attempts SET result_at = at WHERE outcome != 'pending'")


def downgrade() -> None:
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_column("result_at")
