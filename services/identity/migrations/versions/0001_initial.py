"""Users, link tokens, throttles, access grants, login sessions, OAuth clients, codes, tokens and signing keys.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from kit.migrations import create_audit_table, create_bus_tables, enable_tenant_rls

revision = "0001"
down_revision = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        _ts("email_verified_at"),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False, server_default="customer"),
        sa.Column("staff_roles", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("totp_secret", sa.Text),
        sa.Column("totp_pending_secret", sa.Text),
        sa.Column("totp_last_step", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        _ts("created_at", False),
        sa.CheckConstraint("kind IN ('customer', 'staff')", name="user_kind"),
        sa.CheckConstraint("status IN ('active', 'closed')", name="user_status"),
        sa.UniqueConstraint("tenant_id", "email"),
    )
    enable_tenant_rls("users")

    op.create_table(
        "link_tokens",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        _ts("expires_at", False),
        _ts("used_at"),
    )
    enable_tenant_rls("link_tokens")

    op.create_table(
        "throttles",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        _ts("last_failure_at", False),
    )
    enable_tenant_rls("throttles")

    op.create_table(
        "grants",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("customer_number", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("capabilities", ARRAY(sa.Text), nullable=False, server_default="{}"),
        # NULL: every supply point of the customer number
        sa.Column("supply_point_ids", ARRAY(sa.Text)),
        _ts("expires_at"),
        _ts("created_at", False),
        _ts("revoked_at"),
        sa.CheckConstraint("role IN ('owner', 'delegate')", name="grant_role"),
    )
    op.create_index("grants_user", "grants", ["tenant_id", "user_id"])
    op.create_index(
        "grants_one_live_owner_grant",
        "grants",
        ["tenant_id", "user_id", "customer_number"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL AND role = 'owner'"),
    )
    enable_tenant_rls("grants")

    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("client_address", sa.Text, nullable=False, server_default=""),
        # password checked, TOTP code still to come: the ticket between the two sign-in steps
        sa.Column("second_factor_pending", sa.Boolean, nullable=False, server_default=sa.false()),
        _ts("created_at", False),
        _ts("expires_at", False),
        _ts("ended_at"),
    )
    enable_tenant_rls("login_sessions")

    op.create_table(
        "oauth_clients",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.Text),
        sa.Column("redirect_uris", ARRAY(sa.Text), nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False),
        sa.Column("trusted", sa.Boolean, nullable=False, server_default=sa.false()),
        _ts("created_at", False),
    )
    enable_tenant_rls("oauth_clients")

    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        _ts("expires_at", False),
        _ts("used_at"),
    )
    enable_tenant_rls("oauth_codes")

    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("access_hash", sa.Text, nullable=False, unique=True),
        sa.Column("refresh_hash", sa.Text, unique=True),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        # a refresh token's descendants share one family; a reused old refresh token revokes the family
        sa.Column("family_id", sa.Uuid, nullable=False),
        sa.Column("data", JSONB, nullable=False, server_default="{}"),
        _ts("issued_at", False),
        _ts("access_expires_at", False),
        _ts("refresh_expires_at"),
        _ts("rotated_at"),
        _ts("revoked_at"),
    )
    op.create_index("oauth_tokens_family", "oauth_tokens", ["tenant_id", "family_id"])
    op.create_index("oauth_tokens_user", "oauth_tokens", ["tenant_id", "user_id"])
    enable_tenant_rls("oauth_tokens")

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("private_jwk", JSONB, nullable=False),
        _ts("created_at", False),
        _ts("retired_at"),
    )
    enable_tenant_rls("signing_keys")

    create_bus_tables()
    create_audit_table()
