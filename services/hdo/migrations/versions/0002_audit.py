"""The audit trail: who imported which switching times and changed which planned outage.

Revision ID: 0002
"""

from kit.migrations import create_audit_table

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    create_audit_table()
