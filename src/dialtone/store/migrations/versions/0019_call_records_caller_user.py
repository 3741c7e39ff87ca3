"""call records: the user who placed the call (issue 13, TERMS D1)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 19:30:00

A call between colleagues names the user who took it (or whose voicemail did) as
``user_id``; ``caller_user_id`` names the user whose device placed it, so a key reaching
its own records sees the calls it placed as well as those it took. Existing records get
it from their traceback chain (TERMS V11): a call a device placed starts with that
user's leg.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_user_id", sa.String(length=34), nullable=True))
    # CASE, not AND: SQLite does not promise to skip json_extract on a malformed chain,
    # which it would refuse (a record's legs are kept as given, V11).
    op.execute(
        "UPDATE call_records SET caller_user_id = json_extract(legs, '$[0].id') "
        "WHERE CASE WHEN json_valid(legs) THEN json_extract(legs, '$[0].kind') END = 'user'"
    )


def downgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_column("caller_user_id")
