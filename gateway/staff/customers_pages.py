"""The staff console's customers: searching the brand's customers (customer service and administrators,
`customers:read`) and one customer with their supply points, contracts and requests. The services check the roles
again; accounts audits every search and every customer opened."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from litestar import Request, Response, get
from portal.accounts.v1 import accounts_pb2
from portal.common.v1 import common_pb2
from portal.requests.v1 import requests_pb2

from kit import authz, context
from kit.errors import DomainError

from .. import requests as shared
from ..services import Services
from ..web import render
from ..web.pages import ctx
from ..web.views import PATHS, FormErrors
from . import views
from .pages import needs, staff_member, staff_page
from .requests_pages import detail_href

MAX_QUERY = 100
POINTS_PAGE_SIZE = 25
# the customer's requests in every state, not only the queue's open ones
REQUEST_STATES = (*views.QUEUE_STATES, "resolved", "rejected", "cancelled")


def one_line(a: common_pb2.Address) -> str:
    street = " ".join(p for p in (a.street, a.house_number) if p)
    town = " ".join(p for p in (a.postal_code, a.city) if p)
    return ", ".join(p for p in (street, town) if p)


def customer_href(number: str) -> str:
    return f"{views.CUSTOMERS_PATH}/{quote(number, safe='')}"


def pager(here: str, query: dict[str, str], token: str, current: str) -> tuple[str | None, str | None]:
    """The next page's link (None at the end) and the first page's (None on it)."""
    kept = {k: v for k, v in query.items() if v}
    next_href = f"{here}?{urlencode({**kept, 'page': token})}" if token else None
    first_href = (f"{here}?{urlencode(kept)}" if kept else here) if current else None
    return next_href, first_href


@get("/staff/customers", name="staff_customers")
async def search(request: Request, services: Services, q: str = "", page: str = "") -> Response:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.CUSTOMERS_READ)
    page_ctx = staff_page(request, principal, capabilities, "staff_customers")
    query = q.strip()[: MAX_QUERY + 1]
    if not query:
        view = views.CustomerSearchView(query="", rows=(), searched=False)
        return render.html(request, "staff/customers.html", page_ctx, view=view)
    try:
        with context.bound(ctx(request, principal)):
            found = await services.accounts.SearchCustomers(
                accounts_pb2.SearchCustomersRequest(query=query, page=common_pb2.PageRequest(page_token=page[:512]))
            )
    except DomainError as err:
        if err.field not in ("query", "page_token"):
            raise
        errors = FormErrors(fields={"q": (render.translate(page_ctx, err.reason, **err.params),)})
        view = views.CustomerSearchView(query=query, rows=(), searched=False, errors=errors)
        return render.html(request, "staff/customers.html", page_ctx, status=400, view=view)
    rows = tuple(
        views.CustomerRow(
            number=c.customer_number,
            name=c.name,
            email=c.email,
            phone=c.phone,
            address=one_line(c.permanent_address),
            supply_points=c.supply_point_count,
            href=customer_href(c.customer_number),
        )
        for c in found.customers
    )
    next_href, first_href = pager(views.CUSTOMERS_PATH, {"q": query}, found.page.next_page_token, page)
    view = views.CustomerSearchView(query, rows, True, next_href=next_href, first_href=first_href)
    return render.html(request, "staff/customers.html", page_ctx, view=view)


def point_row(p: accounts_pb2.SupplyPoint) -> views.StaffPointRow:
    return views.StaffPointRow(
        identifier=p.identifier,
        commodity=p.commodity,
        address=one_line(p.address),
        product=p.product,
        contract_number=p.contract.number if p.HasField("contract") else "",
    )


def contract_rows(points: list[accounts_pb2.SupplyPoint]) -> tuple[views.StaffContractRow, ...]:
    seen: dict[str, views.StaffContractRow] = {}
    for p in points:
        c = p.contract
        if p.HasField("contract") and c.number not in seen:
            seen[c.number] = views.StaffContractRow(
                number=c.number,
                contract_type=c.contract_type,
                payment_method=c.payment_method,
                advance=c.advance_amount.amount,
                currency=c.advance_amount.currency,
                advance_cycle=c.advance_cycle,
                e_invoice=c.e_invoice,
            )
    return tuple(seen[n] for n in sorted(seen))


@get("/staff/customers/{number:str}", name="staff_customer")
async def customer(request: Request, services: Services, number: str, page: str = "") -> Response:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.CUSTOMERS_READ)
    number = number[:32]
    with context.bound(ctx(request, principal)):
        c = (await services.accounts.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=number))).customer
        points = await services.accounts.ListSupplyPoints(
            accounts_pb2.ListSupplyPointsRequest(
                customer_numbers=[number],
                page=common_pb2.PageRequest(page_size=POINTS_PAGE_SIZE, page_token=page[:512]),
            )
        )
        listed = await services.requests.List(
            requests_pb2.ListRequest(
                customer_numbers=[number],
                states=REQUEST_STATES,
                page=common_pb2.PageRequest(page_size=shared.PAGE_SIZE),
            )
        )
    here = customer_href(number)
    next_href, first_href = pager(here, {}, points.page.next_page_token, page)
    view = views.CustomerView(
        number=c.customer_number,
        name=c.name,
        kind=c.kind,
        company_id=c.company_id,
        email=c.email,
        phone=c.phone,
        permanent_address=one_line(c.permanent_address),
        mailing_address=one_line(c.mailing_address),
        supply_point_count=c.supply_point_count,
        contract_count=c.contract_count,
        points=tuple(point_row(p) for p in points.supply_points),
        contracts=contract_rows(list(points.supply_points)),
        requests=tuple(shared.request_row(r, detail_href(r.id)) for r in listed.requests),
        file_request_href=f"{PATHS['staff_requests_new']}?{urlencode({'customer': c.customer_number})}",
        next_href=next_href,
        first_href=first_href,
        more_requests=bool(listed.page.next_page_token),
    )
    page_ctx = staff_page(request, principal, capabilities, "staff_customers")
    return render.html(request, "staff/customer.html", page_ctx, view=view)


ROUTES = [search, customer]
