"""Invoices (faktury), advances (zálohy) and the balance as the pages and the API ask the billing service for them:
the list's filters, the rows the pages show, the QR code of an amount to pay, and a document download."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from io import BytesIO
from urllib.parse import urlencode

import segno
from litestar import Response
from portal.billing.v1 import billing_pb2
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub
from portal.common.v1 import common_pb2

from .web import views

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# the filters of the list, as the query string of the page and the API names them
FILTERS = ("number", "amount", "issued_from", "issued_to", "due_from", "due_to", "status", "supply_point")
STATUSES = ("unpaid", "overdue", "paid", "refund_due", "refunded")
MAX_FILTER = 64
FORMATS = {"pdf": billing_pb2.DOCUMENT_FORMAT_PDF, "isdoc": billing_pb2.DOCUMENT_FORMAT_ISDOC}


def filters_of(query: Mapping[str, str]) -> dict[str, str]:
    """The list's filters from a query string, each cut one character past the longest the service takes, so an
    overlong one is refused with its message rather than shortened unseen."""
    return {k: query.get(k, "").strip()[: MAX_FILTER + 1] for k in FILTERS if query.get(k, "").strip()}


def list_request(
    customer_number: str, filters: Mapping[str, str], page_token: str = "", page_size: int = PAGE_SIZE
) -> billing_pb2.ListInvoicesRequest:
    return billing_pb2.ListInvoicesRequest(
        customer_number=customer_number,
        number=filters.get("number", ""),
        amount=filters.get("amount", ""),
        issued_from=filters.get("issued_from", ""),
        issued_to=filters.get("issued_to", ""),
        due_from=filters.get("due_from", ""),
        due_to=filters.get("due_to", ""),
        status=filters.get("status", ""),
        supply_point_id=filters.get("supply_point", "")[:64],
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token[:512]),
    )


def money(m: common_pb2.Money) -> views.Money:
    return views.Money(Decimal(m.amount or "0"), m.currency)


def invoice_row(i: billing_pb2.Invoice) -> views.InvoiceRow:
    return views.InvoiceRow(
        id=i.id,
        href=f"{views.PATHS['invoices']}/{i.id}",
        number=i.number,
        kind=i.kind,
        supply_point=i.supply_point_identifier,
        issue_date=date.fromisoformat(i.issue_date),
        due_date=date.fromisoformat(i.due_date),
        total=money(i.total),
        amount_due=money(i.amount_due),
        outstanding=money(i.outstanding),
        status=i.status,
        overdue=i.overdue,
        reminder_level=i.reminder_level,
    )


def qr_svg(code: str, title: str) -> str:
    """The QR code of a payment as inline SVG at level M, as QR Platba and the EPC code ask for; the same code the
    PDF prints."""
    out = BytesIO()
    segno.make(code, error="m", boost_error=False).save(
        out, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, title=title, nl=False
    )
    return out.getvalue().decode()


def payment_view(code: str, account: str, iban: str, variable_symbol: str, amount: views.Money, due: date):
    """How to pay an amount: the account, symbol, amount, due day, and the QR code of the same payment."""
    return views.PaymentInstructions(
        account=account,
        iban=iban,
        variable_symbol=variable_symbol,
        amount=amount,
        due_date=due,
        code=code,
        qr_svg=qr_svg(code, variable_symbol) if code else "",
    )


def invoice_view(i: billing_pb2.Invoice) -> views.InvoiceView:
    row = invoice_row(i)
    return views.InvoiceView(
        row=row,
        variable_symbol=i.variable_symbol,
        period_from=date.fromisoformat(i.period_from),
        period_to=date.fromisoformat(i.period_to),
        commodity=i.commodity,
        advances=money(i.advances),
        rounding=money(i.rounding),
        original_number=i.original_invoice_number,
        lines=tuple(
            views.InvoiceLineRow(
                description=line.description,
                quantity=Decimal(line.quantity),
                unit=line.unit,
                unit_price=Decimal(line.unit_price),
                base=Decimal(line.base),
                vat_rate=Decimal(line.vat_rate) * 100,
                total=Decimal(line.total),
            )
            for line in i.lines
        ),
        vat=tuple(
            views.VatRow(rate=Decimal(v.rate) * 100, base=Decimal(v.base), vat=Decimal(v.vat), total=Decimal(v.total))
            for v in i.vat_breakdown
        ),
        payment=payment_view(
            i.payment_string,
            i.bank_account,
            i.iban,
            i.variable_symbol,
            money(i.outstanding),
            date.fromisoformat(i.due_date),
        )
        if i.payment_string
        else None,
        pdf_href=f"{row.href}/pdf",
        isdoc_href=f"{row.href}/isdoc",
    )


def query_with(filters: Mapping[str, str], **more: str) -> str:
    return urlencode({**filters, **more})


async def document(stub: BillingServiceStub, invoice_id: str, fmt: str) -> Response:
    """An invoice's PDF (shown in the browser) or ISDOC (saved), under the call context the handler bound."""
    found = await stub.GetInvoiceDocument(
        billing_pb2.GetInvoiceDocumentRequest(invoice_id=invoice_id[:64], format=FORMATS.get(fmt, FORMATS["pdf"]))
    )
    disposition = "inline" if fmt == "pdf" else "attachment"
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'{disposition}; filename="{found.filename}"',
        },
    )
