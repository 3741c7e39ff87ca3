"""trunks: the password sealed at rest (issue 13, item 5)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 18:45:00

``trunks.password`` (plain text) becomes ``trunks.password_sealed``: each existing
password is sealed with the platform's key (``store.sealed.seal_text``, bound to its
trunk's id) in this migration, so no plain copy outlives the upgrade. The key comes from
the settings through ``config.attributes["sealing_key"]`` (``dialtone`` passes it at every
start); a database holding plain passwords migrated without it stops with a clear error
rather than keep them plain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from dialtone.store import sealed

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _sealing_key() -> bytes:
    factory = context.config.attributes.get("sealing_key")
    if factory is None:
        raise RuntimeError(
            "trunk passwords are stored in plain text and must be sealed: run any "
            "`dialtone` command (it passes the recording key) to migrate this database"
        )
    key: bytes = factory()
    return key


def upgrade() -> None:
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_sealed", sa.String(length=1200), nullable=True))
    connection = op.get_bind()
    trunks = sa.table(
        "trunks",
        sa.column("id", sa.String),
        sa.column("password", sa.String),
        sa.column("password_sealed", sa.String),
    )
    rows = connection.execute(
        sa.select(trunks.c.id, trunks.c.password).where(trunks.c.password.is_not(None))
    ).all()
    if rows:
        key = _sealing_key()
        for trunk_id, password in rows:
            connection.execute(
                trunks.update()
                .where(trunks.c.id == trunk_id)
                .values(
                    password_sealed=sealed.seal_text(
                        password, key, context=f"trunks.password:{trunk_id}"
                    ),
                    password=None,
                )
            )
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.drop_column("password")


def downgrade() -> None:
    # The plain passwords are not restored (that would need the key and undo the point);
    # trunks keep their other settings and need their passwords set again.
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password", sa.String(length=200), nullable=True))
        batch_op.drop_column("password_sealed")
