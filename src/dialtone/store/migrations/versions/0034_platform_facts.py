"""facts about the whole platform, one row each: the fingerprint of the key that seals
its recordings, documents and trunk passwords (issue 19: a worker started with another
key is refused)

Revision ID: 0034
Revises: 0033
Create Date: 2027-01-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "platform_facts",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("platform_facts")
