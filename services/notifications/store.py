"""All SQL of the notifications service."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import bound_tenant, scoped

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
    conn: AsyncConnection, delivery_id: uuid.UUID, error: str, next_attempt_at: datetime | None, *, tried: bool = True
) -> None:
    """A try that failed (`tried`) or a delivery that could not be tried: `next_attempt_at` None gives it up."""
    values: dict[str, object] = {"last_error": error[:500]}
    if tried:
        values["attempts"] = deliveries.c.attempts + 1
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


outage_notices = sa.Table(
    "outage_notices",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("outage_id", sa.Uuid),
    sa.Column("version", sa.Integer),
    sa.Column("kind", sa.Text),
    sa.Column("customer_number", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

outages = sa.Table(
    "outages",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("outage_id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer),
    sa.Column("state", sa.Text),
    sa.Column("starts_at", sa.DateTime(timezone=True)),
    sa.Column("notice", sa.LargeBinary),
    sa.Column("noticed_at", sa.DateTime(timezone=True)),
    sa.Column("reminded_version", sa.Integer),
)


async def claim_outage_notice(
    conn: AsyncConnection, *, outage_id: uuid.UUID, version: int, kind: str, customer_number: str
) -> uuid.UUID | None:
    """The id of a new notice to the customer, or None when this one was claimed before."""
    inserted = await conn.execute(
        insert(outage_notices)
        .values(
            id=uuid.uuid4(),
            tenant_id=uuid.UUID(bound_tenant(conn)),
            outage_id=outage_id,
            version=version,
            kind=kind,
            customer_number=customer_number,
        )
        .on_conflict_do_nothing()
        .returning(outage_notices.c.id)
    )
    return inserted.scalar()


async def save_outage(
    conn: AsyncConnection,
    *,
    outage_id: uuid.UUID,
    version: int,
    state: str,
    starts_at: datetime,
    notice: bytes,
    noticed_at: datetime,
) -> int:
    """Keeps the latest version of an outage (an older one arriving late changes nothing); returns the version
    stored now."""
    values = {"version": version, "state": state, "starts_at": starts_at, "notice": notice, "noticed_at": noticed_at}
    statement = insert(outages).values(tenant_id=uuid.UUID(bound_tenant(conn)), outage_id=outage_id, **values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[outages.c.tenant_id, outages.c.outage_id],
            set_=values,
            where=outages.c.version < statement.excluded.version,
        )
    )
    stored = sa.select(outages.c.version).where(outages.c.outage_id == outage_id, scoped(conn, outages))
    return (await conn.execute(stored)).scalar_one()


async def outages_to_remind(conn: AsyncConnection, before: datetime, limit: int) -> list[sa.Row]:
    """Outages of every tenant (system transaction) starting before `before` whose latest version has no reminder."""
    return list(
        (
            await conn.execute(
                sa.select(outages.c.tenant_id, outages.c.outage_id)
                .where(
                    outages.c.state != "cancelled",
                    outages.c.reminded_version < outages.c.version,
                    outages.c.starts_at <= before,
                )
                .order_by(outages.c.starts_at)
                .limit(limit)
            )
        ).all()
    )


async def lock_outage_to_remind(conn: AsyncConnection, outage_id: uuid.UUID) -> sa.Row | None:
    return (
        await conn.execute(
            sa.select(outages)
            .where(
                outages.c.outage_id == outage_id,
                outages.c.state != "cancelled",
                outages.c.reminded_version < outages.c.version,
                scoped(conn, outages),
            )
            .with_for_update(skip_locked=True)
        )
    ).first()


async def mark_reminded(conn: AsyncConnection, outage_id: uuid.UUID, version: int) -> None:
    await conn.execute(
        outages.update().where(outages.c.outage_id == outage_id, scoped(conn, outages)).values(reminded_version=version)
    )


preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("customer_number", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("channels", ARRAY(sa.Text)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)


async def chosen_channels(conn: AsyncConnection, customer_numbers: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """customer number → kind → channels, for the kinds each customer chose; kinds never chosen are absent."""
    rows = await conn.execute(
        sa.select(preferences.c.customer_number, preferences.c.kind, preferences.c.channels).where(
            preferences.c.customer_number.in_(list(customer_numbers)), scoped(conn, preferences)
        )
    )
    chosen: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        chosen.setdefault(row.customer_number, {})[row.kind] = list(row.channels)
    return chosen


async def choose_channels(conn: AsyncConnection, customer_number: str, kinds: Mapping[str, Sequence[str]]) -> None:
    statement = insert(preferences).values(
        [
            {
                "tenant_id": uuid.UUID(bound_tenant(conn)),
                "customer_number": customer_number,
                "kind": kind,
                "channels": sorted(channels),
            }
            for kind, channels in kinds.items()
        ]
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[preferences.c.tenant_id, preferences.c.customer_number, preferences.c.kind],
            set_={"channels": statement.excluded.channels, "updated_at": sa.func.now()},
        )
    )
