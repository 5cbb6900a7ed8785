"""The audit trail every service keeps of changes to personal and contract data, in its own schema, and its
listing for tenant administrators (each service answers `ListAudit` for its own trail with `listing`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from portal.common.v1 import common_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import authz, context, fields, guard
from kit.db import Database, bound_tenant, scoped
from kit.errors import DomainError

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
MAX_FILTER = 200

Response = TypeVar("Response")

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
    sa.Column("customer_number", sa.Text, nullable=False),
)


async def record(
    conn: AsyncConnection,
    entity: str,
    entity_id: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    customer_number: str = "",
) -> None:
    """Records who (from the call context) changed `entity` in the caller's transaction; `customer_number` is the
    customer it concerns, where there is one (the staff console filters the log by it)."""
    ctx = context.current()
    # only when given, so a service whose trail has no such column yet still records
    concerning = {"customer_number": customer_number} if customer_number else {}
    await conn.execute(
        audit_log.insert().values(
            **concerning,
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


@dataclass(frozen=True)
class Query:
    actor: str
    entity: str
    entity_id: str
    customer_number: str
    since: datetime | None
    until: datetime | None
    # keyset: entries older than this id (ids grow with time)
    before_id: int | None
    size: int


def query(wanted: common_pb2.AuditFilter, page: common_pb2.PageRequest) -> Query:
    """The listing asked for, checked before any connection is taken."""
    size = page.page_size or DEFAULT_PAGE_SIZE
    if not 0 < size <= MAX_PAGE_SIZE:
        raise DomainError("page_size.invalid", field="page_size")
    before_id = None
    if page.page_token:
        # at most 18 digits: any such number fits the bigint id column
        if not (page.page_token.isascii() and page.page_token.isdigit()) or len(page.page_token) > 18:
            raise DomainError("page_token.invalid", field="page_token")
        before_id = int(page.page_token)
    since = wanted.since.ToDatetime(tzinfo=UTC) if wanted.HasField("since") else None
    until = wanted.until.ToDatetime(tzinfo=UTC) if wanted.HasField("until") else None
    if since is not None and until is not None and until <= since:
        raise DomainError("audit.period_invalid", field="until")
    return Query(
        actor=wanted.actor.strip()[:MAX_FILTER],
        entity=wanted.entity.strip()[:MAX_FILTER],
        entity_id=wanted.entity_id.strip()[:MAX_FILTER],
        customer_number=wanted.customer_number.strip()[:MAX_FILTER],
        since=since,
        until=until,
        before_id=before_id,
        size=size,
    )


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


async def listing(conn: AsyncConnection, q: Query) -> tuple[list[common_pb2.AuditEntry], str]:
    """One page of the tenant's trail, newest first, and the token of the next page ("" at the end)."""
    stmt = sa.select(audit_log).where(scoped(conn, audit_log))
    for column, value in (
        (audit_log.c.actor, q.actor),
        (audit_log.c.entity, q.entity),
        (audit_log.c.entity_id, q.entity_id),
        (audit_log.c.customer_number, q.customer_number),
    ):
        if value:
            stmt = stmt.where(column == value)
    if q.since is not None:
        stmt = stmt.where(audit_log.c.at >= q.since)
    if q.until is not None:
        stmt = stmt.where(audit_log.c.at < q.until)
    if q.before_id is not None:
        stmt = stmt.where(audit_log.c.id < q.before_id)
    rows = list((await conn.execute(stmt.order_by(audit_log.c.id.desc()).limit(q.size + 1))).all())
    shown = rows[: q.size]
    entries = [
        common_pb2.AuditEntry(
            id=str(r.id),
            at=fields.timestamp(r.at),
            actor=r.actor,
            actor_kind=r.actor_kind,
            channel=r.channel,
            entity=r.entity,
            entity_id=r.entity_id,
            action=r.action,
            before_json=_json(r.before),
            after_json=_json(r.after),
            customer_number=r.customer_number,
        )
        for r in shown
    ]
    return entries, str(shown[-1].id) if len(rows) > q.size else ""


async def list_audit(db: Database, request: Any, response: Callable[..., Response]) -> Response:
    """A service's `ListAudit`: tenant administrators (or the system) read the trail of the caller's tenant."""
    guard.staff_capability(authz.AUDIT_READ)
    q = query(request.filter, request.page)
    async with db.tenant() as conn:
        entries, token = await listing(conn, q)
    return response(entries=entries, page=common_pb2.PageInfo(next_page_token=token))
