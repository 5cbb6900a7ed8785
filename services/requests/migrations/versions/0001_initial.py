"""Request catalog per tenant, requests (žádosti) from every channel, their timelines, the audit trail.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from kit.migrations import create_audit_table, create_bus_tables, enable_tenant_rls

revision = "0001"
down_revision = None

OPEN = "('submitted', 'accepted', 'in_progress', 'waiting_for_customer')"


def upgrade() -> None:
    op.create_table(
        "catalog",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        # the permission matrix's capability (in accounts) a contract type must allow
        sa.Column("capability", sa.Text, nullable=False),
        # [{name, kind, required, choices}]
        sa.Column("fields", JSONB, nullable=False),
        sa.Column("deadline_days", sa.Integer, nullable=False),
        sa.Column("needs_supply_point", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.CheckConstraint("kind IN ('immediate', 'processed')", name="catalog_kind"),
        sa.CheckConstraint("deadline_days > 0", name="catalog_deadline"),
    )
    enable_tenant_rls("catalog")

    op.create_table(
        "requests",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        # in the accounts service; no foreign key across schemas
        sa.Column("supply_point_id", sa.Uuid),
        sa.Column("contract_id", sa.Uuid),
        sa.Column("contract_type", sa.Text, nullable=False, server_default=""),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        # a staff member's subject id and name as the console shows it
        sa.Column("assignee", sa.Text, nullable=False, server_default=""),
        sa.Column("assignee_name", sa.Text, nullable=False, server_default=""),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True)),
        # the values of the type's fields
        sa.Column("payload", JSONB, nullable=False),
        # subject kind and id of who filed it
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('submitted', 'accepted', 'in_progress', 'waiting_for_customer', 'resolved', 'rejected',"
            " 'cancelled')",
            name="request_state",
        ),
        sa.CheckConstraint("channel IN ('portal', 'phone', 'letter', 'branch', 'email')", name="request_channel"),
        # a retried submission is stored once
        sa.UniqueConstraint("tenant_id", "customer_number", "idempotency_key"),
    )
    # a customer's requests newest first, also the keyset of their pages
    op.create_index("requests_customer", "requests", ["tenant_id", "customer_number", "created_at", "id"])
    # the staff queue: open requests by deadline (keyset), filtered by state, type or assignee on the way
    op.create_index(
        "requests_queue",
        "requests",
        ["tenant_id", "deadline_at", "id"],
        postgresql_where=sa.text(f"state IN {OPEN}"),
    )
    op.create_index(
        "requests_queue_assignee",
        "requests",
        ["tenant_id", "assignee", "deadline_at", "id"],
        postgresql_where=sa.text(f"state IN {OPEN}"),
    )
    # what the escalation scan looks for across tenants
    op.create_index(
        "requests_to_escalate",
        "requests",
        ["deadline_at"],
        postgresql_where=sa.text("escalated_at IS NULL AND state IN ('submitted', 'accepted', 'in_progress')"),
    )
    enable_tenant_rls("requests")

    op.create_table(
        "request_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("request_id", sa.Uuid, sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("from_state", sa.Text, nullable=False, server_default=""),
        sa.Column("to_state", sa.Text, nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        # staff notes the customer does not see
        sa.Column("internal", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("request_events_request", "request_events", ["tenant_id", "request_id", "id"])
    enable_tenant_rls("request_events")

    create_bus_tables()
    create_audit_table()
