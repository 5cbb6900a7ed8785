"""The demo logins, their grants and the demo OAuth clients (kit/demo.py); idempotent, runs on every demo start."""

from __future__ import annotations

from datetime import UTC, datetime

from kit import demo
from kit.db import upsert
from kit.service import Runtime

from . import domain, store
from .oauth_flow import WEB_CLIENT_ID


async def seed(rt: Runtime) -> None:
    now = datetime.now(UTC)
    password_hash = domain.hash_password(demo.DEMO_PASSWORD)
    for t in demo.tenants():
        async with rt.db.tenant(t.id) as conn:
            users = demo.users(t.slug)
            # existing logins keep what their owners changed since (password, e-mail, second factor)
            await upsert(
                conn,
                store.users,
                [
                    {
                        "id": u.id,
                        "tenant_id": t.id,
                        "email": u.email,
                        "password_hash": password_hash,
                        "email_verified_at": now,
                        "locale": u.locale,
                        "kind": u.kind,
                        "staff_roles": list(u.staff_roles),
                        "created_at": now,
                    }
                    for u in users
                ],
                update=[],
            )
            await upsert(
                conn,
                store.grants,
                [
                    {
                        "id": g.id,
                        "tenant_id": t.id,
                        "user_id": u.id,
                        "customer_number": g.customer_number,
                        "role": g.role,
                        "capabilities": sorted(g.capabilities),
                        "supply_point_ids": sorted(g.supply_point_ids) if g.supply_point_ids is not None else None,
                        "expires_at": g.expires_at,
                        "created_at": now,
                    }
                    for u in users
                    for g in u.grants
                ],
                update=[],
            )
            await upsert(
                conn,
                store.oauth_clients,
                [
                    {
                        "tenant_id": t.id,
                        "client_id": c.client_id,
                        "name": c.name,
                        "secret_hash": None,
                        "redirect_uris": list(c.redirect_uris),
                        "scopes": list(c.scopes),
                        "trusted": c.first_party,
                        "created_at": now,
                    }
                    for c in demo.oauth_clients(t.slug)
                    if c.client_id != WEB_CLIENT_ID and c.public
                ],
            )
