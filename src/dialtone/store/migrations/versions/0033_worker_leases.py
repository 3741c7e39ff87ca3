"""several workers on one database (issue 19): the leases table (the leader's lease,
each worker's heartbeat) and the worker a TCP/TLS registration's connection lives on

Revision ID: 0033
Revises: 0032
Create Date: 2027-01-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dialtone.store.base import UTCDateTime

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("worker_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("worker_id")
    op.drop_table("leases")
