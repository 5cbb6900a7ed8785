"""The staff console's requests: the brand's queue of open requests by deadline, one request to move, assign and
comment on, and filing a request on a customer's behalf with the channel it came through. Customer service and
administrators (`requests:work`); the requests service checks the role again and audits every step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Redirect
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.requests.v1 import requests_pb2

from kit import authz, context
from kit.errors import DomainError

from .. import requests as shared
from ..principal import Principal
from ..services import Services
from ..web import render, views
from ..web.pages import ctx
from ..web.requests_pages import file_posted, flash, form, new_request_view, posted, refused, with_flash
from ..web.views import PATHS
from . import views as staff_views
from .pages import needs, staff_member, staff_page

CHANNELS = ("phone", "letter", "branch", "email", "portal")
ASSIGNED = ("", "me", "none")


async def worker(request: Request, services: Services) -> tuple[Principal, frozenset[str], context.CallContext]:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.REQUESTS_WORK)
    return principal, capabilities, ctx(request, principal)


def detail_href(request_id: str) -> str:
    return f"{PATHS['staff_requests']}/{request_id}"


@get("/staff/requests", name="staff_requests")
async def queue(
    request: Request,
    services: Services,
    state_filter: Annotated[str, Parameter(query="state")] = "",
    type: str = "",
    assigned: str = "",
    overdue: str = "",
    page: str = "",
) -> Response:
    principal, capabilities, call = await worker(request, services)
    filters = {
        "state": state_filter[:32],
        "type": type[:64],
        "assigned": assigned if assigned in ASSIGNED else "",
        "overdue": "yes" if overdue == "yes" else "",
    }
    with context.bound(call):
        listed = await services.requests.List(
            requests_pb2.ListRequest(
                states=[filters["state"]] if filters["state"] else [],
                type=filters["type"],
                assignee=principal.user.id if filters["assigned"] == "me" else "",
                unassigned_only=filters["assigned"] == "none",
                overdue_only=overdue == "yes",
                page=common_pb2.PageRequest(page_size=shared.PAGE_SIZE, page_token=page[:512]),
            )
        )
    here = PATHS["staff_requests"]
    query = {k: v for k, v in filters.items() if v}
    view = staff_views.QueueView(
        rows=tuple(shared.request_row(r, detail_href(r.id)) for r in listed.requests),
        filters=filters,
        next_href=(
            f"{here}?{urlencode({**query, 'page': listed.page.next_page_token})}"
            if listed.page.next_page_token
            else None
        ),
        first_href=f"{here}?{urlencode(query)}" if page else None,
    )
    page_ctx = with_flash(request, staff_page(request, principal, capabilities, "staff_requests"))
    return render.html(request, "staff/requests.html", page_ctx, view=view)


@get("/staff/requests/new", name="staff_requests_new")
async def new_request(
    request: Request, services: Services, customer: str = "", supply_point: str = "", type: str = ""
) -> Response:
    principal, capabilities, call = await worker(request, services)
    page_ctx = staff_page(request, principal, capabilities, "staff_requests")
    number = customer.strip()[:32]
    view = views.NewRequestView(
        action=PATHS["staff_requests_new"], points=(), supply_point="", types=(), chosen="", customer_number=number
    )
    if number:
        with context.bound(call):
            # an unknown customer number is not found, rather than an empty form
            await services.accounts.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=number))
            view = await new_request_view(
                services,
                [number],
                PATHS["staff_requests_new"],
                supply_point,
                type,
                customer_number=number,
                channel="phone",
                channels=CHANNELS,
            )
    return render.html(request, "staff/request_new.html", page_ctx, view=view)


@post("/staff/requests/new", name="staff_requests_submit")
async def submit_request(request: Request, services: Services) -> Response:
    principal, capabilities, call = await worker(request, services)
    data, files = await posted(request)
    number = data.get("customer", "")[:32]
    page_ctx = staff_page(request, principal, capabilities, "staff_requests")
    with context.bound(call):
        outcome = await file_posted(
            services,
            page_ctx,
            data,
            [number],
            PATHS["staff_requests_new"],
            files=files,
            customer_number=number,
            channel=data.get("channel", "")[:32],
            channels=CHANNELS,
        )
    if isinstance(outcome, views.NewRequestView):
        return render.html(request, "staff/request_new.html", page_ctx, status=400, view=outcome)
    flash(request, principal, views.N_("The request has been filed for the customer."))
    return Redirect(path=detail_href(outcome.id))


async def detail_page(
    request: Request,
    services: Services,
    request_id: str,
    errors: views.FormErrors = views.NO_ERRORS,
    status: int = 200,
) -> Response:
    principal, capabilities, call = await worker(request, services)
    with context.bound(call):
        found = (await services.requests.Get(requests_pb2.GetRequest(request_id=request_id[:64]))).request
    view = shared.detail_view(found, detail_href(found.id), errors=errors, staff=True, me=principal.user.id)
    page_ctx = staff_page(request, principal, capabilities, "staff_requests")
    if status == 200:
        page_ctx = with_flash(request, page_ctx)
    return render.html(request, "request.html", page_ctx, status=status, view=view)


@get("/staff/requests/{request_id:str}", name="staff_request")
async def request_detail(request: Request, services: Services, request_id: str) -> Response:
    return await detail_page(request, services, request_id)


Step = Callable[[Principal, dict[str, str]], Awaitable[None]]


async def _step(request: Request, services: Services, request_id: str, call_of: Step) -> Response:
    """Runs one step (`call_of(principal, data)` makes the gRPC call) under the staff member's context; a refusal
    shows the request again with its message."""
    principal, _, call = await worker(request, services)
    data = await form(request)
    try:
        with context.bound(call):
            await call_of(principal, data)
    except DomainError as err:
        errors = refused(render.page(request, principal), err, {})
        return await detail_page(request, services, request_id, errors, status=400)
    flash(request, principal, views.N_("Done. The request has been updated."))
    return Redirect(path=detail_href(request_id[:64]))


@post("/staff/requests/{request_id:str}/transition", name="staff_request_transition")
async def transition(request: Request, services: Services, request_id: str) -> Response:
    async def call(principal: Principal, data: dict[str, str]) -> None:
        await services.requests.Transition(
            requests_pb2.TransitionRequest(
                request_id=request_id[:64], action=data.get("action", "")[:32], reason=data.get("reason", "")
            )
        )

    return await _step(request, services, request_id, call)


@post("/staff/requests/{request_id:str}/assign", name="staff_request_assign")
async def assign(request: Request, services: Services, request_id: str) -> Response:
    async def call(principal: Principal, data: dict[str, str]) -> None:
        await services.requests.Assign(
            requests_pb2.AssignRequest(
                request_id=request_id[:64], assignee=principal.user.id, assignee_name=principal.user.email
            )
        )

    return await _step(request, services, request_id, call)


@post("/staff/requests/{request_id:str}/comment", name="staff_request_comment")
async def comment(request: Request, services: Services, request_id: str) -> Response:
    async def call(principal: Principal, data: dict[str, str]) -> None:
        await services.requests.Comment(
            requests_pb2.CommentRequest(
                request_id=request_id[:64], text=data.get("text", ""), internal=data.get("internal") == "yes"
            )
        )

    return await _step(request, services, request_id, call)


@get("/staff/requests/{request_id:str}/attachments/{attachment_id:str}", name="staff_request_attachment")
async def attachment(request: Request, services: Services, request_id: str, attachment_id: str) -> Response:
    _, _, call = await worker(request, services)
    with context.bound(call):
        return await shared.download(services.requests, request_id, attachment_id)


ROUTES = [queue, new_request, submit_request, request_detail, transition, assign, comment, attachment]
