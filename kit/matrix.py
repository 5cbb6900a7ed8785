"""The tenant's permission matrix (contract type → capabilities) as services other than accounts read it: asked of
accounts as the system, kept a minute per tenant, so the one table in accounts decides for every service. A tenant
administrator's change therefore reaches every service within that minute; a service that consumes accounts'
PermissionMatrixChanged `forget`s the tenant's copy at once (one replica gets each event, the others wait out the
minute)."""

from __future__ import annotations

import time

from portal.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from kit import context

TTL_SECONDS = 60.0


def as_system(service: str) -> context.bound:
    """The caller's call context acting as `service`, for what the caller may not ask itself."""
    ctx = context.current()
    return context.bound(ctx.with_(subject_kind=context.SYSTEM, subject=service))


class PermissionMatrices:
    def __init__(self, stub: accounts_pb2_grpc.AccountsServiceStub, service: str) -> None:
        self.stub = stub
        self.service = service
        self._kept: dict[str, tuple[float, dict[str, frozenset[str]]]] = {}

    async def current(self) -> dict[str, frozenset[str]]:
        tenant = context.current().tenant_id
        hit = self._kept.get(tenant)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        with as_system(self.service):
            rows = (await self.stub.GetPermissionMatrix(accounts_pb2.GetPermissionMatrixRequest())).rows
        matrix = {r.contract_type: frozenset(r.capabilities) for r in rows}
        self._kept[tenant] = (time.monotonic() + TTL_SECONDS, matrix)
        return matrix

    def forget(self, tenant_id: str) -> None:
        self._kept.pop(tenant_id, None)
