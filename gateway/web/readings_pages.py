"""Meter readings of a supply point with the self-reading form (samoodečet), and its consumption history with a
chart and a CSV export."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect
from portal.accounts.v1 import accounts_pb2
from portal.billing.v1 import billing_pb2
from portal.common.v1 import common_pb2

from kit import context
from kit.authz import CONSUMPTION_READ, READINGS_WRITE
from kit.errors import DomainError

from .. import hdo, i18n, readings
from ..principal import Principal
from ..services import Services
from . import render, views
from .pages import MAX_FIELD, acting_for, ctx, customer_page, row, signed_in

# the refusals the form shows beside the typed values; anything else is an error page
FORM_REASONS = ("reading.", "date.", "idempotency_key.", "conflict")
FIELDS = {"read_on": "read_on", "photo": "photo", "photo_content_type": "photo"}
FLASH_KEY = "readings_flash"


def _unit(commodity: str) -> str:
    return "m³" if commodity == "gas" else "kWh"


def _today(request: Request) -> date:
    return hdo.today_in(ZoneInfo(render.brand(request).time_zone))


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def reading_row(r: billing_pb2.Reading) -> views.ReadingRow:
    return views.ReadingRow(
        read_on=date.fromisoformat(r.read_on),
        source=r.source,
        flagged=r.status == "flagged",
        values={v.register: Decimal(v.value) for v in r.values},
        consumption_kwh=_decimal(r.consumption_kwh),
        has_photo=r.photo_size > 0,
    )


def period_row(p: billing_pb2.ConsumptionPeriod, gas: bool) -> views.ConsumptionPeriodRow:
    return views.ConsumptionPeriodRow(
        period=p.period,
        first_day=date.fromisoformat(p.first_day),
        last_day=date.fromisoformat(p.last_day),
        kwh=Decimal(p.kwh),
        registers={r.register: Decimal(r.kwh) for r in p.registers},
        volume_m3=Decimal(p.volume_m3) if gas and p.volume_m3 else None,
        days_covered=p.days_covered,
        days=p.days,
        estimated=p.estimated,
    )


async def _point(services: Services, supply_point_id: str) -> accounts_pb2.SupplyPoint:
    resp = await services.accounts.GetSupplyPoint(
        accounts_pb2.GetSupplyPointRequest(supply_point_id=supply_point_id[:64])
    )
    return resp.supply_point


async def _caller(request: Request, services: Services, supply_point_id: str) -> tuple[Principal, context.CallContext]:
    principal = await signed_in(request, services)
    number = acting_for(request, principal)
    return principal, ctx(request, principal, number)


async def _readings_page(
    request: Request,
    services: Services,
    principal: Principal,
    call: context.CallContext,
    supply_point_id: str,
    *,
    page_token: str = "",
    form: views.ReadingForm | None = None,
    status: int = 200,
) -> Response:
    if CONSUMPTION_READ not in call.capabilities:
        # the form needs the last reading and the point's registers, which are consumption data
        raise DomainError("forbidden")
    today = _today(request)
    with context.bound(call):
        point, listed, shape = await asyncio.gather(
            _point(services, supply_point_id),
            services.billing.ListReadings(
                billing_pb2.ListReadingsRequest(
                    supply_point_id=point_id(supply_point_id),
                    page=common_pb2.PageRequest(page_size=readings.PAGE_SIZE, page_token=page_token[:512]),
                )
            ),
            services.billing.ConsumptionHistory(readings.registers_request(point_id(supply_point_id), today)),
        )
    registers = tuple(shape.registers)
    unit = _unit(shape.commodity)
    if form is None and READINGS_WRITE in call.capabilities:
        form = views.ReadingForm(
            registers=registers, unit=unit, read_on=today.isoformat(), today=today, idempotency_key=new_key()
        )
    if form is not None:
        form = dataclasses.replace(form, registers=registers, unit=unit, today=today)
    here = views.PATHS["supply_points"] + f"/{point.id}/readings"
    page_ctx = await customer_page(request, services, principal, "supply_points")
    flash = request.session.pop(FLASH_KEY, "") if status == 200 else ""
    if flash:
        page_ctx = dataclasses.replace(page_ctx, flashes=(views.Flash(flash, "success"),))
    view = views.ReadingsView(
        supply_point=row(point),
        registers=registers,
        unit=unit,
        rows=tuple(reading_row(r) for r in listed.readings),
        total=listed.page.total_size,
        form=form,
        next_href=f"{here}?page={listed.page.next_page_token}" if listed.page.next_page_token else None,
        first_href=here if page_token else None,
    )
    return render.html(request, "supply_point_readings.html", page_ctx, status=status, view=view)


def point_id(supply_point_id: str) -> str:
    return supply_point_id[:64]


def new_key() -> str:
    return uuid.uuid4().hex


@get("/supply-points/{supply_point_id:str}/readings", name="supply_point_readings")
async def readings_page(request: Request, services: Services, supply_point_id: str, page: str = "") -> Response:
    principal, call = await _caller(request, services, supply_point_id)
    return await _readings_page(request, services, principal, call, supply_point_id, page_token=page)


async def _posted(request: Request) -> tuple[dict[str, str], UploadFile | None]:
    data = await request.form()
    fields = {k: v[:MAX_FIELD] for k, v in data.items() if isinstance(v, str)}
    photo = data.get("photo")
    return fields, photo if isinstance(photo, UploadFile) and photo.filename else None


def _form_errors(page_ctx: views.Page, err: DomainError) -> views.FormErrors:
    message = render.translate(page_ctx, err.reason, **readings.shown_params(err.params, page_ctx.locale))
    register = err.params.get("register", "")
    name = f"value_{register}" if err.field == "values" and register else FIELDS.get(err.field, "")
    if name:
        return views.FormErrors(fields={name: (message,)})
    return views.FormErrors(form=message)


@post("/supply-points/{supply_point_id:str}/readings", name="supply_point_readings_submit")
async def submit_reading(request: Request, services: Services, supply_point_id: str) -> Response:
    principal, call = await _caller(request, services, supply_point_id)
    data, upload = await _posted(request)
    typed = {r: data[f"value_{r}"] for r in readings.REGISTERS if f"value_{r}" in data}
    confirmed = data.get("confirm_suspicious") == "yes"
    key = data.get("idempotency_key", "")
    try:
        # one byte past the limit tells a photo too large, so no more of it is held
        photo = await upload.read(readings.MAX_PHOTO_BYTES + 1) if upload is not None else b""
        req = readings.submit_request(
            point_id(supply_point_id),
            data.get("read_on", ""),
            typed,
            confirm_suspicious=confirmed,
            photo=photo,
            photo_content_type=(upload.content_type if upload is not None else "") or "",
            idempotency_key=key,
        )
        with context.bound(call):
            await services.billing.SubmitReading(req)
    except DomainError as err:
        if not err.reason.startswith(FORM_REASONS):
            raise
        page_ctx = render.page(request, principal)
        suspicious = None
        if err.reason == "reading.confirm_suspicious":
            suspicious = views.Suspicious(
                Decimal(err.params["consumption_kwh"]),
                Decimal(err.params["expected_kwh"]),
                date.fromisoformat(err.params["last_date"]),
            )
        form = views.ReadingForm(
            registers=(),
            unit="",
            read_on=data.get("read_on", ""),
            today=_today(request),
            idempotency_key=key if len(key) <= readings.MAX_KEY else new_key(),
            values=typed,
            errors=views.NO_ERRORS if suspicious else _form_errors(page_ctx, err),
            suspicious=suspicious,
            photo_dropped=upload is not None,
        )
        return await _readings_page(request, services, principal, call, supply_point_id, form=form, status=400)
    saved = views.N_("Thank you, your meter reading has been saved.")
    request.session[FLASH_KEY] = i18n.gettext(saved, render.locale(request, principal))
    return Redirect(path=views.PATHS["supply_points"] + f"/{point_id(supply_point_id)}/readings")


async def _history(
    request: Request, services: Services, supply_point_id: str, by: str
) -> tuple[Principal, accounts_pb2.SupplyPoint, billing_pb2.ConsumptionHistoryResponse]:
    principal, call = await _caller(request, services, supply_point_id)
    with context.bound(call):
        point, history = await asyncio.gather(
            _point(services, supply_point_id),
            services.billing.ConsumptionHistory(readings.history_request(point_id(supply_point_id), by)),
        )
    return principal, point, history


@get("/supply-points/{supply_point_id:str}/consumption", name="supply_point_consumption")
async def consumption_page(request: Request, services: Services, supply_point_id: str, by: str = "") -> Response:
    by = readings.granularity(by)
    principal, point, history = await _history(request, services, supply_point_id, by)
    gas = history.commodity == "gas"
    view = views.ConsumptionView(
        supply_point=row(point),
        by=by,
        commodity=history.commodity,
        registers=tuple(history.registers),
        periods=tuple(period_row(p, gas) for p in history.periods),
    )
    page_ctx = await customer_page(request, services, principal, "supply_points")
    return render.html(request, "supply_point_consumption.html", page_ctx, view=view)


@get("/supply-points/{supply_point_id:str}/consumption.csv", name="supply_point_consumption_csv")
async def consumption_csv(request: Request, services: Services, supply_point_id: str, by: str = "") -> Response:
    by = readings.granularity(by)
    _, point, history = await _history(request, services, supply_point_id, by)
    return Response(
        readings.csv_text(history),
        media_type="text/csv; charset=utf-8",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{readings.export_name(point.identifier, by)}.csv"',
        },
    )


@get("/supply-points/{supply_point_id:str}/consumption.xlsx", name="supply_point_consumption_xlsx")
async def consumption_xlsx(request: Request, services: Services, supply_point_id: str, by: str = "") -> Response:
    by = readings.granularity(by)
    _, point, history = await _history(request, services, supply_point_id, by)
    return Response(
        readings.xlsx_bytes(history, point.identifier),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{readings.export_name(point.identifier, by)}.xlsx"',
        },
    )


ROUTES = [readings_page, submit_reading, consumption_page, consumption_csv, consumption_xlsx]
