"""JSON API v1: the customer's data for bearer tokens issued by the portal's OAuth2/OIDC server or made by the
customer as personal access tokens; either is checked with identity on every call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from portal.accounts.v1 import accounts_pb2
from portal.billing.v1 import billing_pb2
from portal.common.v1 import common_pb2
from portal.hdo.v1 import hdo_pb2
from portal.notifications.v1 import notifications_pb2
from portal.requests.v1 import requests_pb2

from kit import context

from .. import hdo, readings
from .. import requests as customer_requests
from ..principal import Principal, call_context
from ..services import Services
from ..supply_points import find as find_supply_point
from . import schemas


def _problems(**described: str) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(schemas.Problem, description=text, media_type="application/problem+json")
        for status, text in ((int(k.removeprefix("s")), v) for k, v in described.items())
    }


READING_REFUSALS = (
    "Refusals are answered 422 with a reason and its params: reading.date_in_future (today), reading.before_last "
    "and reading.exists_for_date (last_date), reading.lower_than_last (register, last_value, last_date), "
    "reading.exceeds_breaker (consumption_kwh, limit_kwh, last_date), reading.implausible and "
    "reading.confirm_suspicious (consumption_kwh, expected_kwh, last_date), reading.registers_invalid (registers), "
    "reading.value_invalid (register), reading.photo_too_large (max_bytes), reading.photo_type_invalid, "
    "date.invalid, idempotency_key.invalid. After reading.confirm_suspicious the same reading sent again with "
    "confirm_suspicious true is stored, flagged. Nothing is stored on a refusal."
)


CHANGE_REFUSALS = (
    "Applied at once, audited, confirmed to the customer by e-mail and listed among the customer's requests as a "
    "resolved request of the immediate kind. Sending the same values again changes nothing. Refusals are answered "
    "422 with a reason and `field`: email.invalid, phone.invalid, contact.required, required, too_long, "
    "postal_code.invalid, country.invalid, payment_method.invalid, bank_account.format, bank_account.checksum, "
    "bank_account.bank_code, iban.invalid, advance.invalid, advance.out_of_bounds (minimum, maximum, proposal); "
    "403 when the caller's grant or the brand's permission matrix for the contract type does not allow the change. "
    "Nothing is changed on a refusal."
)
FORBIDDEN = "The grant or the permission matrix for the contract type does not allow this change"
REFUSED = "The change was refused; see reason and field"
ADDRESS_KINDS = {"mailing": accounts_pb2.ADDRESS_KIND_MAILING, "permanent": accounts_pb2.ADDRESS_KIND_PERMANENT}


ATTACHMENT_RULES = (
    "each a JSON object with file_name, content_type (application/pdf, image/jpeg, image/png, image/webp, "
    "image/heic, text/plain) and content (base64), at most 3 a call and 1,000,000 bytes each, as on the pages: "
    "refused 422 with request.attachments_too_many (max), request.attachment_size (max_bytes) or "
    "request.attachment_type."
)
# three files of the largest size, base64-encoded, with room for the rest of the body
MAX_REQUEST_BODY = customer_requests.MAX_ATTACHMENTS * customer_requests.MAX_ATTACHMENT_BYTES * 4 // 3 + 256 * 1024


def _files(attachments: list[schemas.NewAttachment]) -> list[tuple[str, str, bytes]]:
    return [(a.file_name, a.content_type, a.content) for a in attachments]


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

    # --- immediate changes: applied at once by accounts, confirmed by e-mail, listed among the requests ----------

    @put(
        "/customers/{customer_number:str}/contact",
        summary="Change the customer's e-mail and phone",
        description=CHANGE_REFUSALS,
        tags=["changes"],
        responses=_problems(s403=FORBIDDEN, s404="No such customer for this caller", s422=REFUSED),
    )
    async def change_contact(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        data: schemas.ContactChange,
    ) -> schemas.Customer:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.ChangeContact(
                accounts_pb2.ChangeContactRequest(customer_number=customer_number, email=data.email, phone=data.phone)
            )
        return schemas.customer(resp.customer)

    @put(
        "/customers/{customer_number:str}/addresses/{kind:str}",
        summary="Change the customer's mailing or permanent address (kind: mailing, permanent)",
        description=CHANGE_REFUSALS,
        tags=["changes"],
        responses=_problems(s403=FORBIDDEN, s404="No such customer or kind of address", s422=REFUSED),
    )
    async def change_address(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        kind: str,
        data: schemas.AddressChange,
    ) -> schemas.Customer:
        address_kind = ADDRESS_KINDS.get(kind)
        if address_kind is None:
            raise NotFoundException()
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.ChangeAddress(
                accounts_pb2.ChangeAddressRequest(
                    customer_number=customer_number,
                    kind=address_kind,
                    address=common_pb2.Address(**msgspec.structs.asdict(data)),
                )
            )
        return schemas.customer(resp.customer)

    @put(
        "/customers/{customer_number:str}/contracts/{contract_id:str}/payment",
        summary="Change a contract's payment method and bank account",
        description=CHANGE_REFUSALS,
        tags=["changes"],
        responses=_problems(s403=FORBIDDEN, s404="No such contract for this caller", s422=REFUSED),
    )
    async def change_payment(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        contract_id: str,
        data: schemas.PaymentChange,
    ) -> schemas.Contract:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.ChangeContractPayment(
                accounts_pb2.ChangeContractPaymentRequest(
                    contract_id=contract_id[:64], payment_method=data.payment_method, bank_account=data.bank_account
                )
            )
        return schemas.contract(resp.contract)

    @get(
        "/customers/{customer_number:str}/contracts/{contract_id:str}/advance",
        summary="A contract's advance: the bounds it may be set within and the proposal",
        description="From the supply points' expected annual consumption and the brand's price estimate.",
        tags=["changes"],
        responses=_problems(s404="No such contract for this caller"),
    )
    async def advance(
        self, request: Request, principal: Principal, services: Services, customer_number: str, contract_id: str
    ) -> schemas.AdvanceBounds:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.GetAdvanceBounds(
                accounts_pb2.GetAdvanceBoundsRequest(contract_id=contract_id[:64])
            )
        return schemas.advance_bounds(resp)

    @put(
        "/customers/{customer_number:str}/contracts/{contract_id:str}/advance",
        summary="Change a contract's advance, within its bounds",
        description=CHANGE_REFUSALS,
        tags=["changes"],
        responses=_problems(s403=FORBIDDEN, s404="No such contract for this caller", s422=REFUSED),
    )
    async def change_advance(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        contract_id: str,
        data: schemas.AdvanceChange,
    ) -> schemas.Contract:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.ChangeAdvance(
                accounts_pb2.ChangeAdvanceRequest(contract_id=contract_id[:64], amount=data.amount)
            )
        return schemas.contract(resp.contract)

    @put(
        "/customers/{customer_number:str}/contracts/{contract_id:str}/e-invoice",
        summary="Turn a contract's e-invoice on or off",
        description=CHANGE_REFUSALS,
        tags=["changes"],
        responses=_problems(s403=FORBIDDEN, s404="No such contract for this caller"),
    )
    async def change_e_invoice(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        contract_id: str,
        data: schemas.EInvoiceChange,
    ) -> schemas.Contract:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.SetEInvoice(
                accounts_pb2.SetEInvoiceRequest(contract_id=contract_id[:64], enabled=data.enabled)
            )
        return schemas.contract(resp.contract)

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
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.accounts.GetSupplyPoint(
                accounts_pb2.GetSupplyPointRequest(supply_point_id=supply_point_id)
            )
        return schemas.supply_point(resp.supply_point)

    async def _point(
        self, request: Request, principal: Principal, services: Services, supply_point_id: str, find=find_supply_point
    ):
        """The supply point and the customer number it was found under: the API names none, so all of the
        user's are tried (`find` may narrow what counts, as the low-tariff calls do)."""
        return await find(
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
        point, number = await self._point(request, principal, services, supply_point_id, hdo.hdo_supply_point)
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
        point, number = await self._point(request, principal, services, supply_point_id, hdo.hdo_supply_point)
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
            points = await hdo.customer_points(services, customer_number)
            found = await hdo.upcoming_outages(services, points)
        identifiers = {p.id: p.identifier for p in points}
        return schemas.OutageList(items=[schemas.outage(o, identifiers) for o in found])

    @get(
        "/customers/{customer_number:str}/notification-preferences",
        summary="How each kind of message reaches the customer: by e-mail, SMS or both",
        description="Kinds never chosen show the default, e-mail. `phone` is where SMS go (from the contact data).",
        tags=["notifications"],
        responses=_problems(s404="No such customer for this caller"),
    )
    async def notification_preferences(
        self, request: Request, principal: Principal, services: Services, customer_number: str
    ) -> schemas.NotificationPreferences:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.notifications.GetPreferences(
                notifications_pb2.GetPreferencesRequest(customer_number=customer_number)
            )
        return schemas.notification_preferences(resp.preferences)

    @put(
        "/customers/{customer_number:str}/notification-preferences",
        summary="Choose the channels of kinds of message; the kinds not sent keep theirs",
        description=(
            "Only the customer's owner may change them (delegates and third-party applications may not). Refusals "
            "are answered 422 with the reason preferences.kind_unknown, preferences.channel_unknown, "
            "preferences.channel_required (planned outages must go by at least one channel), "
            "preferences.sms_unavailable or preferences.phone_missing (SMS without a phone number in the contact "
            "data), `field` naming the kind; nothing is changed on a refusal."
        ),
        tags=["notifications"],
        responses=_problems(
            s403="The caller may not change them",
            s404="No such customer for this caller",
            s422="The choice was refused; see reason and field",
        ),
    )
    async def change_notification_preferences(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        data: schemas.NotificationPreferencesChange,
    ) -> schemas.NotificationPreferences:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.notifications.SetPreferences(
                notifications_pb2.SetPreferencesRequest(
                    customer_number=customer_number,
                    kinds=[notifications_pb2.KindPreference(kind=k.kind, channels=k.channels) for k in data.kinds],
                )
            )
        return schemas.notification_preferences(resp.preferences)

    @get(
        "/supply-points/{supply_point_id:str}/readings",
        summary="Meter readings of a supply point, newest first, paged",
        tags=["readings"],
        responses=_problems(s404="No such supply point for this caller", s422="A bad page size or token"),
    )
    async def readings(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        supply_point_id: str,
        page_size: Annotated[int, Parameter(ge=1, le=readings.MAX_PAGE_SIZE)] = 25,
        page_token: Annotated[str, Parameter(max_length=200)] = "",
    ) -> schemas.ReadingPage:
        point, number = await self._point(request, principal, services, supply_point_id)
        with context.bound(_ctx(request, principal, number)):
            resp = await services.billing.ListReadings(
                billing_pb2.ListReadingsRequest(
                    supply_point_id=point.id, page=common_pb2.PageRequest(page_size=page_size, page_token=page_token)
                )
            )
        return schemas.ReadingPage(
            items=[schemas.reading(r) for r in resp.readings],
            total=resp.page.total_size,
            next_page_token=resp.page.next_page_token or None,
        )

    @post(
        "/supply-points/{supply_point_id:str}/readings",
        summary="Submit a self-reading (samoodečet) of every register of a supply point's meter",
        description=(
            "The reading is checked against the last one and the expected consumption. "
            + READING_REFUSALS
            + " An Idempotency-Key header makes a retry safe: the same key answers the reading stored the first "
            "time (201 again, with Idempotent-Replayed: true)."
        ),
        tags=["readings"],
        status_code=201,
        responses=_problems(
            s403="The caller may not submit readings for this supply point",
            s404="No such supply point for this caller",
            s409="The Idempotency-Key was used for another supply point",
            s422="The reading was refused; see reason and params",
        ),
    )
    async def submit_reading(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        supply_point_id: str,
        data: schemas.NewReading,
        idempotency_key: Annotated[str, Parameter(header="Idempotency-Key", required=False)] = "",
    ) -> Response[schemas.Reading]:
        point, number = await self._point(request, principal, services, supply_point_id)
        submitted = readings.submit_request(
            point.id,
            data.read_on,
            data.values,
            confirm_suspicious=data.confirm_suspicious,
            photo=data.photo or b"",
            photo_content_type=data.photo_content_type or "",
            idempotency_key=idempotency_key,
        )
        with context.bound(_ctx(request, principal, number)):
            resp = await services.billing.SubmitReading(submitted)
        headers = {} if resp.created else {"Idempotent-Replayed": "true"}
        return Response(schemas.reading(resp.reading), status_code=201, headers=headers)

    @get(
        "/supply-points/{supply_point_id:str}/consumption",
        summary="Consumption of a supply point per month or year, in kWh per register (gas also in m³)",
        description=(
            "Apportioned from consecutive readings. `from` and `to` are local days, inclusive; without them the "
            "last 24 months up to today. A span longer than ten years or ending before it starts is answered 422 "
            "with the reason history.days_invalid (max_years)."
        ),
        tags=["readings"],
        responses=_problems(s404="No such supply point for this caller", s422="A bad day or span"),
    )
    async def consumption(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        supply_point_id: str,
        by: Annotated[str, Parameter(description="month or year", pattern="^(month|year)$")] = "month",
        first_day: Annotated[str, Parameter(query="from", description="YYYY-MM-DD", max_length=32)] = "",
        last_day: Annotated[str, Parameter(query="to", description="YYYY-MM-DD, inclusive", max_length=32)] = "",
    ) -> schemas.ConsumptionHistory:
        point, number = await self._point(request, principal, services, supply_point_id)
        by = readings.granularity(by)
        with context.bound(_ctx(request, principal, number)):
            resp = await services.billing.ConsumptionHistory(
                readings.history_request(point.id, by, first_day, last_day)
            )
        return schemas.ConsumptionHistory(
            supply_point_id=point.id,
            commodity=resp.commodity,
            registers=list(resp.registers),
            by=by,
            periods=[schemas.consumption_period(p) for p in resp.periods],
        )

    @get(
        "/customers/{customer_number:str}/requests",
        summary="The customer's requests from every channel, newest first, paged",
        tags=["requests"],
        responses=_problems(s403="The caller may not read requests", s404="No such customer for this caller"),
    )
    async def list_requests(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        page_size: Annotated[int, Parameter(ge=1, le=customer_requests.MAX_PAGE_SIZE)] = 25,
        page_token: Annotated[str, Parameter(max_length=200)] = "",
    ) -> schemas.CustomerRequestPage:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.requests.List(
                requests_pb2.ListRequest(page=common_pb2.PageRequest(page_size=page_size, page_token=page_token))
            )
        return schemas.CustomerRequestPage(
            items=[schemas.customer_request(r) for r in resp.requests],
            total=resp.page.total_size,
            next_page_token=resp.page.next_page_token or None,
        )

    @post(
        "/customers/{customer_number:str}/requests",
        summary="File a request (žádost) of a type the catalog offers",
        description=(
            "A type the contract of the supply point does not allow (the tenant's permission matrix) is refused "
            "403 with the reason forbidden.request_type. Bad values are 422 with a reason (request.field_required, "
            "request.field_choice, request.field_too_long, request.field_unknown, date.invalid, "
            "request.supply_point_required, request.type_unknown) and the field at fault; nothing is stored. An "
            "Idempotency-Key header makes a retry safe: the same key answers the request filed the first time (201 "
            "again, with Idempotent-Replayed: true); the same key with other values is 409. Files go in attachments, "
            + ATTACHMENT_RULES
        ),
        tags=["requests"],
        status_code=201,
        request_max_body_size=MAX_REQUEST_BODY,
        responses=_problems(
            s403="The caller or the contract may not file this request",
            s404="No such customer or supply point for this caller",
            s409="The Idempotency-Key was used for another request",
            s422="The request was refused; see reason and field",
        ),
    )
    async def file_request(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        data: schemas.NewCustomerRequest,
        idempotency_key: Annotated[str, Parameter(header="Idempotency-Key", required=False)] = "",
    ) -> Response[schemas.CustomerRequest]:
        files = _files(data.attachments)
        customer_requests.check_sizes(files)
        submitted = customer_requests.submit_request(
            request_type=data.type,
            supply_point_id=data.supply_point_id,
            values=data.values,
            idempotency_key=idempotency_key,
            attachments=files,
        )
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.requests.Submit(submitted)
        headers = {} if resp.created else {"Idempotent-Replayed": "true"}
        return Response(schemas.customer_request(resp.request), status_code=201, headers=headers)

    @get(
        "/customers/{customer_number:str}/requests/{request_id:str}",
        summary="One request with its timeline",
        tags=["requests"],
        responses=_problems(s404="No such request for this caller"),
    )
    async def get_request(
        self, request: Request, principal: Principal, services: Services, customer_number: str, request_id: str
    ) -> schemas.CustomerRequest:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.requests.Get(requests_pb2.GetRequest(request_id=request_id[:64]))
        return schemas.customer_request(resp.request, with_timeline=True, href=request.url.path)

    @post(
        "/customers/{customer_number:str}/requests/{request_id:str}/steps",
        summary="Add information to a request waiting for the customer (with files), or cancel it",
        description=(
            "action add_info (while the request is waiting_for_customer; the information in reason, required) or "
            "cancel (while nobody works on it). Files go with add_info only, " + ATTACHMENT_RULES + " A step the "
            "request's state does not allow is 409 precondition.request_state; bad input is 422 with a reason "
            "(request.reason_required, request.reason_too_long, request.action_unknown, "
            "request.attachments_not_allowed, request.attachments_full) and nothing is changed."
        ),
        tags=["requests"],
        status_code=200,
        request_max_body_size=MAX_REQUEST_BODY,
        responses=_problems(
            s403="The caller may not change requests",
            s404="No such request for this caller",
            s409="The request's state does not allow this step",
            s422="The step was refused; see reason and field",
        ),
    )
    async def request_step(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        request_id: str,
        data: schemas.RequestStep,
    ) -> schemas.CustomerRequest:
        files = _files(data.attachments)
        customer_requests.check_sizes(files)
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.requests.Transition(
                requests_pb2.TransitionRequest(
                    request_id=request_id[:64],
                    action=data.action[:32],
                    reason=data.reason[: customer_requests.MAX_VALUE + 1],
                    attachments=customer_requests.attachments_of(files),
                )
            )
        href = request.url.path.removesuffix("/steps")
        return schemas.customer_request(resp.request, with_timeline=True, href=href)

    @get(
        "/customers/{customer_number:str}/requests/{request_id:str}/attachments/{attachment_id:str}",
        summary="A file sent with a request, as it was sent (offered for saving)",
        tags=["requests"],
        media_type="application/octet-stream",
        responses=_problems(s404="No such request or file for this caller"),
    )
    async def request_attachment(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        request_id: str,
        attachment_id: str,
    ) -> Response[bytes]:
        with context.bound(_ctx(request, principal, customer_number)):
            return await customer_requests.download(services.requests, request_id, attachment_id)
