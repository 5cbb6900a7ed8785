"""PostgreSQL access: one schema and role per service, the tenant bound to every transaction.

Row-level security is the guard that does not forget: every tenant table has a policy comparing its `tenant_id` with
the transaction's `portal.tenant_id` setting, and services run as a role that cannot bypass it. Work that must see
every tenant (the outbox relay, resolving a tenant by host name) runs in an explicit `system()` transaction under a
separate BYPASSRLS role, so each such place is visible in the code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from kit import context, telemetry

# Tests turn this off to show that row-level security alone keeps tenants apart.
APPLICATION_TENANT_FILTER = True

TENANT_SETTING = "portal.tenant_id"
_BIND_TENANT = f"SELECT set_config('{TENANT_SETTING}', $1, true)"


def role_of(service: str) -> str:
    return f"portal_{service}"


def system_role_of(service: str) -> str:
    return f"portal_{service}_system"


def async_url(url: str) -> sa.URL:
    """Accepts the usual `postgresql://` form and picks the asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg")


class Database:
    def __init__(self, url: str, service: str, *, pool_size: int = 10) -> None:
        self.service = service
        self.schema = service
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            # no pre-ping round trip per transaction; a connection PostgreSQL dropped is discarded on its error
            pool_recycle=1800,
            connect_args={
                "server_settings": {
                    "search_path": self.schema,
                    "role": role_of(service),
                    "application_name": f"portal-{service}",
                }
            },
        )
        _trace_statements(self.engine, service)

    @asynccontextmanager
    async def tenant(self, tenant_id: str | uuid.UUID | None = None) -> AsyncIterator[AsyncConnection]:
        """One transaction bound to a tenant (by default the call context's)."""
        tid = str(tenant_id or context.current().tenant_id)
        if not tid:
            raise RuntimeError("no tenant in the call context")
        uuid.UUID(tid)
        async with self.engine.begin() as conn:
            # plain driver SQL: this runs before every tenant transaction, and building a Core statement for it
            # costs more than the round trip
            await conn.exec_driver_sql(_BIND_TENANT, (tid,))
            conn.info["tenant_id"] = tid
            try:
                yield conn
            finally:
                conn.info.pop("tenant_id", None)

    @asynccontextmanager
    async def system(self) -> AsyncIterator[AsyncConnection]:
        """One transaction that sees every tenant; use only where the work is truly cross-tenant."""
        async with self.engine.begin() as conn:
            await conn.execute(sa.text(f'SET LOCAL ROLE "{system_role_of(self.service)}"'))
            yield conn

    async def close(self) -> None:
        await self.engine.dispose()


def _trace_statements(engine: AsyncEngine, schema: str) -> None:
    """A client span per SQL statement, inside the trace of the request or event that ran it."""
    tracer = telemetry.tracer("kit.db")

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        ctx._portal_span = tracer.start_span(
            f"db {verb}",
            kind=SpanKind.CLIENT,
            attributes={"db.system": "postgresql", "db.namespace": schema, "db.query.text": statement[:1000]},
        )

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _end(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        span = getattr(ctx, "_portal_span", None)
        if span is not None:
            span.end()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _fail(exc_ctx: Any) -> None:
        span = getattr(exc_ctx.execution_context, "_portal_span", None)
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, str(exc_ctx.original_exception)[:200]))
            span.end()


def scoped(conn: AsyncConnection, table: sa.Table) -> sa.ColumnElement[bool]:
    """The application's own tenant filter, kept beside row-level security as defence in depth."""
    if not APPLICATION_TENANT_FILTER:
        return sa.true()
    return table.c.tenant_id == conn.info["tenant_id"]


def scoped_by_parameter(table: sa.Table) -> sa.ColumnElement[bool]:
    """`scoped` for statements built once and run many times: the tenant comes in the `tenant_id` parameter,
    which `tenant_parameter` supplies. Build such statements per value of APPLICATION_TENANT_FILTER."""
    if not APPLICATION_TENANT_FILTER:
        return sa.true()
    return table.c.tenant_id == sa.bindparam("tenant_id", type_=sa.Uuid)


def tenant_parameter(conn: AsyncConnection) -> dict[str, str]:
    return {"tenant_id": conn.info["tenant_id"]}


def bound_tenant(conn: AsyncConnection) -> str:
    return conn.info["tenant_id"]


async def upsert(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]], update: Sequence[str] | None = None
) -> None:
    """Inserts rows; existing ones get the `update` columns refreshed (default: all but the key; empty: none)."""
    if not rows:
        return
    pk = [c.name for c in table.primary_key.columns]
    stmt = insert(table).values(list(rows))
    columns = [c for c in rows[0] if c not in pk] if update is None else list(update)
    if columns:
        stmt = stmt.on_conflict_do_update(index_elements=pk, set_={c: stmt.excluded[c] for c in columns})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=pk)
    await conn.execute(stmt)
