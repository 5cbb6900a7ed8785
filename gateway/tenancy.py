"""The tenant of a request, from its Host header, asked of the accounts service and cached briefly."""

from __future__ import annotations

import time

from portal.accounts.v1 import accounts_pb2
from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub

from kit import context
from kit.errors import DomainError

# a brand's settings change rarely; a minute of staleness is the price of not asking on every request
TTL_SECONDS = 60.0
# unknown hosts are cached too, so a flood of made-up hosts costs one lookup each per TTL
MAX_ENTRIES = 10_000


class UnknownHost(Exception):
    pass


class TenantResolver:
    def __init__(self, accounts: AccountsServiceStub) -> None:
        self.accounts = accounts
        self._cache: dict[str, tuple[float, accounts_pb2.Tenant | None]] = {}

    async def resolve(self, host: str) -> accounts_pb2.Tenant:
        key = host.lower()
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            tenant = hit[1]
        else:
            try:
                with context.bound(context.CallContext(subject_kind=context.ANONYMOUS)):
                    tenant = (await self.accounts.GetTenantByHost(accounts_pb2.GetTenantByHostRequest(host=key))).tenant
            except DomainError as err:
                if err.reason not in ("tenant.unknown_host", "host.invalid"):
                    raise
                tenant = None
            if len(self._cache) >= MAX_ENTRIES:
                self._cache.clear()
            self._cache[key] = (now + TTL_SECONDS, tenant)
        if tenant is None:
            raise UnknownHost(host)
        return tenant
