"""consent proof requests (TERMS M3): requests for the proof of a recipient's consent,
and an account's messaging suspended when one is overdue

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 04:00:00

A new table and a nullable column of accounts, added by plain ALTER TABLE (a rebuild of
accounts would cascade-delete everything that references it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_proof_requests",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_consent_proof_requests_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_proof_requests")),
    )
    with op.batch_alter_table("consent_proof_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_proof_requests_account_id"), ["account_id"], unique=False
        )

    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column(
                "messaging_suspended_at",
                dialtone.store.models.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("messaging_suspended_at")

    with op.batch_alter_table("consent_proof_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_proof_requests_account_id"))

    op.drop_table("consent_proof_requests")
