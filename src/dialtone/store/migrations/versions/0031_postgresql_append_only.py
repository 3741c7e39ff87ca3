"""PostgreSQL: the audit log and the ledger are append-only there too (issue 19)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-10 10:00:00

0003 and 0016 gave SQLite triggers that abort an UPDATE or DELETE of ``audit_events``
and ``ledger_entries`` rows; on PostgreSQL those migrations made the tables without
them. This one gives PostgreSQL the same refusal (a trigger function raising with the
same words, so a caller sees one message on either engine). A new migration rather than
an edit of 0003 and 0016: a PostgreSQL database already migrated past them gets the
triggers too. TRUNCATE is refused as well (it skips row triggers). On SQLite: nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

# table -> the words of the refusal (0003's and 0016's on SQLite)
_APPEND_ONLY = {
    "audit_events": "the audit log is append-only",
    "ledger_entries": "the ledger is append-only",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, words in _APPEND_ONLY.items():
        op.execute(
            f"CREATE FUNCTION {table}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{words}' USING ERRCODE = 'restrict_violation'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_refuse_change()")
