"""All SQL of the requests service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import context
from kit.db import bound_tenant, scoped

from . import domain

metadata = sa.MetaData()

catalog = sa.Table(
    "catalog",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text),
    sa.Column("capability", sa.Text),
    sa.Column("fields", JSONB),
    sa.Column("deadline_days", sa.Integer),
    sa.Column("needs_supply_point", sa.Boolean),
    sa.Column("position", sa.Integer),
    sa.Column("offered", sa.Boolean),
    sa.Column("contract_types", ARRAY(sa.Text)),
)

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("customer_number", sa.Text),
    sa.Column("supply_point_id", sa.Uuid),
    sa.Column("contract_id", sa.Uuid),
    sa.Column("contract_type", sa.Text),
    sa.Column("type", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("state", sa.Text),
    sa.Column("assignee", sa.Text),
    sa.Column("assignee_name", sa.Text),
    sa.Column("deadline_at", sa.DateTime(timezone=True)),
    sa.Column("escalated_at", sa.DateTime(timezone=True)),
    sa.Column("payload", JSONB),
    sa.Column("created_by", sa.Text),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

request_events = sa.Table(
    "request_events",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("request_id", sa.Uuid),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("actor_kind", sa.Text),
    sa.Column("actor", sa.Text),
    sa.Column("action", sa.Text),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("internal", sa.Boolean),
)


request_attachments = sa.Table(
    "request_attachments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("request_id", sa.Uuid),
    sa.Column("file_name", sa.Text),
    sa.Column("content_type", sa.Text),
    sa.Column("size", sa.Integer),
    sa.Column("content", sa.LargeBinary),
)


def as_type(row: sa.Row) -> domain.RequestType:
    return domain.RequestType(
        code=row.code,
        kind=row.kind,
        capability=row.capability,
        fields=tuple(domain.Field.from_json(f) for f in row.fields),
        deadline_days=row.deadline_days,
        needs_supply_point=row.needs_supply_point,
        offered=row.offered,
        contract_types=tuple(row.contract_types) if row.contract_types is not None else None,
        position=row.position,
    )


async def put_catalog(conn: AsyncConnection, types: Sequence[domain.RequestType]) -> None:
    """The tenant's catalog as given, when it has none of these types yet; a tenant's own changes stay."""
    tenant = uuid.UUID(bound_tenant(conn))
    rows = [
        {
            "tenant_id": tenant,
            "code": t.code,
            "kind": t.kind,
            "capability": t.capability,
            "fields": [f.as_json() for f in t.fields],
            "deadline_days": t.deadline_days,
            "needs_supply_point": t.needs_supply_point,
            "position": i,
        }
        for i, t in enumerate(types)
    ]
    await conn.execute(insert(catalog).on_conflict_do_nothing(), rows)


async def catalog_of(conn: AsyncConnection) -> list[domain.RequestType]:
    query = sa.select(catalog).where(scoped(conn, catalog)).order_by(catalog.c.position, catalog.c.code)
    return [as_type(r) for r in (await conn.execute(query)).all()]


async def catalog_entry(conn: AsyncConnection, code: str) -> domain.RequestType | None:
    """One type of the tenant's catalog, locked until the transaction ends."""
    query = sa.select(catalog).where(scoped(conn, catalog), catalog.c.code == code).with_for_update()
    row = (await conn.execute(query)).first()
    return as_type(row) if row is not None else None


async def put_catalog_entry(conn: AsyncConnection, entry: domain.RequestType) -> None:
    await conn.execute(
        catalog.update()
        .where(scoped(conn, catalog), catalog.c.code == entry.code)
        .values(
            offered=entry.offered,
            deadline_days=entry.deadline_days,
            contract_types=list(entry.contract_types) if entry.contract_types is not None else None,
            position=entry.position,
        )
    )


async def add(
    conn: AsyncConnection,
    *,
    customer_number: str,
    supply_point_id: uuid.UUID | None,
    contract_id: uuid.UUID | None,
    contract_type: str,
    request_type: str,
    channel: str,
    payload: dict[str, str],
    deadline_at: datetime,
    created_by: str,
    idempotency_key: str | None,
    now: datetime,
    state: str = domain.SUBMITTED,
) -> sa.Row | None:
    """The new request, or None when the customer's idempotency key was used before (nothing stored)."""
    stmt = (
        insert(requests)
        .values(
            id=uuid.uuid4(),
            tenant_id=uuid.UUID(bound_tenant(conn)),
            customer_number=customer_number,
            supply_point_id=supply_point_id,
            contract_id=contract_id,
            contract_type=contract_type,
            type=request_type,
            channel=channel,
            state=state,
            assignee="",
            assignee_name="",
            deadline_at=deadline_at,
            payload=payload,
            created_by=created_by,
            idempotency_key=idempotency_key,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "customer_number", "idempotency_key"])
        .returning(*requests.c)
    )
    return (await conn.execute(stmt)).first()


async def by_idempotency_key(conn: AsyncConnection, customer_number: str, key: str) -> sa.Row | None:
    query = sa.select(requests).where(
        scoped(conn, requests), requests.c.customer_number == customer_number, requests.c.idempotency_key == key
    )
    return (await conn.execute(query)).first()


