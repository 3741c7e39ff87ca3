"""API keys of users and rotation with notice (TERMS D1, D2)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00

Hand-written. ``api_keys`` is rebuilt (SQLite cannot add a foreign key to a table in
place); nothing references it, so the rebuild cascades nowhere and keeps every row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None, recreate="always") as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=34), nullable=True))
        batch_op.add_column(
            sa.Column("expires_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_user_id_users"),
            "users",
            ["user_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_keys_user_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))
        batch_op.drop_column("expires_at")
        batch_op.drop_column("user_id")
