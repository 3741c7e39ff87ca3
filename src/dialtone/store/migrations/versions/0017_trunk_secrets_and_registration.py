"""trunks: the password sealed at rest (issue 13, item 5); registration with the
provider and its state (item 21)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 18:45:00

``trunks.password`` (plain text) becomes ``trunks.password_sealed``: each existing
password is sealed with the platform's key (``store.sealed.seal_text``, bound to its
trunk's id) in this migration, so no plain copy outlives the upgrade. The key comes from
the settings through ``config.attributes["sealing_key"]`` (``dialtone`` passes it at every
start); a database holding plain passwords migrated without it stops with a clear error
rather than keep them plain.

Registration adds nullable columns (and ``register`` false, ``register_expires`` 3600 for
existing rows) and a unique index on ``contact_user``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from dialtone.store import sealed
from dialtone.store.models import UTCDateTime

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
        batch_op.add_column(sa.Column("register", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("register_expires", sa.Integer(), server_default="3600", nullable=False)
        )
        batch_op.add_column(sa.Column("registrar_host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("registrar_port", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("auth_username", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("contact_user", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("registration_state", sa.String(length=12), nullable=True))
        for name in ("registration_expires_at", "registration_attempt_at", "registration_next_at"):
            batch_op.add_column(sa.Column(name, UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("registration_error", sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_trunks_contact_user"), ["contact_user"])


def downgrade() -> None:
    # The plain passwords are not restored (that would need the key and undo the point);
    # trunks keep their other settings and need their passwords set again.
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password", sa.String(length=200), nullable=True))
        batch_op.drop_column("password_sealed")
        batch_op.drop_constraint(batch_op.f("uq_trunks_contact_user"), type_="unique")
        for name in (
            "register",
            "register_expires",
            "registrar_host",
            "registrar_port",
            "auth_username",
            "contact_user",
            "registration_state",
            "registration_expires_at",
            "registration_attempt_at",
            "registration_next_at",
            "registration_error",
        ):
            batch_op.drop_column(name)
