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

import json

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_user_id", sa.String(length=34), nullable=True))
    # In Python, not with SQLite's json_* functions: the same on every database (PostgreSQL
    # included), and a chain that is not JSON is simply left alone (legs are kept as given,
    # V11). Read and written in batches so a large table is never held in memory.
    bind = op.get_bind()
    records = sa.table(
        "call_records",
        sa.column("id", sa.String),
        sa.column("legs", sa.Text),
        sa.column("caller_user_id", sa.String),
    )
    update = (
        records.update()
        .where(records.c.id == sa.bindparam("record_id"))
        .values(caller_user_id=sa.bindparam("caller"))
    )
    last = ""
    while True:
        rows = bind.execute(
            sa.select(records.c.id, records.c.legs)
            .where(records.c.id > last)
            .order_by(records.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        filled = [
            {"record_id": row.id, "caller": caller}
            for row in rows
            if (caller := _placing_user(row.legs)) is not None
        ]
        if filled:
            bind.execute(update, filled)


BATCH = 1000


def _placing_user(legs: object) -> str | None:
    """The user whose device placed the call: the first leg's id when it is a user's."""
    if isinstance(legs, str | bytes):
        try:
            legs = json.loads(legs)
        except ValueError:
            return None
    if not isinstance(legs, list) or not legs or not isinstance(legs[0], dict):
        return None
    first = legs[0]
    caller = first.get("id")
    if first.get("kind") != "user" or not isinstance(caller, str):
        return None
    return caller


def downgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_column("caller_user_id")
