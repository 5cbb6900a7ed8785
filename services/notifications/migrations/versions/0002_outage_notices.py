"""Planned outages as notices told customers about them: one row per (outage, version, kind, customer), and the
latest version of each outage for the reminders.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from kit.migrations import enable_tenant_rls

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "outage_notices",
        # also the event id of the delivery it queued
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("outage_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # each notice once per customer, however often the outage is imported or its event delivered
        sa.UniqueConstraint("tenant_id", "outage_id", "version", "kind", "customer_number"),
    )
    enable_tenant_rls("outage_notices")
    op.create_table(
        "outages",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("outage_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        # the OutageNotice event payload of this version
        sa.Column("notice", sa.LargeBinary, nullable=False),
        # when customers heard of this version
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        # the version whose reminder went out (or was not needed); 0: none yet
        sa.Column("reminded_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index(
        "outages_to_remind",
        "outages",
        ["starts_at"],
        postgresql_where=sa.text("state <> 'cancelled' AND reminded_version < version"),
    )
    enable_tenant_rls("outages")
