"""All SQL of the billing service."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import db
from kit.db import bound_tenant, scoped, scoped_by_parameter, tenant_parameter

from . import domain

metadata = sa.MetaData()

reading_photos = sa.Table(
    "reading_photos",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("content_type", sa.Text),
    sa.Column("size", sa.Integer),
    sa.Column("content", sa.LargeBinary),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("supply_point_id", sa.Uuid),
    sa.Column("customer_number", sa.Text),
    sa.Column("read_on", sa.Date),
    sa.Column("source", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("consumption_kwh", sa.Numeric(16, 3)),
    sa.Column("photo_id", sa.Uuid),
    sa.Column("created_by", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

reading_values = sa.Table(
    "reading_values",
    metadata,
    sa.Column("reading_id", sa.Uuid, primary_key=True),
    sa.Column("register", sa.Text, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("value", sa.Numeric(15, 3)),
)

# one submission at a time per supply point, so each is checked against the reading stored before it
_POINT_LOCK = "billing.readings."


async def lock_point(conn: AsyncConnection, supply_point_id: uuid.UUID) -> None:
    key = sa.func.hashtext(_POINT_LOCK + bound_tenant(conn) + str(supply_point_id))
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


@functools.cache
def _statements(app_filter: bool) -> dict[str, Any]:
    """The statements of every submission and page, built once (see accounts/store.py for why); `app_filter` is
    APPLICATION_TENANT_FILTER, part of the key because tests switch it."""
    values = (
        sa.select(sa.func.jsonb_object_agg(reading_values.c.register, sa.cast(reading_values.c.value, sa.Text)))
        .where(reading_values.c.reading_id == readings.c.id, scoped_by_parameter(reading_values))
        .scalar_subquery()
        .label("values")
    )
    photo = (
        sa.select(reading_photos.c.content_type, reading_photos.c.size)
        .where(reading_photos.c.id == readings.c.photo_id, scoped_by_parameter(reading_photos))
        .lateral("photo")
    )
    with_values = (
        sa.select(readings, values, photo.c.content_type.label("photo_content_type"), photo.c.size.label("photo_size"))
        .select_from(readings.outerjoin(photo, sa.true()))
        .where(scoped_by_parameter(readings))
    )
    of_point = with_values.where(readings.c.supply_point_id == sa.bindparam("point", type_=sa.Uuid))
    newest_first = (readings.c.read_on.desc(), readings.c.id.desc())
    return {
        "last_actual": of_point.where(readings.c.source != domain.ESTIMATE).order_by(*newest_first).limit(1),
        "all": of_point.order_by(readings.c.read_on, readings.c.id),
        "first_page": of_point.order_by(*newest_first).limit(sa.bindparam("limit")),
        "next_page": of_point.where(
            sa.tuple_(readings.c.read_on, readings.c.id)
            < sa.tuple_(sa.bindparam("after_day", type_=sa.Date), sa.bindparam("after_id", type_=sa.Uuid))
        )
        .order_by(*newest_first)
        .limit(sa.bindparam("limit")),
        "by_key": with_values.where(
            readings.c.created_by == sa.bindparam("created_by"),
            readings.c.idempotency_key == sa.bindparam("key"),
        ),
        "by_id": with_values.where(readings.c.id == sa.bindparam("id", type_=sa.Uuid)),
        "count": sa.select(sa.func.count())
        .select_from(readings)
        .where(scoped_by_parameter(readings), readings.c.supply_point_id == sa.bindparam("point", type_=sa.Uuid)),
    }


async def _run(conn: AsyncConnection, name: str, **params: Any) -> sa.CursorResult[Any]:
    if db.APPLICATION_TENANT_FILTER:
        params.update(tenant_parameter(conn))
    return await conn.execute(_statements(db.APPLICATION_TENANT_FILTER)[name], params)


def as_reading(row: sa.Row) -> domain.Reading:
    return domain.Reading(
        read_on=row.read_on, values={k: Decimal(v) for k, v in (row.values or {}).items()}, source=row.source
    )


async def last_actual(conn: AsyncConnection, supply_point_id: uuid.UUID) -> sa.Row | None:
    return (await _run(conn, "last_actual", point=supply_point_id)).first()


async def all_of(conn: AsyncConnection, supply_point_id: uuid.UUID) -> list[sa.Row]:
    return list((await _run(conn, "all", point=supply_point_id)).all())


async def by_idempotency_key(conn: AsyncConnection, created_by: str, key: str) -> sa.Row | None:
    return (await _run(conn, "by_key", created_by=created_by, key=key)).first()


async def page(
    conn: AsyncConnection, supply_point_id: uuid.UUID, after: tuple[date, uuid.UUID] | None, limit: int
) -> tuple[list[sa.Row], int]:
    """One page newest first (keyset: page 40 costs what page 1 does) and how many readings the point has."""
    if after is None:
        rows = await _run(conn, "first_page", point=supply_point_id, limit=limit + 1)
    else:
        rows = await _run(
            conn, "next_page", point=supply_point_id, after_day=after[0], after_id=after[1], limit=limit + 1
        )
    found = list(rows.all())
    total = (await _run(conn, "count", point=supply_point_id)).scalar_one()
    return found, total


async def reading(conn: AsyncConnection, reading_id: uuid.UUID) -> sa.Row | None:
    return (await _run(conn, "by_id", id=reading_id)).first()


async def photo(conn: AsyncConnection, photo_id: uuid.UUID) -> sa.Row | None:
    query = sa.select(reading_photos.c.content, reading_photos.c.content_type).where(
        reading_photos.c.id == photo_id, scoped(conn, reading_photos)
    )
    return (await conn.execute(query)).first()


async def add_photo(conn: AsyncConnection, content: bytes, content_type: str) -> uuid.UUID:
    photo_id = uuid.uuid4()
    await conn.execute(
        reading_photos.insert().values(
            id=photo_id,
            tenant_id=uuid.UUID(bound_tenant(conn)),
            content_type=content_type,
            size=len(content),
            content=content,
        )
    )
    return photo_id


async def add_reading(
    conn: AsyncConnection,
    *,
    supply_point_id: uuid.UUID,
    customer_number: str,
    reading: domain.Reading,
    verdict: domain.Verdict,
    photo_id: uuid.UUID | None,
    created_by: str,
    channel: str,
    idempotency_key: str | None,
    now: datetime,
) -> sa.Row:
    reading_id = uuid.uuid4()
    tenant = uuid.UUID(bound_tenant(conn))
    await conn.execute(
        readings.insert().values(
            id=reading_id,
            tenant_id=tenant,
            supply_point_id=supply_point_id,
            customer_number=customer_number,
            read_on=reading.read_on,
            source=reading.source,
            status=verdict.status,
            consumption_kwh=verdict.consumption_kwh,
            photo_id=photo_id,
            created_by=created_by,
            channel=channel,
            idempotency_key=idempotency_key,
            created_at=now,
        )
    )
    await conn.execute(
        reading_values.insert(),
        [{"reading_id": reading_id, "register": r, "tenant_id": tenant, "value": v} for r, v in reading.values.items()],
    )
    return (await _run(conn, "by_id", id=reading_id)).one()


async def add_many(conn: AsyncConnection, rows: Sequence[dict[str, Any]], values: Sequence[dict[str, Any]]) -> int:
    """Bulk insert of readings with given ids (the demo seed); those stored before are left as they are. Returns
    how many readings were new."""
    if not rows:
        return 0
    inserted = await conn.execute(
        insert(readings).on_conflict_do_nothing(index_elements=["id"]).returning(readings.c.id), list(rows)
    )
    new = {r.id for r in inserted}
    fresh = [v for v in values if v["reading_id"] in new]
    if fresh:
        await conn.execute(reading_values.insert(), fresh)
    return len(new)
