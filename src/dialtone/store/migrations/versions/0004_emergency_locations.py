"""emergency locations: each user's registered address and acknowledged warning (V7)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:00:00

Hand-written. ``users`` only gains nullable columns: a plain ALTER TABLE (a batch
rebuild would cascade into the tables that point at users, see 0002).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = (
    "emergency_address",
    "emergency_country",
    "emergency_registered_at",
    "emergency_warning_acknowledged_at",
)


def upgrade() -> None:
    utc = dialtone.store.models.UTCDateTime(timezone=True)
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("emergency_address", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("emergency_country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("emergency_registered_at", utc, nullable=True))
        batch_op.add_column(sa.Column("emergency_warning_acknowledged_at", utc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
