"""Delivery preferences: the channels each customer chose per kind of message.

A kind without a row goes by the default (e-mail). The deliveries' unique key (event, channel, recipient) already
lets one notice queue both an e-mail and an SMS.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kit.migrations import enable_tenant_rls

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "preferences",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        # zákaznické číslo
        sa.Column("customer_number", sa.Text, primary_key=True),
        # outages, …
        sa.Column("kind", sa.Text, primary_key=True),
        # email, sms
        sa.Column("channels", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    enable_tenant_rls("preferences")
