"""The audit trail every service keeps of changes to personal and contract data, in its own schema."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import context
from kit.db import bound_tenant

metadata = sa.MetaData()
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("actor_kind", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("entity_id", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("request_id", sa.Text, nullable=False),
)


async def record(
    conn: AsyncConnection,
    entity: str,
    entity_id: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Records who (from the call context) changed `entity` in the caller's transaction."""
    ctx = context.current()
    await conn.execute(
        audit_log.insert().values(
            tenant_id=uuid.UUID(bound_tenant(conn)),
            at=sa.func.now(),
            actor=ctx.subject or "anonymous",
            actor_kind=ctx.subject_kind,
            channel=ctx.channel,
            entity=entity,
            entity_id=entity_id,
            action=action,
            before=before,
            after=after,
            request_id=ctx.request_id,
        )
    )
