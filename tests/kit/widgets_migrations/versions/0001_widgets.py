"""A throwaway tenant table for testing the kit against real PostgreSQL.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from kit.migrations import create_audit_table, create_bus_tables, enable_tenant_rls

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "widgets",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
    )
    enable_tenant_rls("widgets")
    op.create_table(
        "received",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("trace_id", sa.Text, nullable=False),
    )
    enable_tenant_rls("received")
    create_bus_tables()
    create_audit_table()
