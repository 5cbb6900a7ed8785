"""Price lists, advances (zálohy), invoices (faktury) with their signed documents, bill runs, payments in and out with
their allocations, reminders (upomínky).

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from kit.migrations import enable_tenant_rls

revision = "0002"
down_revision = "0001"

MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "billing_terms",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        # where customers pay invoices and advances, printed and in the QR code
        sa.Column("collection_iban", sa.Text, nullable=False),
        sa.Column("collection_bic", sa.Text, nullable=False, server_default=""),
        # days from issue to due date
        sa.Column("payment_days", sa.Integer, nullable=False, server_default="14"),
    )
    enable_tenant_rls("billing_terms")

    op.create_table(
        "price_lists",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("product", sa.Text, nullable=False),
        sa.Column("commodity", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        # exclusive; null: until further notice
        sa.Column("valid_to", sa.Date),
        sa.Column("currency", sa.Text, nullable=False),
        # the components (services/billing/pricing.py PriceList) as JSON, decimals as strings
        sa.Column("body", JSONB, nullable=False),
        sa.UniqueConstraint("tenant_id", "product", "commodity", "valid_from"),
    )
    enable_tenant_rls("price_lists")

    op.create_table(
        "advances",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("supply_point_id", sa.Uuid, nullable=False),
        sa.Column("supply_point_identifier", sa.Text, nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        sa.Column("contract_type", sa.Text, nullable=False),
        sa.Column("variable_symbol", sa.Text, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid", MONEY, nullable=False, server_default="0"),
        sa.Column("currency", sa.Text, nullable=False),
        sa.CheckConstraint("amount > 0 AND paid >= 0 AND paid <= amount", name="advance_amounts"),
        sa.UniqueConstraint("tenant_id", "supply_point_id", "due_date"),
    )
    op.create_index("advances_customer", "advances", ["tenant_id", "customer_number", "due_date"])
    op.create_index(
        "advances_open_symbol", "advances", ["tenant_id", "variable_symbol"], postgresql_where="paid < amount"
    )
    enable_tenant_rls("advances")

    op.create_table(
        "invoice_numbers",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    enable_tenant_rls("invoice_numbers")

    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("variable_symbol", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        sa.Column("supply_point_id", sa.Uuid, nullable=False),
        sa.Column("supply_point_identifier", sa.Text, nullable=False),
        sa.Column("commodity", sa.Text, nullable=False),
        sa.Column("contract_type", sa.Text, nullable=False),
        # the settled days: period_from … period_to, both inclusive
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("advances", MONEY, nullable=False),
        # positive: to pay; negative: an overpayment (přeplatek) to refund
        sa.Column("amount_due", MONEY, nullable=False),
        # of |amount_due|, what was paid (or refunded)
        sa.Column("settled", MONEY, nullable=False, server_default="0"),
        sa.Column("locale", sa.Text, nullable=False),
        # lines, VAT breakdown, rounding and the inputs that reproduce them
        sa.Column("settlement", JSONB, nullable=False),
        sa.Column("original_invoice_id", sa.Uuid, sa.ForeignKey("invoices.id")),
        sa.Column("request_id", sa.Uuid),
        sa.Column("bill_run", sa.Text),
        sa.Column("e_invoice", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('regular', 'extraordinary', 'credit_note')", name="invoice_kind"),
        sa.CheckConstraint("settled >= 0 AND settled <= abs(amount_due)", name="invoice_settled"),
        sa.UniqueConstraint("tenant_id", "number"),
    )
    # a bill run stopped and started again never settles a period twice
    op.create_index(
        "invoices_regular_once",
        "invoices",
        ["tenant_id", "supply_point_id", "period_from"],
        unique=True,
        postgresql_where="kind = 'regular'",
    )
    op.create_index("invoices_request_once", "invoices", ["tenant_id", "request_id"], unique=True)
    # the list: a customer number's invoices newest first (also the keyset), and its open ones by due date
    op.create_index("invoices_customer", "invoices", ["tenant_id", "customer_number", "issue_date", "id"])
    op.create_index(
        "invoices_open",
        "invoices",
        ["tenant_id", "customer_number", "due_date"],
        postgresql_where="settled < abs(amount_due)",
    )
    op.create_index("invoices_symbol", "invoices", ["tenant_id", "variable_symbol"])
    # the list's selective filters: one supply point, an exact amount (the total or the amount due). Amounts are
    # searched as whole hellers/cents: under row-level security PostgreSQL uses an index only for leakproof
    # comparisons, and bigint equality is one, numeric equality is not
    op.create_index("invoices_point", "invoices", ["tenant_id", "supply_point_id", "issue_date", "id"])
    for column in ("total", "amount_due"):
        op.add_column(
            "invoices",
            sa.Column(f"{column}_cents", sa.BigInteger, sa.Computed(f"({column} * 100)::bigint", persisted=True)),
        )
        op.create_index(f"invoices_{column}_cents", "invoices", ["tenant_id", "customer_number", f"{column}_cents"])
    enable_tenant_rls("invoices")

    op.create_table(
        "invoice_documents",
        sa.Column("invoice_id", sa.Uuid, sa.ForeignKey("invoices.id"), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        # signed PDF with the ISDOC embedded; the ISDOC on its own
        sa.Column("pdf", sa.LargeBinary, nullable=False),
        sa.Column("isdoc", sa.LargeBinary, nullable=False),
    )
    enable_tenant_rls("invoice_documents")

    op.create_table(
        "bill_runs",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        # YYYY or YYYY-MM
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("id", sa.Uuid, nullable=False, unique=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        # the identifier of the last supply point looked at, where a stopped run goes on
        sa.Column("cursor", sa.Text, nullable=False, server_default=""),
        sa.Column("issued", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        # the tenant's supply points with a contract when the run started
        sa.Column("points", sa.Integer, nullable=False, server_default="0"),
        sa.Column("problems", JSONB, nullable=False, server_default="[]"),
    )
    enable_tenant_rls("bill_runs")

    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        # in: received; out: a refund sent
        sa.Column("direction", sa.Text, nullable=False),
        # the statement's account and the bank's reference of the line: a re-import finds it again
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("booked_on", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("variable_symbol", sa.Text, nullable=False, server_default=""),
        sa.Column("counterparty_account", sa.Text, nullable=False, server_default=""),
        sa.Column("counterparty_name", sa.Text, nullable=False, server_default=""),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("customer_number", sa.Text),
        # matched, partial, overpaid, unmatched, returned (a reversal), refund
        sa.Column("status", sa.Text, nullable=False),
        # received but not allocated to any item: an overpayment kept on the customer's balance or for staff
        sa.Column("unallocated", MONEY, nullable=False, server_default="0"),
        # staff resolved it from the queue
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("direction IN ('in', 'out')", name="payment_direction"),
        sa.UniqueConstraint("tenant_id", "account", "reference"),
    )
    op.create_index("payments_customer", "payments", ["tenant_id", "customer_number", "booked_on", "id"])
    op.create_index(
        "payments_queue",
        "payments",
        ["tenant_id", "booked_on"],
        postgresql_where="status IN ('partial', 'overpaid', 'unmatched') AND resolved_at IS NULL",
    )
    enable_tenant_rls("payments")

    op.create_table(
        "allocations",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("payment_id", sa.Uuid, sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("invoice_id", sa.Uuid, sa.ForeignKey("invoices.id")),
        sa.Column("advance_id", sa.Uuid, sa.ForeignKey("advances.id")),
        sa.Column("amount", MONEY, nullable=False),
        sa.CheckConstraint("(invoice_id IS NULL) <> (advance_id IS NULL)", name="allocation_item"),
    )
    op.create_index("allocations_payment", "allocations", ["tenant_id", "payment_id"])
    enable_tenant_rls("allocations")

    op.create_table(
        "reminders",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.Uuid, sa.ForeignKey("invoices.id")),
        sa.Column("advance_id", sa.Uuid, sa.ForeignKey("advances.id")),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        # the day the item was paid, which closes the reminder
        sa.Column("closed_on", sa.Date),
        sa.CheckConstraint("(invoice_id IS NULL) <> (advance_id IS NULL)", name="reminder_item"),
        sa.CheckConstraint("level BETWEEN 1 AND 3", name="reminder_level"),
        sa.UniqueConstraint("tenant_id", "invoice_id", "advance_id", "level", postgresql_nulls_not_distinct=True),
    )
    op.create_index("reminders_customer", "reminders", ["tenant_id", "customer_number", "issued_on"])
    enable_tenant_rls("reminders")
