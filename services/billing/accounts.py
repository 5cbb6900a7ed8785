"""What billing learns from the accounts service: a supply point's facts, asked with the caller's context (so
accounts decides whether the caller may see it), the contract policy on it, and the tenant's time zone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from portal.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from portal.common.v1 import common_pb2

from kit import context, guard
from kit.matrix import PermissionMatrices, as_system

from . import domain

TTL_SECONDS = 60.0


@dataclass(frozen=True)
class SupplyPoint:
    id: uuid.UUID
    customer_number: str
    facts: domain.Point


class Accounts:
    def __init__(self, stub: accounts_pb2_grpc.AccountsServiceStub) -> None:
        self.stub = stub
        self.matrices = PermissionMatrices(stub, "billing")
        self._tenants: dict[str, tuple[float, accounts_pb2.Tenant]] = {}

    async def supply_point(self, point_id: uuid.UUID, capability: str) -> SupplyPoint:
        """The point if the caller may see it (else accounts' not_found) and the contract policy on it allows
        `capability` to the caller (else forbidden)."""
        point = (
            await self.stub.GetSupplyPoint(accounts_pb2.GetSupplyPointRequest(supply_point_id=str(point_id)))
        ).supply_point
        contract_type = point.contract.contract_type
        if not point.HasField("contract"):
            # the caller may not read the contract; its type still decides the policy
            with as_system("billing"):
                request = accounts_pb2.GetSupplyPointRequest(supply_point_id=str(point_id))
                contract_type = (await self.stub.GetSupplyPoint(request)).supply_point.contract.contract_type
        policy = (await self.matrices.current()).get(contract_type, frozenset())
        guard.capability(capability, policy)
        return SupplyPoint(
            id=point_id,
            customer_number=point.customer_number,
            facts=domain.point_of(point),
        )

    async def point_as_system(self, supply_point_id: str) -> accounts_pb2.SupplyPoint:
        """A supply point with its contract, asked as the billing service (for work no customer's call carries)."""
        with as_system("billing"):
            request = accounts_pb2.GetSupplyPointRequest(supply_point_id=supply_point_id)
            return (await self.stub.GetSupplyPoint(request)).supply_point

    async def contract_types_allowing(self, capability: str) -> list[str]:
        """The contract types whose policy allows `capability` to the caller; none when the grant lacks it."""
        guard.capability(capability)
        return sorted(t for t, allowed in (await self.matrices.current()).items() if capability in allowed)

    async def tenant(self) -> accounts_pb2.Tenant:
        """The caller's tenant (brand, legal entity, languages, zone), kept a minute."""
        tenant_id = context.current().tenant_id
        hit = self._tenants.get(tenant_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        with as_system("billing"):
            found = (await self.stub.GetTenant(accounts_pb2.GetTenantRequest(tenant_id=tenant_id))).tenant
        self._tenants[tenant_id] = (time.monotonic() + TTL_SECONDS, found)
        return found

    async def zone(self) -> ZoneInfo:
        return ZoneInfo((await self.tenant()).time_zone)

    async def billable_points(self, page_token: str, size: int) -> tuple[list[accounts_pb2.SupplyPoint], str, int]:
        """One page of the tenant's supply points with their contracts, the next page's token, and (on the first
        page) how many there are."""
        with as_system("billing"):
            answer = await self.stub.ListBillablePoints(
                accounts_pb2.ListBillablePointsRequest(
                    page=common_pb2.PageRequest(page_size=size, page_token=page_token)
                )
            )
        return list(answer.supply_points), answer.page.next_page_token, answer.page.total_size

    async def customers(self, numbers: Iterable[str]) -> dict[str, accounts_pb2.Customer]:
        with as_system("billing"):
            answer = await self.stub.ListCustomers(
                accounts_pb2.ListCustomersRequest(customer_numbers=sorted(set(numbers)))
            )
        return {c.customer_number: c for c in answer.customers}
