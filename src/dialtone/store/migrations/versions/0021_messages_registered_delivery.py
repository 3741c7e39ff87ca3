"""messages: the delivery receipt a customer's SMPP bind asked for (issue 15)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 10:00:00

A submit_sm says in ``registered_delivery`` whether its sender wants a delivery receipt
(always, or on failure only). It is kept with the message so that the receipt is sent,
or not, whenever the final state comes, a restart in between included.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("smpp_registered_delivery", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("smpp_registered_delivery")
