"""Meter readings (odečty) per register, meter photos.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from kit.migrations import create_bus_tables, enable_tenant_rls

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "reading_photos",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("size > 0 AND size <= 4000000 AND size = octet_length(content)", name="photo_size"),
    )
    enable_tenant_rls("reading_photos")

    op.create_table(
        "readings",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        # in the accounts service; no foreign key across schemas
        sa.Column("supply_point_id", sa.Uuid, nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        # the meter's state at the start of this local day
        sa.Column("read_on", sa.Date, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        # since the reading before, kWh (gas converted); null for the first
        sa.Column("consumption_kwh", sa.Numeric(16, 3)),
        sa.Column("photo_id", sa.Uuid, sa.ForeignKey("reading_photos.id")),
        # subject kind and id of who submitted it, and through which channel
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("source IN ('operator', 'customer', 'estimate')", name="reading_source"),
        sa.CheckConstraint("status IN ('accepted', 'flagged')", name="reading_status"),
        # a retried submission is stored once
        sa.UniqueConstraint("tenant_id", "created_by", "idempotency_key"),
    )
    # a supply point's readings newest first, also the keyset of its pages
    op.create_index("readings_point", "readings", ["tenant_id", "supply_point_id", "read_on", "id"])
    enable_tenant_rls("readings")

    op.create_table(
        "reading_values",
        sa.Column("reading_id", sa.Uuid, sa.ForeignKey("readings.id"), primary_key=True),
        # vt, nt or gas
        sa.Column("register", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        # kWh or m³ as the meter shows it
        sa.Column("value", sa.Numeric(15, 3), nullable=False),
        sa.CheckConstraint("value >= 0", name="reading_value"),
    )
    enable_tenant_rls("reading_values")

    create_bus_tables()
