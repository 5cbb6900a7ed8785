"""The customer each audit entry concerns, for the staff console's merged audit log.

Revision ID: 0004
"""

from kit.migrations import add_audit_customer_number

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    add_audit_customer_number(listing_index=True)
