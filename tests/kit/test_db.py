"""Tenancy in the database: row-level security keeps tenants apart even without the application's filter."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from kit import db as kitdb
from kit.migrations import migrate

from .conftest import MIGRATIONS

widgets = sa.table("widgets", sa.column("id"), sa.column("tenant_id"), sa.column("name"))

A, B = str(uuid.uuid4()), str(uuid.uuid4())


async def _add(db, tenant: str, name: str) -> uuid.UUID:
    wid = uuid.uuid4()
    async with db.tenant(tenant) as conn:
        await conn.execute(widgets.insert().values(id=wid, tenant_id=uuid.UUID(tenant), name=name))
    return wid


async def test_tenant_sees_only_its_rows_by_rls_alone(widgets_db, monkeypatch):
    wa = await _add(widgets_db, A, "a-widget")
    await _add(widgets_db, B, "b-widget")
    monkeypatch.setattr(kitdb, "APPLICATION_TENANT_FILTER", False)
    async with widgets_db.tenant(A) as conn:
        names = (await conn.execute(sa.select(widgets.c.name).where(kitdb.scoped(conn, widgets)))).scalars().all()
        # guessing another tenant's id finds nothing
        other = (await conn.execute(sa.select(widgets.c.id).where(widgets.c.name == "b-widget"))).first()
        own = (await conn.execute(sa.select(widgets.c.id).where(widgets.c.id == wa))).first()
    assert names == ["a-widget"]
    assert other is None
    assert own is not None


async def test_writing_a_row_for_another_tenant_is_refused(widgets_db):
    with pytest.raises(Exception, match="row-level security"):
        async with widgets_db.tenant(A) as conn:
            await conn.execute(widgets.insert().values(id=uuid.uuid4(), tenant_id=uuid.UUID(B), name="sneaky"))
    async with widgets_db.system() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).select_from(widgets).where(widgets.c.name == "sneaky"))
    assert count == 0


async def test_without_a_bound_tenant_nothing_is_visible(widgets_db):
    await _add(widgets_db, A, "unbound-check")
    async with widgets_db.engine.begin() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).select_from(widgets))
    assert count == 0


async def test_system_transaction_sees_every_tenant(widgets_db):
    await _add(widgets_db, A, "sys-a")
    await _add(widgets_db, B, "sys-b")
    async with widgets_db.system() as conn:
        names = set((await conn.execute(sa.select(widgets.c.name).where(widgets.c.name.like("sys-%")))).scalars())
    assert names == {"sys-a", "sys-b"}


async def test_service_role_cannot_touch_another_schema(widgets_db, infra):
    other = f"widgets_{uuid.uuid4().hex[:6]}"
    await migrate(infra.admin_url, other, MIGRATIONS)
    with pytest.raises(Exception, match="permission denied"):
        async with widgets_db.tenant(A) as conn:
            await conn.execute(sa.text(f'SELECT count(*) FROM "{other}".widgets'))


async def test_migrations_are_idempotent_and_every_table_has_rls(widgets_db, infra):
    await migrate(infra.admin_url, widgets_db.service, MIGRATIONS)
    async with widgets_db.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
                    "WHERE n.nspname = :s AND c.relkind = 'r'"
                ),
                {"s": widgets_db.service},
            )
        ).all()
    assert {r.relname for r in rows} >= {"widgets", "outbox", "processed_events", "audit_log"}
    assert all(r.relrowsecurity and r.relforcerowsecurity for r in rows), rows
