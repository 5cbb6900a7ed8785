"""The request catalog as tenant administrators edit it (whether a type is offered, and on which contract types), and
the customer each audit entry concerns, for the staff console's merged audit log.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from kit.migrations import add_audit_customer_number

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("catalog", sa.Column("offered", sa.Boolean, nullable=False, server_default=sa.true()))
    # NULL: every contract type the permission matrix allows the type's capability on
    op.add_column("catalog", sa.Column("contract_types", ARRAY(sa.Text)))
    op.create_check_constraint("catalog_deadline_at_most", "catalog", "deadline_days <= 365")
    add_audit_customer_number(listing_index=True)
