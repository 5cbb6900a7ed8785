"""gRPC surface of the billing service: protobuf in, protobuf out; rules in domain.py, SQL in store.py.

Every call first asks accounts for the supply point with the caller's context (accounts answers not_found for a
point the caller may not see), then checks the capability against the contract policy on it: readings:write to
submit, consumption:read to list readings and read the history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
import sqlalchemy as sa
from portal.billing.v1 import billing_pb2 as pb
from portal.billing.v1 import billing_pb2_grpc
from portal.common.v1 import common_pb2
from portal.events.v1 import billing_pb2 as events

from kit import bus, context, fields
from kit.authz import CONSUMPTION_READ, READINGS_WRITE
from kit.db import Database
from kit.errors import DomainError

from . import domain, store
from .accounts import Accounts

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
# the history a request may span, and its default
MAX_HISTORY_YEARS = 10
DEFAULT_HISTORY_MONTHS = 24
MAX_IDEMPOTENCY_KEY = 200


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
        self, db: Database, accounts: Accounts, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.db = db
        self.accounts = accounts
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
