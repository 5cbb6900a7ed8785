"""The brands whose names and hosts go into messages, asked of the accounts service and kept for a while."""

from __future__ import annotations

import time

from portal.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from kit import context

TTL_SECONDS = 300.0


class TenantDirectory:
    def __init__(self, accounts: accounts_pb2_grpc.AccountsServiceStub) -> None:
        self.accounts = accounts
        self._cache: dict[str, tuple[float, accounts_pb2.Tenant]] = {}

    async def get(self, tenant_id: str) -> accounts_pb2.Tenant:
        hit = self._cache.get(tenant_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        with context.bound(context.current().with_(tenant_id=tenant_id, subject_kind=context.SYSTEM)):
            resp = await self.accounts.GetTenant(accounts_pb2.GetTenantRequest(tenant_id=tenant_id))
        self._cache[tenant_id] = (time.monotonic() + TTL_SECONDS, resp.tenant)
        return resp.tenant
