"""Invoices and payments: the balance of the acting-for customer number, its invoices (faktury) searchable by
number, amount, dates, status and supply point, this year's advances (zálohy) with the QR code of the next one, and
one invoice with its lines, VAT breakdown, how to pay it and its signed PDF and ISDOC."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from portal.billing.v1 import billing_pb2

from kit import context
from kit.authz import INVOICES_READ, PAYMENTS_READ
from kit.errors import DomainError

from .. import hdo, invoices
from ..principal import Principal
from ..services import Services
from . import render, views
from .pages import acting_for, ctx, customer_page, signed_in
from .requests_pages import points

# refusals of a filter, shown above the list; anything else is an error page
FILTER_REASONS = ("invoice.", "date.", "page_token.")


async def caller(request: Request, services: Services) -> tuple[Principal, context.CallContext]:
    principal = await signed_in(request, services)
    call = ctx(request, principal, acting_for(request, principal))
    if INVOICES_READ not in call.capabilities:
        raise DomainError("forbidden")
    return principal, call


def advance_row(a: billing_pb2.Advance) -> views.AdvanceRow:
    return views.AdvanceRow(
        supply_point=a.supply_point_identifier,
        due_date=date.fromisoformat(a.due_date),
        amount=invoices.money(a.amount),
        outstanding=invoices.money(a.outstanding),
        status=a.status,
        overdue=a.overdue,
    )


def next_advance(advances: list[billing_pb2.Advance], today: date) -> views.PaymentInstructions | None:
    """The first advance still to pay, due today or later (or overdue), with its QR code."""
    due = [a for a in advances if a.payment_string and Decimal(a.outstanding.amount) > 0]
    if not due:
        return None
    first = min(due, key=lambda a: (date.fromisoformat(a.due_date) >= today, a.due_date))
    return invoices.payment_view(
        first.payment_string,
        "",
        "",
        first.variable_symbol,
        invoices.money(first.outstanding),
        date.fromisoformat(first.due_date),
    )


@get("/invoices", name="invoices")
async def invoices_list(request: Request, services: Services, page: str = "") -> Response:
    principal, call = await caller(request, services)
    filters = invoices.filters_of(request.query_params)
    page_ctx = await customer_page(request, services, principal, "invoices")
    today = hdo.today_in(ZoneInfo(render.brand(request).time_zone))
    filter_error = ""
    with context.bound(call):
        offered = await points(services, [call.customer_number])
        try:
            listed = await services.billing.ListInvoices(invoices.list_request(call.customer_number, filters, page))
        except DomainError as err:
            if not err.reason.startswith(FILTER_REASONS):
                raise
            filter_error = render.translate(page_ctx, err.reason, **err.params)
            listed = billing_pb2.ListInvoicesResponse()
        balance = advances = None
        if PAYMENTS_READ in call.capabilities:
            balance, advances = await asyncio.gather(
                services.billing.GetBalance(billing_pb2.GetBalanceRequest(customer_number=call.customer_number)),
                services.billing.ListAdvances(billing_pb2.ListAdvancesRequest(customer_number=call.customer_number)),
            )
    here = views.PATHS["invoices"]
    token = listed.page.next_page_token
    view = views.InvoicesView(
        rows=tuple(invoices.invoice_row(i) for i in listed.invoices),
        total=listed.page.total_size,
        filters=filters,
        statuses=invoices.STATUSES,
        points=tuple(views.RequestPointChoice(p.id, p.identifier) for p in offered),
        advances=tuple(advance_row(a) for a in advances.advances) if advances else (),
        next_advance=next_advance(list(advances.advances), today) if advances else None,
        balance=invoices.money(balance.balance) if balance else None,
        overdue=invoices.money(balance.overdue) if balance else None,
        disconnection_from=date.fromisoformat(balance.disconnection_from)
        if balance and balance.disconnection_from
        else None,
        filter_error=filter_error,
        next_href=f"{here}?{invoices.query_with(filters, page=token)}" if token else None,
        first_href=f"{here}?{invoices.query_with(filters)}" if page else None,
    )
    return render.html(request, "invoices.html", page_ctx, status=400 if filter_error else 200, view=view)


@get("/invoices/{invoice_id:str}", name="invoice")
async def invoice_detail(request: Request, services: Services, invoice_id: str) -> Response:
    principal, call = await caller(request, services)
    with context.bound(call):
        found = await services.billing.GetInvoice(billing_pb2.GetInvoiceRequest(invoice_id=invoice_id[:64]))
    page_ctx = await customer_page(request, services, principal, "invoices")
    return render.html(request, "invoice.html", page_ctx, view=invoices.invoice_view(found.invoice))


@get("/invoices/{invoice_id:str}/{fmt:str}", name="invoice_document")
async def invoice_document(request: Request, services: Services, invoice_id: str, fmt: str) -> Response:
    if fmt not in invoices.FORMATS:
        raise DomainError("not_found")
    _, call = await caller(request, services)
    with context.bound(call):
        return await invoices.document(services.billing, invoice_id, fmt)


ROUTES = [invoices_list, invoice_detail, invoice_document]
