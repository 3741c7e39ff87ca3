"""the operator's number inventory (TERMS N1)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 08:00:00

Hand-written. A new table only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "number_inventory",
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("added_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_number_inventory")),
    )


def downgrade() -> None:
    op.drop_table("number_inventory")
