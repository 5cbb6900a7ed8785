"""The default request catalog for every demo tenant; idempotent, and a tenant's own changes to it stay."""

from __future__ import annotations

from kit import demo
from kit.service import Runtime

from . import domain, store


async def seed(rt: Runtime) -> None:
    for t in demo.tenants():
        async with rt.db.tenant(t.id) as conn:
            await store.put_catalog(conn, domain.DEFAULT_CATALOG + domain.IMMEDIATE_CATALOG)
