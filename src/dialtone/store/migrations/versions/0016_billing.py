"""billing: subscriptions, tariffs, usage, rated lines, the ledger, invoices, payments,
credit purchases, disputes, SLA incidents and claims, price changes (issue 6)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 03:13:27

Generated, then given the ledger's append-only triggers (like the audit log's). New tables
only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dialtone.store.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TRIGGERS = {
    "ledger_entries_no_update": "UPDATE",
    "ledger_entries_no_delete": "DELETE",
}


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("billing_suspended_at", _utc(), nullable=True))
    op.create_table(
        "credit_purchases",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("purchased_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawal_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_purchases")),
    )
    with op.batch_alter_table("credit_purchases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_purchases_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("tax_rate", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column("period_start", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("subtotal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("tax", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("carried_credit", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("sequence", name=op.f("uq_invoices_sequence")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_account_id"), ["account_id"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tx_key", sa.String(length=160), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account", sa.String(length=80), nullable=False),
        sa.Column("amount_e4", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("tx_key", "line_no", name=op.f("uq_ledger_entries_tx_key")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_account_currency", ["account", "currency"], unique=False
        )

    op.create_table(
        "price_changes",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("plan_code", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("old_price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("new_price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("announced_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("effective_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("carrier_cost", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_changes")),
    )
    op.create_table(
        "rated_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("usage_key", sa.String(length=160), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("started_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("destination_name", sa.String(length=200), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("included", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=20), nullable=True),
        sa.Column("bucket_key", sa.String(length=80), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("credits", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("overage", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("penalty", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("buckets", sa.String(length=60), nullable=False),
        sa.Column("rules", sa.String(length=60), nullable=False),
        sa.Column("rate_prefix", sa.String(length=16), nullable=True),
        sa.Column(
            "tariff_version", dialtone.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("increment", sa.String(length=11), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("rated_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("invoice_id", sa.String(length=34), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rated_lines")),
        sa.UniqueConstraint("usage_key", name=op.f("uq_rated_lines_usage_key")),
    )
    with op.batch_alter_table("rated_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rated_lines_account_started", ["account_id", "started_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rated_lines_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "sla_claims",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("rule", sa.String(length=4), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("location", sa.String(length=80), nullable=False),
        sa.Column("claimed_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.String(length=34), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_claims")),
        sa.UniqueConstraint(
            "account_id", "rule", "month", "location", name=op.f("uq_sla_claims_account_id")
        ),
    )
    with op.batch_alter_table("sla_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_claims_account_id"), ["account_id"], unique=False)

    op.create_table(
        "sla_incidents",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("location", sa.String(length=80), nullable=False),
        sa.Column("start", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cause", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_incidents")),
    )
    with op.batch_alter_table("sla_incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_incidents_location"), ["location"], unique=False)

    op.create_table(
        "tariff_versions",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "effective_from", dialtone.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("csv", sa.Text(), nullable=False),
        sa.Column("prefixes", sa.Integer(), nullable=False),
        sa.Column("created_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariff_versions")),
        sa.UniqueConstraint(
            "name", "currency", "effective_from", name=op.f("uq_tariff_versions_name")
        ),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("transaction_id", sa.String(length=120), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("destination", sa.String(length=20), nullable=False),
        sa.Column("caller", sa.String(length=20), nullable=True),
        sa.Column("duration", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("received_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint(
            "account_id", "transaction_id", name=op.f("uq_usage_events_account_id")
        ),
    )
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_events_rated"), ["rated"], unique=False)

    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("invoice_id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("opened_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("agreed_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("decided_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("credited_invoice_id", sa.String(length=34), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_disputes_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("invoice_id", sa.String(length=34), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("rule", sa.String(length=8), nullable=True),
        sa.Column("taxable", sa.Boolean(), nullable=False),
        sa.Column("period_start", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_end", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("invoice_id", sa.String(length=34), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("provider_ref", sa.String(length=120), nullable=False),
        sa.Column("customer_caused", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_payment_attempts_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
    )
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_attempts_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("plan_code", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("started_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accesses", sa.Integer(), nullable=False),
        sa.Column(
            "commitment_end", dialtone.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("payment_method", sa.String(length=12), nullable=False),
        sa.Column("customer_ref", sa.String(length=120), nullable=True),
        sa.Column("mandate_id", sa.String(length=35), nullable=True),
        sa.Column(
            "mandate_signed_on", dialtone.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("billing_name", sa.String(length=200), nullable=False),
        sa.Column("billing_address", sa.Text(), nullable=False),
        sa.Column("vat_number", sa.String(length=40), nullable=False),
        sa.Column("call_centre", sa.Boolean(), nullable=False),
        sa.Column("penalty_since", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "termination_requested_at",
            dialtone.store.models.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("ends_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "invoiced_until", dialtone.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("account_id", name=op.f("uq_subscriptions_account_id")),
    )
    op.create_table(
        "subscription_changes",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("subscription_id", sa.String(length=34), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("taxable", sa.Boolean(), nullable=False),
        sa.Column("at", dialtone.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", dialtone.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invoice_id", sa.String(length=34), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_changes_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_changes")),
    )
    with op.batch_alter_table("subscription_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscription_changes_subscription_id"), ["subscription_id"], unique=False
        )

    if op.get_bind().dialect.name == "sqlite":
        for name, event in _TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON ledger_entries "
                "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"
            )


def _utc() -> dialtone.store.models.UTCDateTime:
    return dialtone.store.models.UTCDateTime(timezone=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("subscription_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_changes_subscription_id"))

    op.drop_table("subscription_changes")
    op.drop_table("subscriptions")
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_attempts_invoice_id"))

    op.drop_table("payment_attempts")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_disputes_account_id"))

    op.drop_table("disputes")
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_events_rated"))

    op.drop_table("usage_events")
    op.drop_table("tariff_versions")
    with op.batch_alter_table("sla_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_incidents_location"))

    op.drop_table("sla_incidents")
    with op.batch_alter_table("sla_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_claims_account_id"))

    op.drop_table("sla_claims")
    with op.batch_alter_table("rated_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rated_lines_invoice_id"))
        batch_op.drop_index("ix_rated_lines_account_started")

    op.drop_table("rated_lines")
    op.drop_table("price_changes")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_account_currency")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_account_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("credit_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_purchases_account_id"))

    op.drop_table("credit_purchases")
    with op.batch_alter_table("accounts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("billing_suspended_at")
