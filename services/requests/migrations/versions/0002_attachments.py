"""Files sent with a request.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from kit.migrations import enable_tenant_rls

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "request_attachments",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("request_id", sa.Uuid, sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.CheckConstraint("size > 0 AND size <= 1000000 AND size = octet_length(content)", name="attachment_size"),
    )
    op.create_index("request_attachments_request", "request_attachments", ["tenant_id", "request_id"])
    enable_tenant_rls("request_attachments")
