"""Imports and versions of HDO switching schedules, planned outages.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from kit.migrations import create_bus_tables, enable_tenant_rls

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "schedule_imports",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False, server_default=""),
        sa.Column("file_hash", sa.Text, nullable=False),
        sa.Column("codes", sa.Integer, nullable=False),
        sa.Column("changed", sa.Integer, nullable=False),
        sa.Column("imported_by", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    enable_tenant_rls("schedule_imports")

    op.create_table(
        "schedule_versions",
        # also the order of imports: a higher id wins over a lower one from its effective_from on
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
        # valid_from, or the import's day where earlier imports already answered for the days before it
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("schedule", JSONB, nullable=False),
        sa.Column("source_format", sa.Text, nullable=False),
        sa.Column("import_id", sa.Uuid, sa.ForeignKey("schedule_imports.id"), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # the same switching times imported again are the same version
        sa.UniqueConstraint("tenant_id", "code", "content_hash"),
    )
    op.create_index("schedule_versions_code", "schedule_versions", ["tenant_id", "code", "effective_from"])
    enable_tenant_rls("schedule_versions")

    op.create_table(
        "outages",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("operator", sa.Text, nullable=False),
        # the operator's number of the outage
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("eans", ARRAY(sa.Text), nullable=False),
        sa.Column("areas", JSONB, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("state IN ('planned', 'changed', 'cancelled')", name="outage_state"),
        sa.CheckConstraint("ends_at > starts_at", name="outage_period"),
        sa.UniqueConstraint("tenant_id", "operator", "external_id"),
    )
    op.create_index("outages_ends", "outages", ["tenant_id", "ends_at"])
    op.create_index("outages_eans", "outages", ["eans"], postgresql_using="gin")
    enable_tenant_rls("outages")

    create_bus_tables()
