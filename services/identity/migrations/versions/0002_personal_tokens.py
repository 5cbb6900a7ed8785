"""Personal access tokens: named, scoped, expiring tokens a customer makes for scripts and home automation.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from kit.migrations import enable_tenant_rls

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "personal_tokens",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        # HMAC-SHA256 of the token under a key derived from the master secret: a copy of the table opens nothing,
        # and without the key the hashes cannot even be checked against guesses
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False),
        # empty: every customer number the user has a live grant for when the token is used
        sa.Column("customer_numbers", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 80", name="personal_token_name"),
        sa.CheckConstraint("cardinality(scopes) > 0", name="personal_token_scopes"),
        sa.CheckConstraint("expires_at > created_at", name="personal_token_expiry"),
    )
    op.create_index("personal_tokens_user", "personal_tokens", ["tenant_id", "user_id"])
    enable_tenant_rls("personal_tokens")
