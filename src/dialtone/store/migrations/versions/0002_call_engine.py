"""call engine: SIP users, registrations, trunks, ring groups, routes, voicemail, CDR legs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:00:00

Hand-written. Order matters on SQLite, where a batch that adds a constraint rebuilds the
table (copy, DROP, rename) and, with foreign keys on, DROP TABLE deletes the rows first
and fires ON DELETE CASCADE in the tables that point at it:

- ``users`` is rebuilt (new unique constraints) *before* any table points at it;
- ``phone_numbers`` is rebuilt (new foreign key); nothing points at it;
- ``accounts`` and ``call_records`` only gain columns: a plain ALTER TABLE, no rebuild.
  NOT NULL columns get a server default so the rows already there are valid.

The downgrade drops ``accounts`` columns with a plain ALTER TABLE DROP COLUMN (SQLite
3.35+) for the same reason: a rebuild of ``accounts`` would cascade into every table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc() -> dialtone.store.models.UTCDateTime:
    return dialtone.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extension", sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column("sip_username", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ha1_md5", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("ha1_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("channels", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("voicemail_greeting", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), server_default="active", nullable=False)
        )
        batch_op.create_unique_constraint(
            "uq_users_account_id_extension", ["account_id", "extension"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_users_sip_username"), ["sip_username"])

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channels_per_user", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "recording_policy", sa.String(length=10), server_default="off", nullable=False
            )
        )

    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legs", sa.Text(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("user_id", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("trunk_id", sa.String(length=34), nullable=True))

    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("route_kind", sa.String(length=10), server_default="greeting", nullable=False)
        )
        batch_op.add_column(sa.Column("route_target", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("no_answer_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("voicemail_user_id", sa.String(length=34), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_phone_numbers_voicemail_user_id_users"),
            "users",
            ["voicemail_user_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "registrations",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("user_id", sa.String(length=34), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("transport", sa.String(length=3), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("cseq", sa.Integer(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_registrations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_registrations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint("user_id", "contact", name=op.f("uq_registrations_user_id")),
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registrations_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "trunks",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(length=3), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("password", sa.String(length=200), nullable=True),
        sa.Column("caller_id_format", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_trunks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trunks")),
    )
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trunks_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_trunks_host"), ["host"], unique=False)

    op.create_table(
        "ring_groups",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("strategy", sa.String(length=10), nullable=False),
        sa.Column("member_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ring_groups_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ring_groups")),
    )
    with op.batch_alter_table("ring_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ring_groups_account_id"), ["account_id"], unique=False)

    op.create_table(
        "ring_group_members",
        sa.Column("group_id", sa.String(length=34), nullable=False),
        sa.Column("user_id", sa.String(length=34), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["ring_groups.id"],
            name=op.f("fk_ring_group_members_group_id_ring_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ring_group_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_ring_group_members")),
    )

    op.create_table(
        "voicemails",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("user_id", sa.String(length=34), nullable=True),
        sa.Column("number", sa.String(length=200), nullable=False),
        sa.Column("from_number", sa.String(length=200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("duration", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("heard", sa.Boolean(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("transcript_label", sa.String(length=40), nullable=True),
        sa.Column("call_record_id", sa.String(length=34), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_voicemails_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_voicemails_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemails")),
    )
    with op.batch_alter_table("voicemails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_voicemails_account_created", ["account_id", "created_at"], unique=False
        )


def downgrade() -> None:
    # Tables that point at users go first, so the users rebuild below cascades nowhere.
    with op.batch_alter_table("voicemails", schema=None) as batch_op:
        batch_op.drop_index("ix_voicemails_account_created")
    op.drop_table("voicemails")
    op.drop_table("ring_group_members")
    with op.batch_alter_table("ring_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ring_groups_account_id"))
    op.drop_table("ring_groups")
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trunks_host"))
        batch_op.drop_index(batch_op.f("ix_trunks_account_id"))
    op.drop_table("trunks")
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_expires_at"))
        batch_op.drop_index(batch_op.f("ix_registrations_account_id"))
    op.drop_table("registrations")

    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_phone_numbers_voicemail_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("voicemail_user_id")
        batch_op.drop_column("no_answer_seconds")
        batch_op.drop_column("route_target")
        batch_op.drop_column("route_kind")

    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_column("trunk_id")
        batch_op.drop_column("user_id")
        batch_op.drop_column("legs")

    # Not a batch: rebuilding accounts would cascade-delete every account's data.
    op.drop_column("accounts", "recording_policy")
    op.drop_column("accounts", "channels_per_user")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_sip_username"), type_="unique")
        batch_op.drop_constraint("uq_users_account_id_extension", type_="unique")
        batch_op.drop_column("status")
        batch_op.drop_column("voicemail_greeting")
        batch_op.drop_column("channels")
        batch_op.drop_column("ha1_sha256")
        batch_op.drop_column("ha1_md5")
        batch_op.drop_column("sip_username")
        batch_op.drop_column("extension")
