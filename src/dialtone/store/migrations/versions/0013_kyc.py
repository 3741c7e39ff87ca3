"""identity documents and number activation (TERMS N3)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:00:00

Hand-written. ``phone_numbers`` and ``accounts`` gain nullable columns (plain ALTER
TABLE); numbers leased before this revision count as activated when they were leased.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _utc() -> dialtone.store.models.UTCDateTime:
    return dialtone.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("activated_at", _utc(), nullable=True))
    op.execute("UPDATE phone_numbers SET activated_at = created_at")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("kyc_notified_at", _utc(), nullable=True))
        batch_op.add_column(sa.Column("kyc_corrected_at", _utc(), nullable=True))
    op.create_table(
        "kyc_documents",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("reviewed_at", _utc(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_kyc_documents_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_documents")),
        sa.UniqueConstraint("account_id", "kind", name="uq_kyc_documents_account_id_kind"),
    )
    with op.batch_alter_table("kyc_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kyc_documents_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("kyc_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kyc_documents_account_id"))
    op.drop_table("kyc_documents")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("kyc_corrected_at")
        batch_op.drop_column("kyc_notified_at")
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("activated_at")
