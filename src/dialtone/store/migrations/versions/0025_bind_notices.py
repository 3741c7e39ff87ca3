"""messages: the deliver_sm a customer's SMPP bind is owed, kept across a restart
(issue 15)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-09 10:00:00

A receipt or an inbound message waiting for the customer's bind used to wait in memory
only. ``bind_notice_due_at`` marks it in the transaction of the change it tells of and
is cleared when the bind answers; a partial index holds only the marked rows. Added by
plain ALTER TABLE (a rebuild of messages would cascade-delete their parts). Messages
stored before this migration owe nothing: what waited in memory was lost by the stop.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_OWED = "bind_notice_due_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column(
                "bind_notice_due_at",
                dialtone.store.models.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_index(
            "ix_messages_bind_notice_due",
            ["account_id", "bind_notice_due_at"],
            unique=False,
            sqlite_where=sa.text(_OWED),
            postgresql_where=sa.text(_OWED),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_messages_bind_notice_due")
        batch_op.drop_column("bind_notice_due_at")
