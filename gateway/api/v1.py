"""JSON API v1: the customer's data for bearer tokens issued by the portal's OAuth2/OIDC server."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import Parameter
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2

from kit import context

from ..principal import Principal, call_context, granted_supply_points, require_supply_point
from ..services import Services
from . import schemas


def _ctx(request: Request, principal: Principal, customer_number: str = "") -> context.CallContext:
    return call_context(
        request.state.tenant,
        principal,
        customer_number=customer_number,
        client_address=request.client.host if request.client else "",
        request_id=request.state.request_id,
    )


class ApiV1(Controller):
    path = "/api/v1"
    tags = ["customer"]
    security = [{"bearer": []}]

    @get("/me", summary="The signed-in user and the customer numbers they may act for")
    async def me(self, request: Request, principal: Principal) -> schemas.Me:
        return schemas.Me(
            id=principal.user.id,
            email=principal.user.email,
            email_verified=principal.user.email_verified,
            locale=principal.user.locale,
            customer_numbers=list(principal.customer_numbers),
            grants=[
                schemas.Grant(customer_number=g.customer_number, role=g.role, capabilities=sorted(g.capabilities))
                for g in principal.grants
                if g.customer_number in principal.customer_numbers
            ],
        )

    @get("/customers/{customer_number:str}", summary="A customer (name, contact data, addresses)")
    async def customer(
        self, request: Request, principal: Principal, services: Services, customer_number: str
    ) -> schemas.Customer:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=customer_number))
        return schemas.customer(resp.customer)

    @get(
        "/customers/{customer_number:str}/supply-points",
        summary="The customer's supply points, paged and searchable",
    )
    async def supply_points(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        q: Annotated[str, Parameter(description="EAN/EIC prefix, city, street or postal code", max_length=100)] = "",
        commodity: Annotated[str, Parameter(description="electricity or gas", max_length=20)] = "",
        page_size: Annotated[int, Parameter(ge=1, le=100)] = 25,
        page_token: Annotated[str, Parameter(max_length=200)] = "",
    ) -> schemas.SupplyPointPage:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.ListSupplyPoints(
                accounts_pb2.ListSupplyPointsRequest(
                    customer_numbers=[customer_number],
                    query=q,
                    commodity=commodity,
                    page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
                    supply_point_ids=granted_supply_points(principal, customer_number),
                )
            )
        return schemas.SupplyPointPage(
            items=[schemas.supply_point(p) for p in resp.supply_points],
            total=resp.page.total_size,
            electricity_count=resp.electricity_count,
            gas_count=resp.gas_count,
            next_page_token=resp.page.next_page_token or None,
        )

    @get(
        "/customers/{customer_number:str}/supply-points/{supply_point_id:str}",
        summary="One supply point with its technical data and contract",
    )
    async def supply_point(
        self, request: Request, principal: Principal, services: Services, customer_number: str, supply_point_id: str
    ) -> schemas.SupplyPoint:
        require_supply_point(principal, customer_number, supply_point_id)
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.GetSupplyPoint(
                accounts_pb2.GetSupplyPointRequest(supply_point_id=supply_point_id)
            )
        return schemas.supply_point(resp.supply_point)
