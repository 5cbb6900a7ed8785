"""The customer's requests (žádosti): every request of the acting-for customer number from every channel, filing a
new one among the types the supply point's contract allows, and one request with its timeline, where the customer
adds information the supplier asked for (with files, as when filing) or cancels while nobody works on it."""

from __future__ import annotations

import dataclasses
import uuid

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.requests.v1 import requests_pb2

from kit import context
from kit.authz import REQUESTS_READ, REQUESTS_WRITE
from kit.errors import DomainError

from .. import i18n
from .. import requests as shared
from ..principal import Principal
from ..services import Services
from . import render, views
from .pages import acting_for, ctx, customer_page, signed_in

FLASH_KEY = "requests_flash"
# refusals the forms show beside what was typed; anything else is an error page
FORM_REASONS = ("request.", "date.", "forbidden.request_type", "precondition.request_state", "conflict")
# the service's field names → the form's
FORM_FIELDS = {
    "supply_point_id": "supply_point",
    "reason": "reason",
    "text": "text",
    "channel": "channel",
    "attachments": "attachments",
}


async def form(request: Request) -> dict[str, str]:
    """The posted fields, each cut one character past the longest a request takes, so the service refuses an
    overlong value with its message rather than the page shortening it unseen."""
    data = await request.form()
    return {k: v[: shared.MAX_VALUE + 1] for k, v in data.items() if isinstance(v, str)}


async def posted(request: Request) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    """A request form's fields and its files (name, type, content); each file read one byte past the limit, so a
    larger one is refused without holding it all."""
    data = await request.form()
    fields = {k: v[: shared.MAX_VALUE + 1] for k, v in data.items() if isinstance(v, str)}
    files = []
    for upload in data.getall("attachments", [])[: shared.MAX_ATTACHMENTS + 1]:
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(shared.MAX_ATTACHMENT_BYTES + 1)
            files.append((upload.filename, upload.content_type or "", content))
    return fields, files


def new_key() -> str:
    return uuid.uuid4().hex


async def caller(
    request: Request, services: Services, capability: str = REQUESTS_READ
) -> tuple[Principal, context.CallContext]:
    """The signed-in customer acting for their customer number, whose grant gives `capability`; staff work requests
    in the console, not here."""
    principal = await signed_in(request, services)
    call = ctx(request, principal, acting_for(request, principal))
    if capability not in call.capabilities:
        raise DomainError("forbidden")
    return principal, call


async def points(services: Services, numbers: list[str]) -> tuple[accounts_pb2.SupplyPoint, ...]:
    resp = await services.accounts.ListSupplyPoints(
        accounts_pb2.ListSupplyPointsRequest(
            customer_numbers=numbers,
            view=accounts_pb2.SUPPLY_POINT_VIEW_BASIC,
            page=common_pb2.PageRequest(page_size=shared.POINTS_OFFERED),
        )
    )
    return tuple(resp.supply_points)


async def new_request_view(
    services: Services,
    numbers: list[str],
    action: str,
    supply_point: str,
    chosen: str,
    typed: dict[str, str] | None = None,
    **extra: object,
) -> views.NewRequestView:
    """The filing form under the caller's context bound by the handler: the points, the types the chosen point's
    contract (or, with none, the customer-level types) allows, and the chosen type's fields."""
    offered = await points(services, numbers)
    supply_point = supply_point[:64]
    catalog = await services.requests.ListCatalog(requests_pb2.ListCatalogRequest(supply_point_id=supply_point))
    entries = [e for e in catalog.entries if supply_point or not e.needs_supply_point]
    entry = next((e for e in entries if e.code == chosen), None)
    return views.NewRequestView(
        action=action,
        points=tuple(shared.point_choice(p) for p in offered),
        supply_point=supply_point,
        types=tuple(e.code for e in entries),
        chosen=entry.code if entry else "",
        fields=shared.form_fields(entry, typed or {}) if entry else (),
        deadline_days=entry.deadline_days if entry else 0,
        idempotency_key=new_key(),
        **extra,  # type: ignore[arg-type]
    )


async def catalog_entry(services: Services, supply_point: str, code: str) -> requests_pb2.CatalogEntry | None:
    catalog = await services.requests.ListCatalog(requests_pb2.ListCatalogRequest(supply_point_id=supply_point[:64]))
    return next((e for e in catalog.entries if e.code == code), None)


async def file_posted(
    services: Services,
    page_ctx: views.Page,
    data: dict[str, str],
    numbers: list[str],
    action: str,
    *,
    files: list[tuple[str, str, bytes]],
    customer_number: str = "",
    **extra: object,
) -> requests_pb2.Request | views.NewRequestView:
    """Files the posted form under the context the handler bound: the request filed, or the form again with the
    refusal beside what was typed. `customer_number` and a `channel` in `extra` are staff's, filing for a customer."""
    supply_point, code = data.get("supply_point", ""), data.get("type", "")
    typed = shared.typed_values(await catalog_entry(services, supply_point, code), data)
    try:
        shared.check_sizes(files)
        filed = await services.requests.Submit(
            shared.submit_request(
                customer_number=customer_number,
                request_type=code,
                supply_point_id=supply_point,
                values=typed,
                channel=str(extra.get("channel", "")),
                idempotency_key=data.get("idempotency_key", ""),
                attachments=files,
            )
        )
    except DomainError as err:
        errors = refused(page_ctx, err, typed)
        view = await new_request_view(
            services, numbers, action, supply_point, code, typed, customer_number=customer_number, **extra
        )
        return dataclasses.replace(view, errors=errors)
    return filed.request


