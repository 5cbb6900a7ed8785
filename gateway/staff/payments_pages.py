"""The staff console's payments: the import of a bank statement (camt.053 or ABO/GPC) and the queue of payments the
matching left for a person — partial, over- and unmatched ones and returned money. Tenant administrators only: the
billing service checks the role again on every call."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from portal.billing.v1 import billing_pb2

from kit import authz, context
from kit.errors import DomainError

from .. import i18n
from ..services import Services
from ..web import render
from ..web.pages import ctx
from ..web.views import N_, FormErrors, Money
from . import views
from .pages import MAX_BODY_BYTES, MAX_MB, MAX_UPLOAD_BYTES, needs, refusal, staff_member, staff_page

IMPORT_REFUSED = "statement."


def queued_row(p: billing_pb2.QueuedPayment) -> views.QueuedPaymentRow:
    return views.QueuedPaymentRow(
        booked_on=date.fromisoformat(p.booked_on),
        amount=Money(Decimal(p.amount.amount), p.amount.currency),
        unallocated=Money(Decimal(p.unallocated.amount), p.unallocated.currency),
        variable_symbol=p.variable_symbol,
        counterparty=" ".join(x for x in (p.counterparty_name, p.counterparty_account) if x),
        message=p.message,
        status=p.status,
        customer_number=p.customer_number,
    )


async def payments_page(
    request: Request, services: Services, outcome: views.StatementOutcome | None, errors: FormErrors, status: int
) -> Response:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.PAYMENTS_IMPORT)
    with context.bound(ctx(request, principal)):
        queue = await services.billing.ListPaymentQueue(billing_pb2.ListPaymentQueueRequest())
    view = views.PaymentsView(
        rows=tuple(queued_row(p) for p in queue.payments), outcome=outcome, errors=errors, max_mb=MAX_MB
    )
    page_ctx = staff_page(request, principal, capabilities, "staff_payments")
    return render.html(request, "staff/payments.html", page_ctx, status=status, view=view)


@get(views.PAYMENTS_PATH, name="staff_payments")
async def payments(request: Request, services: Services) -> Response:
    return await payments_page(request, services, None, FormErrors(), 200)


@post(views.PAYMENTS_PATH, name="staff_payments_import", request_max_body_size=MAX_BODY_BYTES)
async def import_statement(request: Request, services: Services) -> Response:
    principal, capabilities = await staff_member(request, services)
    needs(capabilities, authz.PAYMENTS_IMPORT)
    page_ctx = staff_page(request, principal, capabilities, "staff_payments")
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        message = i18n.gettext(N_("Choose the file to import."), page_ctx.locale)
        return await payments_page(request, services, None, FormErrors(fields={"file": (message,)}), 400)
    file_name = upload.filename[:200]
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        if len(content) > MAX_UPLOAD_BYTES:
            raise DomainError(IMPORT_REFUSED + "too_large", params={"max": str(MAX_UPLOAD_BYTES)})
        with context.bound(ctx(request, principal)):
            done = await services.billing.ImportStatement(
                billing_pb2.ImportStatementRequest(content=content, filename=file_name)
            )
    except DomainError as err:
        if not err.reason.startswith(IMPORT_REFUSED):
            raise
        outcome: views.StatementOutcome = refusal(page_ctx, err, file_name)
        return await payments_page(request, services, outcome, FormErrors(), 400)
    outcome = views.StatementResult(file_name, done.lines, done.matched, done.queued, done.duplicates)
    return await payments_page(request, services, outcome, FormErrors(), 200)


ROUTES = [payments, import_statement]
