"""Deliveries (the delivery log and the send queue in one) and the in-portal inbox.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from kit.migrations import create_audit_table, create_bus_tables, enable_tenant_rls

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed')", name="delivery_status"),
        # one message per event and channel, however often the event arrives
        sa.UniqueConstraint("event_id", "channel", "recipient"),
    )
    op.create_index("deliveries_due", "deliveries", ["next_attempt_at"], postgresql_where=sa.text("status = 'queued'"))
    op.create_index("deliveries_recipient", "deliveries", ["tenant_id", "recipient", "created_at"])
    enable_tenant_rls("deliveries")
    create_bus_tables()
    create_audit_table()
