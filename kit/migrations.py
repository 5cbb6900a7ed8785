"""Schema bootstrap and Alembic migrations, one schema and one version history per service.

Each service's `migrations/env.py` is the two lines `from kit.migrations import run_env; run_env()`, so the
mechanics live here once.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

from kit.db import TENANT_SETTING, async_url, role_of, system_role_of

# Serialises bootstraps of several services starting at once (CREATE ROLE is not idempotent under a race).
_BOOTSTRAP_LOCK = 7_302_417

TENANT_MATCH = f"tenant_id = nullif(current_setting('{TENANT_SETTING}', true), '')::uuid"


async def migrate(admin_url: str, service: str, migrations_dir: Path) -> None:
    """Creates the service's schema and roles when missing and applies its migrations; safe to run on every start."""
    engine = create_async_engine(async_url(admin_url), poolclass=sa.pool.NullPool)
    role, system_role = role_of(service), system_role_of(service)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_BOOTSTRAP_LOCK)))
            for name, extra in ((role, "NOLOGIN"), (system_role, "NOLOGIN BYPASSRLS")):
                exists = await conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name})
                if not exists:
                    await conn.execute(sa.text(f'CREATE ROLE "{name}" {extra}'))
            # the admin must be able to SET ROLE to them (always true for a superuser, needed on managed servers)
            await conn.execute(sa.text(f'GRANT "{role}", "{system_role}" TO CURRENT_USER'))
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{service}"'))
            await conn.execute(sa.text(f'SET LOCAL search_path TO "{service}"'))
            await conn.run_sync(_upgrade, service, migrations_dir)
            for name in (role, system_role):
                await conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{service}" TO "{name}"'))
                await conn.execute(
                    sa.text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{service}" TO "{name}"')
                )
                await conn.execute(sa.text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{service}" TO "{name}"'))
            await conn.execute(sa.text(f'REVOKE ALL ON "{service}".alembic_version FROM "{role}"'))
    finally:
        await engine.dispose()


def _upgrade(sync_conn: sa.Connection, service: str, migrations_dir: Path) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["connection"] = sync_conn
    cfg.attributes["schema"] = service
    command.upgrade(cfg, "head")


def run_env() -> None:
    """The body of every service's migrations/env.py."""
    cfg = context.config
    connection = cfg.attributes["connection"]
    context.configure(
        connection=connection,
        version_table_schema=cfg.attributes["schema"],
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def enable_tenant_rls(table: str) -> None:
    """Row-level security on a tenant table, forced so that even the table owner obeys it."""
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY tenant_isolation ON "{table}" USING ({TENANT_MATCH}) WITH CHECK ({TENANT_MATCH})')


def create_bus_tables() -> None:
    """The transactional outbox and the consumer's record of processed events, in the service's own schema."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("outbox_unpublished", "outbox", ["created_at"], postgresql_where=sa.text("published_at IS NULL"))
    enable_tenant_rls("outbox")
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    enable_tenant_rls("processed_events")


def create_audit_table() -> None:
    """Who changed what, when, through which channel, with the values before and after (see kit/audit.py)."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("actor_kind", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("entity_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("request_id", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("audit_log_entity", "audit_log", ["tenant_id", "entity", "entity_id", "at"])
    enable_tenant_rls("audit_log")


def add_audit_customer_number(*, listing_index: bool) -> None:
    """The customer an audit entry concerns, so the staff console's merged log filters by customer number; with
    `listing_index`, the index the newest-first listing reads where the service has none yet."""
    op.add_column("audit_log", sa.Column("customer_number", sa.Text, nullable=False, server_default=""))
    op.create_index("audit_log_customer", "audit_log", ["tenant_id", "customer_number", "id"])
    if listing_index:
        op.create_index("audit_log_at", "audit_log", ["tenant_id", "id"])
        op.create_index("audit_log_actor", "audit_log", ["tenant_id", "actor", "id"])
