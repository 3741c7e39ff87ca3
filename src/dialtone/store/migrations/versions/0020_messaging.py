"""messaging: messages and their parts, SMPP carriers and logins, opt-outs, consents,
sender names (issue 15, TERMS M1-M7)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 03:13:04

New tables, and one column: a number's 10DLC campaign (M7), NULL for existing numbers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("sms_campaign_id", sa.String(length=40), nullable=True))
    op.create_table(
        "smpp_carriers",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.String(length=16), nullable=False),
        sa.Column("password_sealed", sa.String(length=1200), nullable=False),
        sa.Column("system_type", sa.String(length=13), nullable=False),
        sa.Column("bind_type", sa.String(length=12), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("throughput", sa.Integer(), nullable=False),
        sa.Column("prefixes", sa.String(length=2000), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("bind_state", sa.String(length=12), nullable=True),
        sa.Column("bind_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_carriers")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("error_rule", sa.String(length=8), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("status_callback", sa.String(length=500), nullable=True),
        sa.Column("idempotency_key", sa.String(length=120), nullable=True),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("smpp_login_id", sa.String(length=34), nullable=True),
        sa.Column("client_reference", sa.String(length=65), nullable=True),
        sa.Column("carrier_id", sa.String(length=34), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_messages_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("account_id", "idempotency_key", name=op.f("uq_messages_account_id")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_account_id_created_at", ["account_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_messages_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "sender_names",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=11), nullable=False),
        sa.Column(
            "registered_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sender_names_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_names")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_sender_names_account_id")),
    )
    op.create_table(
        "smpp_logins",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("system_id", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_smpp_logins_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_logins")),
        sa.UniqueConstraint("system_id", name=op.f("uq_smpp_logins_system_id")),
    )
    with op.batch_alter_table("smpp_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_smpp_logins_account_id"), ["account_id"], unique=False)

    op.create_table(
        "sms_consents",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("given_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sms_consents_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_consents")),
    )
    with op.batch_alter_table("sms_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sms_consents_account_id_recipient", ["account_id", "recipient"], unique=False
        )

    op.create_table(
        "sms_opt_outs",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=True),
        sa.Column("keyword", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("opted_out_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opted_in_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sms_opt_outs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_opt_outs")),
    )
    with op.batch_alter_table("sms_opt_outs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sms_opt_outs_account_id_recipient", ["account_id", "recipient"], unique=False
        )

    op.create_table(
        "message_parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=34), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.String(length=34), nullable=True),
        sa.Column("carrier_message_id", sa.String(length=65), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("submitted_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_parts_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_parts")),
        sa.UniqueConstraint("message_id", "seq", name=op.f("uq_message_parts_message_id")),
    )
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_parts_carrier_id_carrier_message_id",
            ["carrier_id", "carrier_message_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("sms_campaign_id")
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_message_parts_carrier_id_carrier_message_id")

    op.drop_table("message_parts")
    with op.batch_alter_table("sms_opt_outs", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_opt_outs_account_id_recipient")

    op.drop_table("sms_opt_outs")
    with op.batch_alter_table("sms_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_consents_account_id_recipient")

    op.drop_table("sms_consents")
    with op.batch_alter_table("smpp_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_smpp_logins_account_id"))

    op.drop_table("smpp_logins")
    op.drop_table("sender_names")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_next_attempt_at")
        batch_op.drop_index("ix_messages_account_id_created_at")

    op.drop_table("messages")
    op.drop_table("smpp_carriers")
