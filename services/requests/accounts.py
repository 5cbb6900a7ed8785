"""What the requests service learns from accounts: a supply point asked with the caller's context (so accounts decides
whether the caller may see it), its contract, and the tenant's permission matrix, which stays in accounts — the one
place that says what each contract type allows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from portal.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from kit import context
from kit.matrix import PermissionMatrices, as_system


@dataclass(frozen=True)
class PointContract:
    supply_point_id: uuid.UUID
    customer_number: str
    contract_id: uuid.UUID | None
    contract_type: str


class Accounts:
    def __init__(self, stub: accounts_pb2_grpc.AccountsServiceStub) -> None:
        self.stub = stub
        self.matrices = PermissionMatrices(stub, "requests")

    async def point(self, point_id: uuid.UUID) -> PointContract:
        """The point if the caller may see it (else accounts' not_found), with its contract even where the caller
        may not read the contract: its type still decides what may be asked for."""
        request = accounts_pb2.GetSupplyPointRequest(supply_point_id=str(point_id))
        point = (await self.stub.GetSupplyPoint(request)).supply_point
        if not point.HasField("contract"):
            with as_system("requests"):
                point = (await self.stub.GetSupplyPoint(request)).supply_point
        contract = point.contract
        return PointContract(
            supply_point_id=point_id,
            customer_number=point.customer_number,
            contract_id=uuid.UUID(contract.id) if contract.id else None,
            contract_type=contract.contract_type,
        )

    async def locale(self) -> str:
        """The tenant's default language, in which the system's own reasons in a timeline are written."""
        with as_system("requests"):
            tenant_id = context.current().tenant_id
            found = await self.stub.GetTenant(accounts_pb2.GetTenantRequest(tenant_id=tenant_id))
        return found.tenant.default_locale

    async def matrix(self) -> dict[str, frozenset[str]]:
        """Contract type → capabilities."""
        return await self.matrices.current()
