"""API v1 of invoices (faktury), advances (zálohy) and the balance of a customer number."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from portal.billing.v1 import billing_pb2

from kit import context
from kit.errors import DomainError

from .. import invoices
from ..principal import Principal
from ..services import Services
from . import schemas
from .v1 import _ctx, _problems

LIST_REFUSALS = (
    "Filters: `number` (an invoice number or variable symbol, or its beginning), `amount` (the total or the amount "
    "due, exactly, with a decimal point or comma), issue and due days YYYY-MM-DD, `status` (unpaid, overdue, paid, "
    "refund_due, refunded), `supply_point_id`. Only supply points whose contract lets the caller see invoices are "
    "listed, within a delegate's supply points. A bad filter is answered 422 with a reason: invoice.number_invalid, "
    "invoice.amount_invalid, invoice.status_invalid, date.invalid, page_token.invalid."
)
NOT_FOUND = "No such invoice for this caller"


class BillingApi(Controller):
    path = "/api/v1/customers/{customer_number:str}"
    tags = ["invoices"]
    security = [{"bearer": []}]

    @get(
        "/invoices",
        summary="Invoices of a customer number, newest first, filtered and paged",
        description=LIST_REFUSALS,
        responses=_problems(s403="The grant does not cover invoices", s422="A bad filter, page size or token"),
    )
    async def invoices(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        number: Annotated[str, Parameter(max_length=invoices.MAX_FILTER)] = "",
        amount: Annotated[str, Parameter(max_length=invoices.MAX_FILTER)] = "",
        issued_from: Annotated[str, Parameter(max_length=10)] = "",
        issued_to: Annotated[str, Parameter(max_length=10)] = "",
        due_from: Annotated[str, Parameter(max_length=10)] = "",
        due_to: Annotated[str, Parameter(max_length=10)] = "",
        status: Annotated[str, Parameter(max_length=16)] = "",
        supply_point_id: Annotated[str, Parameter(max_length=64)] = "",
        page_size: Annotated[int, Parameter(ge=1, le=invoices.MAX_PAGE_SIZE)] = 25,
        page_token: Annotated[str, Parameter(max_length=200)] = "",
    ) -> schemas.InvoicePage:
        filters = {
            "number": number,
            "amount": amount,
            "issued_from": issued_from,
            "issued_to": issued_to,
            "due_from": due_from,
            "due_to": due_to,
            "status": status,
            "supply_point": supply_point_id,
        }
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.billing.ListInvoices(
                invoices.list_request(customer_number, filters, page_token, page_size)
            )
        return schemas.InvoicePage(
            items=[schemas.invoice(i) for i in resp.invoices],
            total=resp.page.total_size,
            next_page_token=resp.page.next_page_token or None,
        )

    @get(
        "/invoices/{invoice_id:str}",
        summary="One invoice with its lines and VAT breakdown",
        responses=_problems(s404=NOT_FOUND),
    )
    async def invoice(
        self, request: Request, principal: Principal, services: Services, customer_number: str, invoice_id: str
    ) -> schemas.Invoice:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.billing.GetInvoice(billing_pb2.GetInvoiceRequest(invoice_id=invoice_id[:64]))
        return schemas.invoice(resp.invoice, detail=True)

    @get(
        "/invoices/{invoice_id:str}/{fmt:str}",
        summary="The invoice as a document: `pdf`, sealed with the supplier's certificate (PAdES) with its ISDOC "
        "attached, or `isdoc`, ISDOC 6.0.2 for Czech accounting software",
        responses=_problems(s404=NOT_FOUND),
    )
    async def invoice_document(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        invoice_id: str,
        fmt: str,
    ) -> Response:
        if fmt not in invoices.FORMATS:
            raise DomainError("not_found")
        with context.bound(_ctx(request, principal, customer_number)):
            return await invoices.document(services.billing, invoice_id, fmt)

    @get(
        "/advances",
        summary="Advances of a customer number by due date, with the QR payment string of what is still to pay",
        description="By default the calendar year around today; `due_from`/`due_to` (YYYY-MM-DD) span at most "
        "about two years (advances.days_invalid otherwise).",
        responses=_problems(s403="The grant does not cover payments", s422="Bad days"),
    )
    async def advances(
        self,
        request: Request,
        principal: Principal,
        services: Services,
        customer_number: str,
        due_from: Annotated[str, Parameter(max_length=10)] = "",
        due_to: Annotated[str, Parameter(max_length=10)] = "",
    ) -> list[schemas.Advance]:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.billing.ListAdvances(
                billing_pb2.ListAdvancesRequest(customer_number=customer_number, due_from=due_from, due_to=due_to)
            )
        return [schemas.advance(a) for a in resp.advances]

    @get(
        "/balance",
        summary="What the customer number owes today (or has overpaid), what is overdue, and open reminders",
        responses=_problems(s403="The grant does not cover payments"),
    )
    async def balance(
        self, request: Request, principal: Principal, services: Services, customer_number: str
    ) -> schemas.Balance:
        with context.bound(_ctx(request, principal, customer_number)):
            resp = await services.billing.GetBalance(billing_pb2.GetBalanceRequest(customer_number=customer_number))
        return schemas.balance(resp)
