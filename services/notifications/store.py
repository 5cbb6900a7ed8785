"""All SQL of the notifications service."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import scoped

metadata = sa.MetaData()
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("event_id", sa.Uuid),
    sa.Column("channel", sa.Text),
    sa.Column("recipient", sa.Text),
    sa.Column("template", sa.Text),
    sa.Column("locale", sa.Text),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("attempts", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
)


async def queue(
    conn: AsyncConnection,
    *,
    tenant_id: str,
    event_id: uuid.UUID,
    channel: str,
    recipient: str,
    template: str,
    locale: str,
    subject: str,
    body: str,
) -> None:
    await conn.execute(
        insert(deliveries)
        .values(
            id=uuid.uuid4(),
            tenant_id=uuid.UUID(tenant_id),
            event_id=event_id,
            channel=channel,
            recipient=recipient,
            template=template,
            locale=locale,
            subject=subject,
            body=body,
        )
        .on_conflict_do_nothing()
    )


async def due(conn: AsyncConnection, now: datetime, limit: int) -> list[sa.Row]:
    """Queued deliveries whose time has come, locked for this sender (system transaction: every tenant)."""
    return list(
        (
            await conn.execute(
                sa.select(deliveries)
                .where(deliveries.c.status == "queued", deliveries.c.next_attempt_at <= now)
                .order_by(deliveries.c.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )


async def mark_sent(conn: AsyncConnection, delivery_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        deliveries.update()
        .where(deliveries.c.id == delivery_id)
        .values(status="sent", sent_at=now, attempts=deliveries.c.attempts + 1, last_error="")
    )


async def mark_failed(
    conn: AsyncConnection, delivery_id: uuid.UUID, error: str, next_attempt_at: datetime | None
) -> None:
    values: dict[str, object] = {"attempts": deliveries.c.attempts + 1, "last_error": error[:500]}
    if next_attempt_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = next_attempt_at
    await conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(**values))


async def recent(conn: AsyncConnection, recipient: str, limit: int) -> list[sa.Row]:
    query = sa.select(deliveries).where(scoped(conn, deliveries))
    if recipient:
        query = query.where(deliveries.c.recipient == recipient)
    return list((await conn.execute(query.order_by(deliveries.c.created_at.desc()).limit(limit))).all())
