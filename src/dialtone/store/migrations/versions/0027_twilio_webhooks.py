"""webhooks in Twilio's shape: a delivery's format and method, a message's callback
format (issue 16)

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-12 10:00:00

A delivery is sent as it always was ("dialtone": JSON, POST) or as Twilio sends its
webhooks ("twilio": form parameters by POST or GET, X-Twilio-Signature); a message's
status callbacks take the shape of the API it came through. Existing rows keep today's
shape through the server defaults. Plain ALTER TABLE: a rebuild of messages would
cascade-delete their parts.

Revision 0026 is issue 16's other migration (the Twilio-compatible API's auth tokens),
written beside this one; whichever is merged second revises the first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("format", sa.String(length=8), server_default="dialtone", nullable=False)
        )
        batch_op.add_column(
            sa.Column("method", sa.String(length=4), server_default="POST", nullable=False)
        )
        batch_op.create_index("ix_webhook_deliveries_account_id_id", ["account_id", "id"])
    with op.batch_alter_table("messages", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column(
                "callback_format", sa.String(length=8), server_default="dialtone", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("callback_format")
    with op.batch_alter_table("webhook_deliveries", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_account_id_id")
        batch_op.drop_column("method")
        batch_op.drop_column("format")
