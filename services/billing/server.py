"""gRPC surface of the billing service: protobuf in, protobuf out; rules in domain.py, SQL in store.py.

Every call first asks accounts for the supply point with the caller's context (accounts answers not_found for a
point the caller may not see), then checks the capability against the contract policy on it: readings:write to
submit, consumption:read to list readings and read the history.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc
import sqlalchemy as sa
from portal.billing.v1 import billing_pb2 as pb
from portal.billing.v1 import billing_pb2_grpc
from portal.common.v1 import common_pb2
from portal.events.v1 import billing_pb2 as events

from kit import bus, context, fields, guard
from kit.authz import BILLING_RUN, CONSUMPTION_READ, INVOICES_READ, PAYMENTS_IMPORT, PAYMENTS_READ, READINGS_WRITE
from kit.db import Database
from kit.errors import DomainError

from . import domain, importing, ledger, statements, store
from .accounts import Accounts
from .invoicing import Invoicing

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
# the history a request may span, and its default
MAX_HISTORY_YEARS = 10
DEFAULT_HISTORY_MONTHS = 24
MAX_IDEMPOTENCY_KEY = 200
MAX_NUMBER_DIGITS = 10
MAX_AMOUNT = Decimal("999999999999")
# an advance list spans at most about two years
MAX_ADVANCE_DAYS = 800


def reading_pb(row: sa.Row) -> pb.Reading:
    return pb.Reading(
        id=str(row.id),
        supply_point_id=str(row.supply_point_id),
        read_on=row.read_on.isoformat(),
        source=row.source,
        status=row.status,
        values=[pb.RegisterValue(register=k, value=domain.text(v)) for k, v in store.as_reading(row).values.items()],
        consumption_kwh="" if row.consumption_kwh is None else domain.text(row.consumption_kwh),
        created_at=fields.timestamp(row.created_at),
        photo_content_type=row.photo_content_type or "",
        photo_size=row.photo_size or 0,
    )


def _money(amount: Decimal, currency: str) -> common_pb2.Money:
    return common_pb2.Money(amount=f"{amount:.2f}", currency=currency)


def invoice_pb(row: sa.Row, today: date, *, detail: bool = False) -> pb.Invoice:
    status = ledger.invoice_status(row.amount_due, row.settled)
    settlement = row.settlement
    invoice = pb.Invoice(
        id=str(row.id),
        number=row.number,
        kind=row.kind,
        variable_symbol=row.variable_symbol,
        customer_number=row.customer_number,
        supply_point_id=str(row.supply_point_id),
        supply_point_identifier=row.supply_point_identifier,
        commodity=row.commodity,
        period_from=row.period_from.isoformat(),
        period_to=row.period_to.isoformat(),
        issue_date=row.issue_date.isoformat(),
        due_date=row.due_date.isoformat(),
        total=_money(row.total, row.currency),
        advances=_money(row.advances, row.currency),
        amount_due=_money(row.amount_due, row.currency),
        outstanding=_money(ledger.outstanding(row.amount_due, row.settled), row.currency),
        status=status,
        overdue=ledger.overdue(status, row.due_date, today),
        original_invoice_number=settlement.get("original_number", ""),
        rounding=_money(Decimal(settlement.get("rounding", "0")), row.currency),
        iban=settlement.get("iban", ""),
        bank_account=settlement.get("bank_account", ""),
    )
    if status in (ledger.UNPAID, ledger.PARTIALLY_PAID):
        invoice.payment_string = ledger.payment_code(
            iban=settlement["iban"],
            bic=settlement["bic"],
            recipient=settlement["recipient"],
            amount=ledger.outstanding(row.amount_due, row.settled),
            currency=row.currency,
            variable_symbol=row.variable_symbol,
            due_date=row.due_date,
            commodity=row.commodity,
        )
    if detail:
        invoice.lines.extend(pb.InvoiceLine(**line) for line in settlement.get("lines", ()))
        invoice.vat_breakdown.extend(pb.VatRate(**rate) for rate in settlement.get("vat", ()))
    return invoice


def advance_pb(row: sa.Row, today: date, terms: sa.Row | None, recipient: str) -> pb.Advance:
    status = ledger.advance_status(row.amount, row.paid)
    code = (
        ledger.payment_code(
            iban=terms.collection_iban,
            bic=terms.collection_bic,
            recipient=recipient,
            amount=row.amount - row.paid,
            currency=row.currency,
            variable_symbol=row.variable_symbol,
            due_date=row.due_date,
        )
        if terms is not None
        else ""
    )
    return pb.Advance(
        payment_string=code,
        id=str(row.id),
        supply_point_id=str(row.supply_point_id),
        supply_point_identifier=row.supply_point_identifier,
        variable_symbol=row.variable_symbol,
        due_date=row.due_date.isoformat(),
        amount=_money(row.amount, row.currency),
        outstanding=_money(row.amount - row.paid, row.currency),
        status=status,
        overdue=ledger.overdue(status, row.due_date, today),
    )


def _day(text: str, field: str) -> date | None:
    return fields.parse_day(text, field) if text.strip() else None


def _digits(text: str, field: str) -> str:
    """An invoice number or variable symbol, or its beginning: digits only."""
    cleaned = text.strip()
    if cleaned and not (cleaned.isdigit() and len(cleaned) <= MAX_NUMBER_DIGITS):
        raise DomainError("invoice.number_invalid", field=field)
    return cleaned


def _amount(text: str) -> Decimal | None:
    """An amount as a customer types it: `1234.50`, `1 234,50`, `1234`."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not cleaned:
        return None
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise DomainError("invoice.amount_invalid", field="amount") from None
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise DomainError("invoice.amount_invalid", field="amount")
    return amount