async def get(conn: AsyncConnection, request_id: uuid.UUID, *, lock: bool = False) -> sa.Row | None:
    query = sa.select(requests).where(scoped(conn, requests), requests.c.id == request_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def update(conn: AsyncConnection, request_id: uuid.UUID, now: datetime, **values: Any) -> sa.Row:
    stmt = (
        requests.update()
        .where(scoped(conn, requests), requests.c.id == request_id)
        .values(updated_at=now, **values)
        .returning(*requests.c)
    )
    return (await conn.execute(stmt)).one()


async def add_event(
    conn: AsyncConnection,
    request_id: uuid.UUID,
    action: str,
    now: datetime,
    *,
    from_state: str = "",
    to_state: str = "",
    text: str = "",
    internal: bool = False,
) -> None:
    """One line of the request's timeline, by the caller of the call context."""
    ctx = context.current()
    await conn.execute(
        request_events.insert().values(
            tenant_id=uuid.UUID(bound_tenant(conn)),
            request_id=request_id,
            at=now,
            actor_kind=ctx.subject_kind,
            actor=ctx.subject,
            action=action,
            from_state=from_state,
            to_state=to_state,
            text=text,
            internal=internal,
        )
    )


async def timeline(conn: AsyncConnection, request_id: uuid.UUID, *, with_internal: bool) -> list[sa.Row]:
    query = sa.select(request_events).where(scoped(conn, request_events), request_events.c.request_id == request_id)
    if not with_internal:
        query = query.where(request_events.c.internal.is_(False))
    return list((await conn.execute(query.order_by(request_events.c.id))).all())


async def of_customers(
    conn: AsyncConnection,
    customer_numbers: Sequence[str],
    supply_point_ids: Sequence[str] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[sa.Row], int]:
    """A page of the customers' requests newest first (keyset) and how many they have; `supply_point_ids` (a
    delegate's subset) leaves out requests on other points and those on none."""
    where = [scoped(conn, requests), requests.c.customer_number.in_(list(customer_numbers))]
    if supply_point_ids is not None:
        where.append(requests.c.supply_point_id.in_([uuid.UUID(i) for i in supply_point_ids]))
    query = sa.select(requests).where(*where)
    if after is not None:
        query = query.where(sa.tuple_(requests.c.created_at, requests.c.id) < sa.tuple_(*after))
    rows = await conn.execute(query.order_by(requests.c.created_at.desc(), requests.c.id.desc()).limit(limit + 1))
    total = await conn.scalar(sa.select(sa.func.count()).select_from(requests).where(*where))
    return list(rows.all()), total or 0


async def queue(
    conn: AsyncConnection,
    *,
    states: Sequence[str],
    request_type: str,
    assignee: str | None,
    overdue_at: datetime | None,
    customer_numbers: Sequence[str],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[sa.Row]:
    """The staff queue: requests in `states` by deadline, earliest first (keyset on deadline and id, which the
    partial indexes on open requests serve); `assignee` "" means unassigned, None any; `overdue_at` keeps those whose
    deadline passed by then while it was the supplier's turn."""
    query = sa.select(requests).where(scoped(conn, requests), requests.c.state.in_(list(states)))
    if request_type:
        query = query.where(requests.c.type == request_type)
    if assignee is not None:
        query = query.where(requests.c.assignee == assignee)
    if overdue_at is not None:
        query = query.where(requests.c.deadline_at < overdue_at, requests.c.state.in_(list(domain.SUPPLIER_TURN)))
    if customer_numbers:
        query = query.where(requests.c.customer_number.in_(list(customer_numbers)))
    if after is not None:
        query = query.where(sa.tuple_(requests.c.deadline_at, requests.c.id) > sa.tuple_(*after))
    query = query.order_by(requests.c.deadline_at, requests.c.id).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def to_escalate(conn: AsyncConnection, now: datetime, limit: int) -> list[sa.Row]:
    """Across tenants (a system transaction): open requests past their deadline not escalated yet."""
    query = (
        sa.select(requests.c.id, requests.c.tenant_id)
        .where(
            requests.c.escalated_at.is_(None),
            requests.c.state.in_(list(domain.SUPPLIER_TURN)),
            requests.c.deadline_at < now,
        )
        .order_by(requests.c.deadline_at)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def mark_escalated(conn: AsyncConnection, request_id: uuid.UUID, now: datetime) -> sa.Row | None:
    """Claims the escalation once: None when another run (or a change of state) came first."""
    stmt = (
        requests.update()
        .where(
            scoped(conn, requests),
            requests.c.id == request_id,
            requests.c.escalated_at.is_(None),
            requests.c.state.in_(list(domain.SUPPLIER_TURN)),
            requests.c.deadline_at < now,
        )
        .values(escalated_at=now)
        .returning(*requests.c)
    )
    return (await conn.execute(stmt)).first()


async def add_attachments(conn: AsyncConnection, request_id: uuid.UUID, files: Sequence[domain.Attachment]) -> None:
    if not files:
        return
    tenant = uuid.UUID(bound_tenant(conn))
    await conn.execute(
        request_attachments.insert(),
        [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant,
                "request_id": request_id,
                "file_name": f.file_name,
                "content_type": f.content_type,
                "size": len(f.content),
                "content": f.content,
            }
            for f in files
        ],
    )


async def attachments_of(conn: AsyncConnection, request_id: uuid.UUID) -> list[sa.Row]:
    """The request's files without their content."""
    c = request_attachments.c
    query = (
        sa.select(c.id, c.file_name, c.content_type, c.size)
        .where(scoped(conn, request_attachments), c.request_id == request_id)
        .order_by(c.file_name, c.id)
    )
    return list((await conn.execute(query)).all())


async def attachment(conn: AsyncConnection, request_id: uuid.UUID, attachment_id: uuid.UUID) -> sa.Row | None:
    c = request_attachments.c
    query = sa.select(request_attachments).where(
        scoped(conn, request_attachments), c.request_id == request_id, c.id == attachment_id
    )
    return (await conn.execute(query)).first()


async def attachment_count(conn: AsyncConnection, request_id: uuid.UUID) -> int:
    c = request_attachments.c
    query = sa.select(sa.func.count()).where(scoped(conn, request_attachments), c.request_id == request_id)
    return await conn.scalar(query) or 0
