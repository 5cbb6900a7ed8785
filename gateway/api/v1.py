"""JSON API v1: the customer's data for bearer tokens issued by the portal's OAuth2/OIDC server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.hdo.v1 import hdo_pb2

from kit import context

from .. import hdo
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

    async def _hdo_point(self, request: Request, principal: Principal, services: Services, supply_point_id: str):
        return await hdo.hdo_supply_point(
            services,
            principal,
            principal.customer_numbers,
            supply_point_id,
            lambda number: _ctx(request, principal, number),
        )

    @get(
        "/supply-points/{supply_point_id:str}/hdo",
        summary="Low-tariff (HDO) windows of a supply point over local days",
        description=(
            "Days are local in the tenant's time zone, YYYY-MM-DD, from the last three months up to the end of next "
            f"week, at most {hdo.MAX_API_DAYS} days per call; `to` defaults to `from`, `from` to today. Each day "
            "counts with the switching times valid on it then. A supply point without an HDO code is not found. "
            "Bad or out-of-range days are answered 422 with the reason hdo.day.invalid, hdo.day.out_of_range or "
            "hdo.span.invalid."
        ),
        tags=["low tariff"],
        responses={
            404: ResponseSpec(
                schemas.Problem,
                description="No such supply point with an HDO code for this caller",
                media_type="application/problem+json",
            ),
            422: ResponseSpec(
                schemas.Problem,
                description="A bad or out-of-range day, or too long a span",
                media_type="application/problem+json",
            ),
        },
    )
    async def low_tariff_schedule(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        supply_point_id: str,
        first_day: Annotated[str, Parameter(query="from", description="YYYY-MM-DD", max_length=32)] = "",
        last_day: Annotated[str, Parameter(query="to", description="YYYY-MM-DD, inclusive", max_length=32)] = "",
    ) -> schemas.LowTariffSchedule:
        zone = ZoneInfo(request.state.tenant.time_zone)
        first, last = hdo.Bounds.around(hdo.today_in(zone)).span(first_day, last_day)
        point, number = await self._hdo_point(request, principal, services, supply_point_id)
        with context.bound(_ctx(request, principal, number)):
            resp = await services.hdo.GetSchedule(
                hdo_pb2.GetScheduleRequest(code=point.hdo_code, first_day=first.isoformat(), last_day=last.isoformat())
            )
        return schemas.LowTariffSchedule(
            supply_point_id=point.id,
            code=resp.code,
            time_zone=resp.time_zone,
            first_day=first.isoformat(),
            last_day=last.isoformat(),
            windows=[schemas.window(w) for w in resp.windows],
            low_tariff_seconds=resp.low_tariff_seconds,
            versions=[schemas.schedule_version(v) for v in resp.versions],
        )

    @get(
        "/supply-points/{supply_point_id:str}/hdo/now",
        summary="Whether the low tariff is on now at a supply point, and until when",
        tags=["low tariff"],
    )
    async def low_tariff_now(
        self, request: Request, principal: Principal, services: Services, supply_point_id: str
    ) -> schemas.LowTariffNow:
        point, number = await self._hdo_point(request, principal, services, supply_point_id)
        at = datetime.now(UTC)
        with context.bound(_ctx(request, principal, number)):
            resp = await services.hdo.IsLowTariff(hdo_pb2.IsLowTariffRequest(code=point.hdo_code))
        return schemas.LowTariffNow(
            supply_point_id=point.id,
            code=point.hdo_code,
            at=at.isoformat().replace("+00:00", "Z"),
            low_tariff=resp.low_tariff,
            until=schemas.instant(resp.until) if resp.HasField("until") else None,
            known=resp.known,
        )

    @get(
        "/customers/{customer_number:str}/outages",
        summary="Planned outages that touch the customer's electricity supply points and have not ended yet",
        description="Changed and cancelled outages are listed too, with their state; ordered by start.",
        tags=["outages"],
    )
    async def outages(
        self, request: Request, principal: Principal, services: Services, customer_number: str
    ) -> schemas.OutageList:
        with context.bound(_ctx(request, principal, customer_number)):
            points = await hdo.customer_points(services, principal, customer_number)
            found = await hdo.upcoming_outages(services, points)
        identifiers = {p.id: p.identifier for p in points}
        return schemas.OutageList(items=[schemas.outage(o, identifiers) for o in found])
