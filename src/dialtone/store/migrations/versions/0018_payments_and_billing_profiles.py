"""payment attempts: when the result arrived (B10); billing profiles and the parties of
an issued invoice (issue 13)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 18:40:00

A SEPA return arrives days after the debit was presented; B10 counts retries from the
attempt. Existing attempts were recorded when their result arrived: their result time is
their recorded time.

An account's billing profile (legal name, address, VAT number) is a new table; an invoice
keeps the parties and payment terms printed on it at issue (null for older invoices,
which print the current ones).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("result_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE payment_attempts SET result_at = at WHERE outcome != 'pending'")
    op.create_table(
        "billing_profiles",
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("vat_number", sa.String(length=40), nullable=False),
        sa.Column("updated_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_billing_profiles_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_billing_profiles")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parties", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("parties")
    op.drop_table("billing_profiles")
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_column("result_at")
