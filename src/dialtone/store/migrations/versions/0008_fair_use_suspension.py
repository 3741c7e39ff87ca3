"""fair-use suspension of the unlimited plan, its remedy and termination (TERMS F5)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:00:00

Hand-written. ``accounts`` only gains nullable columns (plain ALTER TABLE, no rebuild:
a rebuild of accounts would cascade-delete everything that references it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = ("suspended_at", "remedied_at", "plan_terminated_at")


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        for name in _COLUMNS:
            batch_op.add_column(
                sa.Column(name, dialtone.store.models.UTCDateTime(timezone=True), nullable=True)
            )
        batch_op.add_column(sa.Column("suspension_rule", sa.String(length=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("suspension_rule")
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
