"""the API error log with client IP addresses, kept 14 days / 100 entries (TERMS D4);
the customer's sanctions declaration (D3)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:00:00

Hand-written. A new table, and one nullable column on ``accounts`` (plain ALTER TABLE).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column(
                "sanctions_declared_at",
                dialtone.store.models.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    op.create_table(
        "error_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=True),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_error_log")),
    )
    with op.batch_alter_table("error_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_error_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_error_log_account_id_at", ["account_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("error_log", schema=None) as batch_op:
        batch_op.drop_index("ix_error_log_account_id_at")
        batch_op.drop_index(batch_op.f("ix_error_log_at"))
    op.drop_table("error_log")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("sanctions_declared_at")
