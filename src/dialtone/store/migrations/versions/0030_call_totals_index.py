"""a covering index for the console's call counts (issue 18): the overview's calls per
day and today's totals are read from the index alone, without the table's rows

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

COLUMNS = ["account_id", "started_at", "answered_at", "billed_seconds", "user_id", "caller_user_id"]


def upgrade() -> None:
    op.create_index("ix_call_records_account_totals", "call_records", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_call_records_account_totals", table_name="call_records")