def refused(page_ctx: views.Page, err: DomainError, fields: dict[str, str]) -> views.FormErrors:
    """A refusal under the field it is about (`field_<name>` for the type's fields), else for the whole form."""
    if not err.reason.startswith(FORM_REASONS):
        raise err
    message = render.translate(page_ctx, err.reason, **err.params)
    name = f"field_{err.field}" if err.field in fields else FORM_FIELDS.get(err.field, "")
    if name:
        return views.FormErrors(fields={name: (message,)})
    return views.FormErrors(form=message)


def flash(request: Request, principal: Principal, message: str) -> None:
    request.session[FLASH_KEY] = i18n.gettext(message, render.locale(request, principal))


def with_flash(request: Request, page_ctx: views.Page) -> views.Page:
    message = request.session.pop(FLASH_KEY, "")
    return dataclasses.replace(page_ctx, flashes=(views.Flash(message, "success"),)) if message else page_ctx


def detail_href(request_id: str) -> str:
    return f"{views.PATHS['requests']}/{request_id}"


@get("/requests", name="requests")
async def requests_list(request: Request, services: Services, page: str = "") -> Response:
    principal, call = await caller(request, services)
    with context.bound(call):
        listed = await services.requests.List(
            requests_pb2.ListRequest(page=common_pb2.PageRequest(page_size=shared.PAGE_SIZE, page_token=page[:512]))
        )
        named = {p.id: p.identifier for p in await points(services, [call.customer_number])}
    here = views.PATHS["requests"]
    view = views.RequestsView(
        rows=tuple(shared.request_row(r, detail_href(r.id), named) for r in listed.requests),
        total=listed.page.total_size,
        can_file=REQUESTS_WRITE in call.capabilities,
        next_href=f"{here}?page={listed.page.next_page_token}" if listed.page.next_page_token else None,
        first_href=here if page else None,
    )
    page_ctx = with_flash(request, await customer_page(request, services, principal, "requests"))
    return render.html(request, "requests.html", page_ctx, view=view)


@get("/requests/new", name="requests_new")
async def new_request(request: Request, services: Services, supply_point: str = "", type: str = "") -> Response:
    principal, call = await caller(request, services, REQUESTS_WRITE)
    with context.bound(call):
        view = await new_request_view(services, [call.customer_number], views.PATHS["requests_new"], supply_point, type)
    page_ctx = await customer_page(request, services, principal, "requests")
    return render.html(request, "request_new.html", page_ctx, view=view)


@post("/requests/new", name="requests_submit")
async def submit_request(request: Request, services: Services) -> Response:
    principal, call = await caller(request, services, REQUESTS_WRITE)
    data, files = await posted(request)
    page_ctx = await customer_page(request, services, principal, "requests")
    with context.bound(call):
        outcome = await file_posted(
            services, page_ctx, data, [call.customer_number], views.PATHS["requests_new"], files=files
        )
    if isinstance(outcome, views.NewRequestView):
        return render.html(request, "request_new.html", page_ctx, status=400, view=outcome)
    flash(request, principal, views.N_("Thank you, your request has been filed."))
    return Redirect(path=detail_href(outcome.id))


async def detail_page(
    request: Request,
    services: Services,
    principal: Principal,
    call: context.CallContext,
    request_id: str,
    errors: views.FormErrors = views.NO_ERRORS,
    status: int = 200,
) -> Response:
    with context.bound(call):
        found = (await services.requests.Get(requests_pb2.GetRequest(request_id=request_id[:64]))).request
        named = {p.id: p.identifier for p in await points(services, [call.customer_number])}
    view = shared.detail_view(found, detail_href(found.id), named, errors=errors)
    if REQUESTS_WRITE not in call.capabilities:
        view = dataclasses.replace(view, actions=())
    page_ctx = await customer_page(request, services, principal, "requests")
    if status == 200:
        page_ctx = with_flash(request, page_ctx)
    return render.html(request, "request.html", page_ctx, status=status, view=view)


@get("/requests/{request_id:str}", name="request")
async def request_detail(request: Request, services: Services, request_id: str) -> Response:
    principal, call = await caller(request, services)
    return await detail_page(request, services, principal, call, request_id)


@post("/requests/{request_id:str}/transition", name="request_transition")
async def transition(request: Request, services: Services, request_id: str) -> Response:
    principal, call = await caller(request, services, REQUESTS_WRITE)
    data, files = await posted(request)
    try:
        shared.check_sizes(files)
        with context.bound(call):
            await services.requests.Transition(
                requests_pb2.TransitionRequest(
                    request_id=request_id[:64],
                    action=data.get("action", "")[:32],
                    reason=data.get("reason", ""),
                    attachments=shared.attachments_of(files),
                )
            )
    except DomainError as err:
        errors = refused(render.page(request, principal), err, {})
        return await detail_page(request, services, principal, call, request_id, errors, status=400)
    flash(request, principal, views.N_("Done. The request has been updated."))
    return Redirect(path=detail_href(request_id[:64]))


@get("/requests/{request_id:str}/attachments/{attachment_id:str}", name="request_attachment")
async def attachment(request: Request, services: Services, request_id: str, attachment_id: str) -> Response:
    _, call = await caller(request, services)
    with context.bound(call):
        return await shared.download(services.requests, request_id, attachment_id)


ROUTES = [requests_list, new_request, submit_request, request_detail, transition, attachment]
