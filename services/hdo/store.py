"""All SQL of the hdo service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kit.db import bound_tenant, scoped

from . import domain

metadata = sa.MetaData()

schedule_imports = sa.Table(
    "schedule_imports",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("format", sa.Text),
    sa.Column("file_name", sa.Text),
    sa.Column("file_hash", sa.Text),
    sa.Column("codes", sa.Integer),
    sa.Column("changed", sa.Integer),
    sa.Column("imported_by", sa.Text),
    sa.Column("imported_at", sa.DateTime(timezone=True)),
)

schedule_versions = sa.Table(
    "schedule_versions",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("code", sa.Text),
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_to", sa.Date),
    sa.Column("effective_from", sa.Date),
    sa.Column("content_hash", sa.Text),
    sa.Column("schedule", JSONB),
    sa.Column("source_format", sa.Text),
    sa.Column("import_id", sa.Uuid),
    sa.Column("imported_at", sa.DateTime(timezone=True)),
)

outages = sa.Table(
    "outages",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("operator", sa.Text),
    sa.Column("external_id", sa.Text),
    sa.Column("version", sa.Integer),
    sa.Column("state", sa.Text),
    sa.Column("starts_at", sa.DateTime(timezone=True)),
    sa.Column("ends_at", sa.DateTime(timezone=True)),
    sa.Column("reason", sa.Text),
    sa.Column("eans", ARRAY(sa.Text)),
    sa.Column("areas", JSONB),
    sa.Column("content_hash", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

# one import at a time per tenant, so each sees the versions the one before it stored
_IMPORT_LOCK = "hdo.import"


async def lock_imports(conn: AsyncConnection) -> None:
    key = sa.func.hashtext(_IMPORT_LOCK + bound_tenant(conn))
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


async def add_import(
    conn: AsyncConnection, *, fmt: str, file_name: str, file_hash: str, imported_by: str, now: datetime
) -> uuid.UUID:
    import_id = uuid.uuid4()
    await conn.execute(
        schedule_imports.insert().values(
            id=import_id,
            tenant_id=uuid.UUID(bound_tenant(conn)),
            format=fmt,
            file_name=file_name,
            file_hash=file_hash,
            codes=0,
            changed=0,
            imported_by=imported_by,
            imported_at=now,
        )
    )
    return import_id


async def finish_import(conn: AsyncConnection, import_id: uuid.UUID, codes: int, changed: int) -> None:
    await conn.execute(
        schedule_imports.update()
        .where(schedule_imports.c.id == import_id, scoped(conn, schedule_imports))
        .values(codes=codes, changed=changed)
    )


async def add_version(
    conn: AsyncConnection,
    schedule: domain.CodeSchedule,
    *,
    effective_from: date,
    source_format: str,
    import_id: uuid.UUID,
    now: datetime,
) -> bool:
    """Stores a version unless the same switching times are stored already; says whether it stored one."""
    inserted = await conn.execute(
        insert(schedule_versions)
        .values(
            tenant_id=uuid.UUID(bound_tenant(conn)),
            code=schedule.code,
            valid_from=schedule.valid_from,
            valid_to=schedule.valid_to,
            effective_from=effective_from,
            content_hash=schedule.content_hash(),
            schedule=schedule.as_json(),
            source_format=source_format,
            import_id=import_id,
            imported_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "code", "content_hash"])
        .returning(schedule_versions.c.id)
    )
    return inserted.first() is not None


async def known_hashes(conn: AsyncConnection, codes: Sequence[str]) -> set[tuple[str, str]]:
    rows = await conn.execute(
        sa.select(schedule_versions.c.code, schedule_versions.c.content_hash).where(
            scoped(conn, schedule_versions), schedule_versions.c.code.in_(list(codes))
        )
    )
    return {(r.code, r.content_hash) for r in rows}


async def validity_of(conn: AsyncConnection, codes: Sequence[str]) -> dict[str, list[tuple[date, date | None]]]:
    """The validity periods stored per code, for placing a new import's effective start."""
    rows = await conn.execute(
        sa.select(schedule_versions.c.code, schedule_versions.c.valid_from, schedule_versions.c.valid_to).where(
            scoped(conn, schedule_versions), schedule_versions.c.code.in_(list(codes))
        )
    )
    result: dict[str, list[tuple[date, date | None]]] = {}
    for r in rows:
        result.setdefault(r.code, []).append((r.valid_from, r.valid_to))
    return result


async def versions(conn: AsyncConnection, code: str, first: date, last: date) -> list[sa.Row]:
    """Every version of `code` that may answer for a day between `first` and `last`, oldest import first; without
    the switching times themselves (see `schedules`)."""
    rows = await conn.execute(
        sa.select(*(c for c in schedule_versions.c if c.name != "schedule"))
        .where(
            scoped(conn, schedule_versions),
            schedule_versions.c.code == code,
            schedule_versions.c.effective_from <= last,
            sa.or_(schedule_versions.c.valid_to.is_(None), schedule_versions.c.valid_to > first),
        )
        .order_by(schedule_versions.c.id)
    )
    return list(rows.all())


async def schedules(conn: AsyncConnection, version_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    rows = await conn.execute(
        sa.select(schedule_versions.c.id, schedule_versions.c.schedule).where(
            scoped(conn, schedule_versions), schedule_versions.c.id.in_(list(version_ids))
        )
    )
    return {r.id: r.schedule for r in rows}


async def outages_by_external_id(conn: AsyncConnection, operator: str, external_ids: Sequence[str]) -> dict[str, Any]:
    rows = await conn.execute(
        sa.select(outages)
        .where(scoped(conn, outages), outages.c.operator == operator, outages.c.external_id.in_(list(external_ids)))
        .with_for_update()
    )
    return {r.external_id: r for r in rows}


def _outage_values(notice: domain.OutageNotice, state: str, version: int, now: datetime) -> dict[str, Any]:
    return {
        "version": version,
        "state": state,
        "starts_at": notice.starts_at,
        "ends_at": notice.ends_at,
        "reason": notice.reason,
        "eans": list(notice.eans),
        "areas": [a.__dict__ for a in notice.areas],
        "content_hash": notice.content_hash(),
        "updated_at": now,
    }


async def save_outage(
    conn: AsyncConnection,
    notice: domain.OutageNotice,
    *,
    outage_id: uuid.UUID | None,
    state: str,
    version: int,
    now: datetime,
) -> sa.Row:
    values = _outage_values(notice, state, version, now)
    if outage_id is None:
        stmt = outages.insert().values(
            id=uuid.uuid4(),
            tenant_id=uuid.UUID(bound_tenant(conn)),
            operator=notice.operator,
            external_id=notice.external_id,
            created_at=now,
            **values,
        )
    else:
        stmt = outages.update().where(outages.c.id == outage_id, scoped(conn, outages)).values(**values)
    return (await conn.execute(stmt.returning(*outages.c))).one()


async def outages_ending_after(
    conn: AsyncConnection, after: datetime, eans: Sequence[str] | None, *, include_cancelled: bool
) -> list[sa.Row]:
    """Candidates for matching: those naming one of `eans`, and every one with address areas; all when `eans` is
    None."""
    query = sa.select(outages).where(scoped(conn, outages), outages.c.ends_at > after)
    if eans is not None:
        query = query.where(sa.or_(outages.c.eans.overlap(list(eans)), outages.c.areas != sa.cast([], JSONB)))
    if not include_cancelled:
        query = query.where(outages.c.state != domain.CANCELLED)
    return list((await conn.execute(query.order_by(outages.c.starts_at, outages.c.id))).all())
