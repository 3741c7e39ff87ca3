"""terms engine: account destination permissions and country, the append-only audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00

Hand-written. ``accounts`` only gains columns (a plain ALTER TABLE: a batch rebuild of
``accounts`` would cascade-delete every table that points at it, see 0002). The audit
log is append-only: on SQLite, triggers abort any UPDATE or DELETE of its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TRIGGERS = {
    "audit_events_no_update": "UPDATE",
    "audit_events_no_delete": "DELETE",
}


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column("premium_rate_allowed", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("high_cost_allowed", sa.Boolean(), server_default="0", nullable=False)
        )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=8), nullable=True),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_code"), ["code"], unique=False)
        batch_op.create_index("ix_audit_events_account_id_at", ["account_id", "at"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for name, event in _TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_account_id_at")
        batch_op.drop_index(batch_op.f("ix_audit_events_code"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
    op.drop_table("audit_events")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("high_cost_allowed")
        batch_op.drop_column("premium_rate_allowed")
        batch_op.drop_column("country")
