"""Tenants, customers, contracts, supply points, permission matrix, audit log.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from kit.migrations import create_audit_table, create_bus_tables, enable_tenant_rls

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid, primary_key=True),
        # equal to id: lets the one tenant policy cover this table too
        sa.Column("tenant_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("slug", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("hosts", ARRAY(sa.Text), nullable=False),
        sa.Column("theme", JSONB, nullable=False),
        sa.Column("default_locale", sa.Text, nullable=False),
        sa.Column("locales", ARRAY(sa.Text), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("legal_entity", JSONB, nullable=False),
        sa.Column("contact_lines", JSONB, nullable=False),
        sa.Column("features", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.CheckConstraint("tenant_id = id", name="tenant_is_itself"),
    )
    op.create_index("tenants_hosts", "tenants", ["hosts"], postgresql_using="gin")
    enable_tenant_rls("tenants")

    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        # zákaznické číslo
        sa.Column("customer_number", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("company_id", sa.Text, nullable=False, server_default=""),
        sa.Column("email", sa.Text, nullable=False, server_default=""),
        sa.Column("phone", sa.Text, nullable=False, server_default=""),
        sa.Column("permanent_address", JSONB, nullable=False),
        sa.Column("mailing_address", JSONB, nullable=False),
        # the authorization code printed on invoices, kept only as a keyed hash
        sa.Column("authorization_code_hash", sa.Text, nullable=False),
        sa.Column("last_invoice_number", sa.Text, nullable=False, server_default=""),
        sa.Column("last_invoice_amount", sa.Numeric(14, 2)),
        sa.CheckConstraint("kind IN ('person', 'business')", name="customer_kind"),
    )
    enable_tenant_rls("customers")

    op.create_table(
        "permission_matrix",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("contract_type", sa.Text, primary_key=True),
        sa.Column("capabilities", ARRAY(sa.Text), nullable=False),
    )
    enable_tenant_rls("permission_matrix")

    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        sa.Column("contract_type", sa.Text, nullable=False),
        sa.Column("supplier", sa.Text, nullable=False),
        sa.Column("payment_method", sa.Text, nullable=False),
        sa.Column("bank_account", sa.Text, nullable=False, server_default=""),
        # záloha
        sa.Column("advance_amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("advance_cycle", sa.Text, nullable=False),
        sa.Column("e_invoice", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "customer_number"], ["customers.tenant_id", "customers.customer_number"]),
        sa.UniqueConstraint("tenant_id", "number"),
    )
    op.create_index("contracts_customer", "contracts", ["tenant_id", "customer_number"])
    enable_tenant_rls("contracts")

    op.create_table(
        "supply_points",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        # EAN (electricity) or EIC (gas)
        sa.Column("identifier", sa.Text, nullable=False),
        sa.Column("commodity", sa.Text, nullable=False),
        sa.Column("street", sa.Text, nullable=False),
        sa.Column("house_number", sa.Text, nullable=False),
        sa.Column("city", sa.Text, nullable=False),
        sa.Column("postal_code", sa.Text, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("meter_number", sa.Text, nullable=False),
        # hlavní jistič
        sa.Column("breaker_amps", sa.Integer, nullable=False, server_default="0"),
        sa.Column("phases", sa.Integer, nullable=False, server_default="0"),
        # distribuční sazba
        sa.Column("distribution_tariff", sa.Text, nullable=False, server_default=""),
        sa.Column("product", sa.Text, nullable=False),
        sa.Column("annual_consumption_kwh", sa.BigInteger, nullable=False),
        sa.Column("reading_schedule", sa.Text, nullable=False),
        sa.Column("hdo_code", sa.Text, nullable=False, server_default=""),
        sa.Column("contract_id", sa.Uuid, sa.ForeignKey("contracts.id"), nullable=False),
        sa.CheckConstraint("commodity IN ('electricity', 'gas')", name="supply_point_commodity"),
        sa.UniqueConstraint("tenant_id", "identifier"),
        sa.ForeignKeyConstraint(["tenant_id", "customer_number"], ["customers.tenant_id", "customers.customer_number"]),
    )
    # keyset paging by identifier within a customer's supply points
    op.create_index("supply_points_customer", "supply_points", ["tenant_id", "customer_number", "identifier"])
    enable_tenant_rls("supply_points")

    create_audit_table()
    create_bus_tables()