def _source(requested: str) -> str:
    source = requested.strip().lower() or domain.CUSTOMER
    if source not in domain.SOURCES:
        raise DomainError("reading.source_invalid", field="source")
    if source != domain.CUSTOMER and context.current().subject_kind not in (context.STAFF, context.SYSTEM):
        # customers read their own meters; the operator's readings and estimates come from staff and systems
        raise DomainError("forbidden", field="source")
    return source


def _period_pb(period: domain.Period, registers: tuple[str, ...], gas: bool) -> pb.ConsumptionPeriod:
    zero = Decimal(0)
    return pb.ConsumptionPeriod(
        period=period.label,
        first_day=period.first_day.isoformat(),
        last_day=period.last_day.isoformat(),
        kwh=domain.text(sum(period.kwh.values(), zero)),
        volume_m3=domain.text(sum(period.volume_m3.values(), zero)) if gas else "",
        registers=[
            pb.RegisterConsumption(
                register=r,
                kwh=domain.text(period.kwh.get(r, zero)),
                volume_m3=domain.text(period.volume_m3.get(r, zero)) if gas else "",
            )
            for r in registers
        ],
        days_covered=period.days_covered,
        days=period.days,
        estimated=period.estimated,
    )


class BillingServicer(billing_pb2_grpc.BillingServiceServicer):
    def __init__(
        self,
        db: Database,
        accounts: Accounts,
        invoicing: Invoicing,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.invoicing = invoicing
        self.clock = clock

    async def SubmitReading(self, request: pb.SubmitReadingRequest, rpc: grpc.aio.ServicerContext) -> Any:
        point_id = fields.parse_id(request.supply_point_id, "supply_point_id")
        point = await self.accounts.supply_point(point_id, READINGS_WRITE)
        source = _source(request.source)
        reading = domain.Reading(
            read_on=fields.parse_day(request.read_on, "read_on"),
            values=domain.parse_values(((v.register, v.value) for v in request.values), point.facts.registers),
            source=source,
        )
        domain.check_photo(request.photo, request.photo_content_type)
        key = request.idempotency_key.strip() or None
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
            raise DomainError("idempotency_key.invalid", field="idempotency_key")
        now = self.clock()
        today = now.astimezone(await self.accounts.zone()).date()
        ctx = context.current()
        created_by = f"{ctx.subject_kind}:{ctx.subject}"
        async with self.db.tenant() as conn:
            await store.lock_point(conn, point_id)
            if key is not None and (before := await store.by_idempotency_key(conn, created_by, key)) is not None:
                if before.supply_point_id != point_id:
                    raise DomainError("conflict", field="idempotency_key")
                return pb.SubmitReadingResponse(reading=reading_pb(before), created=False)
            last = await store.last_actual(conn, point_id)
            verdict = domain.check_reading(
                point.facts,
                reading,
                store.as_reading(last) if last is not None else None,
                today,
                confirmed=request.confirm_suspicious,
            )
            photo_id = (
                await store.add_photo(conn, request.photo, request.photo_content_type.strip().lower())
                if request.photo
                else None
            )
            row = await store.add_reading(
                conn,
                supply_point_id=point_id,
                customer_number=point.customer_number,
                reading=reading,
                verdict=verdict,
                photo_id=photo_id,
                created_by=created_by,
                channel=ctx.channel,
                idempotency_key=key,
                now=now,
            )
            await bus.emit(
                conn,
                self.db.service,
                events.ReadingAccepted(
                    reading_id=str(row.id),
                    supply_point_id=str(point_id),
                    customer_number=point.customer_number,
                    read_on=reading.read_on.isoformat(),
                    source=source,
                    status=verdict.status,
                    values=[events.ReadingValue(register=k, value=domain.text(v)) for k, v in reading.values.items()],
                    consumption_kwh="" if verdict.consumption_kwh is None else domain.text(verdict.consumption_kwh),
                    submitted_by=ctx.subject,
                    channel=ctx.channel,
                    commodity=point.facts.commodity,
                ),
            )
        return pb.SubmitReadingResponse(reading=reading_pb(row), created=True)

    async def ListReadings(self, request: pb.ListReadingsRequest, rpc: grpc.aio.ServicerContext) -> Any:
        point_id = fields.parse_id(request.supply_point_id, "supply_point_id")
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if not 0 < size <= MAX_PAGE_SIZE:
            raise DomainError("page_size.invalid", field="page_size")
        after = domain.decode_page_token(request.page.page_token) if request.page.page_token else None
        await self.accounts.supply_point(point_id, CONSUMPTION_READ)
        async with self.db.tenant() as conn:
            rows, total = await store.page(conn, point_id, after, size)
        shown = rows[:size]
        more = len(rows) > size
        return pb.ListReadingsResponse(
            readings=[reading_pb(r) for r in shown],
            page=common_pb2.PageInfo(
                next_page_token=domain.encode_page_token(shown[-1].read_on, str(shown[-1].id)) if more else "",
                total_size=total,
            ),
        )

    async def ConsumptionHistory(self, request: pb.ConsumptionHistoryRequest, rpc: grpc.aio.ServicerContext) -> Any:
        point_id = fields.parse_id(request.supply_point_id, "supply_point_id")
        granularity = domain.YEAR if request.granularity == pb.GRANULARITY_YEAR else domain.MONTH
        point = await self.accounts.supply_point(point_id, CONSUMPTION_READ)
        if request.last_day:
            last = fields.parse_day(request.last_day, "last_day")
        else:
            last = self.clock().astimezone(await self.accounts.zone()).date()
        if request.first_day:
            first = fields.parse_day(request.first_day, "first_day")
        else:
            first = domain.months_before(last, DEFAULT_HISTORY_MONTHS - 1)
        if last < first or last.year - first.year > MAX_HISTORY_YEARS:
            raise DomainError("history.days_invalid", field="last_day", params={"max_years": str(MAX_HISTORY_YEARS)})
        async with self.db.tenant() as conn:
            rows = await store.all_of(conn, point_id)
        periods = domain.history(point.facts, [store.as_reading(r) for r in rows], granularity, first, last)
        gas = point.facts.commodity == domain.GAS
        return pb.ConsumptionHistoryResponse(
            commodity=point.facts.commodity,
            registers=point.facts.registers,
            periods=[_period_pb(p, point.facts.registers, gas) for p in periods],
        )

    async def GetReadingPhoto(self, request: pb.GetReadingPhotoRequest, rpc: grpc.aio.ServicerContext) -> Any:
        reading_id = fields.parse_id(request.reading_id, "reading_id")
        async with self.db.tenant() as conn:
            row = await store.reading(conn, reading_id)
        if row is None or row.photo_id is None:
            raise DomainError("not_found")
        await self.accounts.supply_point(row.supply_point_id, CONSUMPTION_READ)
        async with self.db.tenant() as conn:
            photo = await store.photo(conn, row.photo_id)
        if photo is None:
            raise DomainError("not_found")
        return pb.GetReadingPhotoResponse(content=photo.content, content_type=photo.content_type)

    # --- invoices, advances, payments ---------------------------------------------------------------------

    async def _today(self) -> date:
        return self.clock().astimezone(await self.accounts.zone()).date()

    async def ListInvoices(self, request: pb.ListInvoicesRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if not 0 < size <= MAX_PAGE_SIZE:
            raise DomainError("page_size.invalid", field="page_size")
        after = domain.decode_page_token(request.page.page_token) if request.page.page_token else None
        status = request.status.strip()
        if status and status not in store.INVOICE_STATUSES:
            raise DomainError("invoice.status_invalid", field="status")
        subset = guard.supply_points([])
        wanted_point = fields.parse_id(request.supply_point_id, "supply_point_id") if request.supply_point_id else None
        today = await self._today()
        found = store.InvoiceFilter(
            customer_number=number,
            contract_types=await self.accounts.contract_types_allowing(INVOICES_READ),
            only_points=None if subset is None else [uuid.UUID(i) for i in subset],
            number=_digits(request.number, "number"),
            amount=_amount(request.amount),
            issued_from=_day(request.issued_from, "issued_from"),
            issued_to=_day(request.issued_to, "issued_to"),
            due_from=_day(request.due_from, "due_from"),
            due_to=_day(request.due_to, "due_to"),
            status=status,
            supply_point_id=wanted_point,
            today=today,
        )
        async with self.db.tenant() as conn:
            rows, total = await store.invoices_page(conn, found, after, size)
        shown = rows[:size]
        return pb.ListInvoicesResponse(
            invoices=[invoice_pb(r, today) for r in shown],
            page=common_pb2.PageInfo(
                next_page_token=domain.encode_page_token(shown[-1].issue_date, str(shown[-1].id))
                if len(rows) > size
                else "",
                total_size=total,
            ),
        )

    async def _invoice(self, invoice_id: str) -> sa.Row:
        """The invoice if the caller may read it: their customer number, their subset, a contract policy allowing
        invoices:read; otherwise not_found (or forbidden by the policy), as for any other id."""
        parsed = fields.parse_id(invoice_id, "invoice_id")
        async with self.db.tenant() as conn:
            row = await store.invoice(conn, parsed)
        if row is None:
            raise DomainError("not_found")
        guard.owns(row.customer_number)
        subset = guard.supply_point_subset()
        if subset is not None and str(row.supply_point_id) not in subset:
            raise DomainError("not_found")
        if row.contract_type not in await self.accounts.contract_types_allowing(INVOICES_READ):
            raise DomainError("forbidden")
        return row

    async def GetInvoice(self, request: pb.GetInvoiceRequest, rpc: grpc.aio.ServicerContext) -> Any:
        row = await self._invoice(request.invoice_id)
        return pb.GetInvoiceResponse(invoice=invoice_pb(row, await self._today(), detail=True))

    async def GetInvoiceDocument(self, request: pb.GetInvoiceDocumentRequest, rpc: grpc.aio.ServicerContext) -> Any:
        row = await self._invoice(request.invoice_id)
        async with self.db.tenant() as conn:
            document = await store.invoice_document(conn, row.id)
        if document is None:
            raise DomainError("not_found")
        if request.format == pb.DOCUMENT_FORMAT_ISDOC:
            return pb.GetInvoiceDocumentResponse(
                content=document.isdoc, content_type="application/x-isdoc+xml", filename=f"{row.number}.isdoc"
            )
        return pb.GetInvoiceDocumentResponse(
            content=document.pdf, content_type="application/pdf", filename=f"{row.number}.pdf"
        )

    async def ListAdvances(self, request: pb.ListAdvancesRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        today = await self._today()
        first = _day(request.due_from, "due_from") or date(today.year, 1, 1)
        last = _day(request.due_to, "due_to") or date(today.year, 12, 31)
        if last < first or (last - first).days > MAX_ADVANCE_DAYS:
            raise DomainError("advances.days_invalid", field="due_to")
        subset = guard.supply_points([])
        recipient = (await self.accounts.tenant()).legal_entity.name
        async with self.db.tenant() as conn:
            terms = await store.terms(conn)
            rows = await store.advances_of(
                conn,
                number,
                first,
                last,
                await self.accounts.contract_types_allowing(PAYMENTS_READ),
                None if subset is None else [uuid.UUID(i) for i in subset],
            )
        return pb.ListAdvancesResponse(advances=[advance_pb(r, today, terms, recipient) for r in rows])

    async def GetBalance(self, request: pb.GetBalanceRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        types = await self.accounts.contract_types_allowing(PAYMENTS_READ)
        today = await self._today()
        currency = (await self.accounts.tenant()).currency
        async with self.db.tenant() as conn:
            found = await store.balance(conn, number, today, types)
            reminders = await store.open_reminders(conn, number)
        final = [r.deadline for r in reminders if r.level == ledger.FINAL_NOTICE]
        return pb.GetBalanceResponse(
            balance=_money(found.owed, found.currency or currency),
            overdue=_money(found.overdue, found.currency or currency),
            reminders=[
                pb.Reminder(
                    id=str(r.id),
                    level=r.level,
                    issued_on=r.issued_on.isoformat(),
                    deadline=r.deadline.isoformat(),
                    invoice_number=r.invoice_number or "",
                    advance_due_date=r.advance_due.isoformat() if r.advance_due else "",
                    amount=_money(r.amount, r.currency),
                )
                for r in reminders
            ],
            disconnection_from=(min(final) + timedelta(days=1)).isoformat() if final else "",
        )

    async def RunBilling(self, request: pb.RunBillingRequest, rpc: grpc.aio.ServicerContext) -> Any:
        guard.staff_capability(BILLING_RUN)
        run = await self.invoicing.run_batch(request.period, _day(request.issue_date, "issue_date"))
        return pb.RunBillingResponse(
            run_id=str(run.id),
            total=run.issued + run.skipped + run.failed,
            issued=run.issued,
            skipped=run.skipped,
            failed=run.failed,
            problems=run.problems,
            finished=run.finished_at is not None,
            points=run.points,
        )

    async def ImportStatement(self, request: pb.ImportStatementRequest, rpc: grpc.aio.ServicerContext) -> Any:
        guard.staff_capability(PAYMENTS_IMPORT)
        statement, lines = statements.read(request.content)
        # read whole before anything is stored: a statement is refused or imported, never half
        found = list(lines)
        async with self.db.tenant() as conn:
            done = await importing.import_lines(conn, self.db.service, statement.account, found)
        return pb.ImportStatementResponse(
            lines=done.lines, matched=done.matched, queued=done.queued, duplicates=done.duplicates
        )

    async def ListPayments(self, request: pb.ListPaymentsRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        guard.capability(PAYMENTS_READ)
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if not 0 < size <= MAX_PAGE_SIZE:
            raise DomainError("page_size.invalid", field="page_size")
        after = domain.decode_page_token(request.page.page_token) if request.page.page_token else None
        async with self.db.tenant() as conn:
            rows, total = await store.payments_page(conn, number, after, size)
        shown = rows[:size]
        return pb.ListPaymentsResponse(
            payments=[
                pb.Payment(
                    id=str(r.id),
                    direction=r.direction,
                    booked_on=r.booked_on.isoformat(),
                    amount=_money(r.amount, r.currency),
                    variable_symbol=r.variable_symbol,
                    counterparty_account=r.counterparty_account,
                    status=r.status,
                    paid_items=[i for i in (r.paid_items or ()) if i],
                )
                for r in shown
            ],
            page=common_pb2.PageInfo(
                next_page_token=domain.encode_page_token(shown[-1].booked_on, str(shown[-1].id))
                if len(rows) > size
                else "",
                total_size=total,
            ),
        )

    async def ListPaymentQueue(self, request: pb.ListPaymentQueueRequest, rpc: grpc.aio.ServicerContext) -> Any:
        guard.staff_capability(PAYMENTS_IMPORT)
        size = request.page_size or MAX_PAGE_SIZE
        if not 0 < size <= MAX_PAGE_SIZE:
            raise DomainError("page_size.invalid", field="page_size")
        async with self.db.tenant() as conn:
            rows = await store.payment_queue(conn, size)
        return pb.ListPaymentQueueResponse(
            payments=[
                pb.QueuedPayment(
                    id=str(r.id),
                    booked_on=r.booked_on.isoformat(),
                    amount=_money(r.amount, r.currency),
                    variable_symbol=r.variable_symbol,
                    counterparty_account=r.counterparty_account,
                    counterparty_name=r.counterparty_name,
                    message=r.message,
                    status=r.status,
                    unallocated=_money(r.unallocated, r.currency),
                    customer_number=r.customer_number or "",
                )
                for r in rows
            ]
        )
