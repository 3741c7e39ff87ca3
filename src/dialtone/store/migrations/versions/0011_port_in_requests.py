"""port-in requests (TERMS N4)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:00:00

Hand-written. A new table only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _utc() -> dialtone.store.models.UTCDateTime:
    return dialtone.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "port_in_requests",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("numbers", sa.Text(), nullable=False),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("submitted_at", _utc(), nullable=True),
        sa.Column("effective_at", _utc(), nullable=True),
        sa.Column("effective_local", sa.String(length=40), nullable=True),
        sa.Column("out_of_window_fee", sa.Boolean(), nullable=False),
        sa.Column("previous_line_ended", sa.Boolean(), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("rejection", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_port_in_requests_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_port_in_requests")),
    )
    with op.batch_alter_table("port_in_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_port_in_requests_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("port_in_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_port_in_requests_account_id"))
    op.drop_table("port_in_requests")
