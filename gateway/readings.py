"""Meter readings (odečty) and consumption history as the pages and the API ask the billing service for them.

What both need lives here: the photo limit checked before anything is sent, the request for a self-reading
(samoodečet), the request for a history by month or year, and the history as CSV rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import openpyxl
from portal.billing.v1 import billing_pb2

from kit.errors import DomainError

from . import i18n
from .web.views import LABELS

# billing's limit; refused here first, so a too large upload never travels on to it
MAX_PHOTO_BYTES = 4_000_000
# every register a meter may have: high and low tariff, gas
REGISTERS = ("vt", "nt", "gas")
GRANULARITIES: Mapping[str, int] = {"month": billing_pb2.GRANULARITY_MONTH, "year": billing_pb2.GRANULARITY_YEAR}
MAX_KEY = 200
# the first page of the reading history, and the largest one the API asks for
PAGE_SIZE = 12
MAX_PAGE_SIZE = 100


def granularity(by: str) -> str:
    """`month` or `year`; anything else reads as the default, month."""
    return by if by in GRANULARITIES else "month"


def check_photo_size(size: int) -> None:
    if size > MAX_PHOTO_BYTES:
        raise DomainError("reading.photo_too_large", field="photo", params={"max_bytes": str(MAX_PHOTO_BYTES)})


def shown_params(params: Mapping[str, str], locale: str) -> dict[str, str]:
    """A refusal's parameters as its message shows them: days and numbers in the page's language, registers by
    their names, the photo limit in megabytes."""
    shown = dict(params)
    for name in ("today", "last_date"):
        if name in params:
            shown[name] = i18n.format_date(date.fromisoformat(params[name]), locale)
    for name in ("consumption_kwh", "expected_kwh", "limit_kwh", "last_value"):
        if name in params:
            shown[name] = i18n.format_number(Decimal(params[name]), locale)
    if "register" in params:
        shown["register"] = _register(params["register"], locale)
    if "registers" in params:
        shown["registers"] = ", ".join(_register(r, locale) for r in params["registers"].split())
    if "max_bytes" in params:
        shown["max_mb"] = i18n.format_number(Decimal(params["max_bytes"]) / 1_000_000, locale)
    return shown


def _register(code: str, locale: str) -> str:
    label = LABELS["register"].get(code)
    return i18n.gettext(label, locale) if label else code


def export_name(identifier: str, by: str) -> str:
    """The file name of an export: the supply point's EAN/EIC (digits, letters, hyphens) and the granularity."""
    safe = "".join(c for c in identifier if c.isascii() and (c.isalnum() or c == "-"))
    return f"consumption-{safe}-{granularity(by)}"


def submit_request(
    supply_point_id: str,
    read_on: str,
    values: Mapping[str, str],
    *,
    confirm_suspicious: bool = False,
    photo: bytes = b"",
    photo_content_type: str = "",
    idempotency_key: str = "",
) -> billing_pb2.SubmitReadingRequest:
    check_photo_size(len(photo))
    return billing_pb2.SubmitReadingRequest(
        supply_point_id=supply_point_id,
        read_on=read_on.strip()[:32],
        values=[billing_pb2.RegisterValue(register=r, value=v[:32]) for r, v in values.items()],
        confirm_suspicious=confirm_suspicious,
        photo=photo,
        photo_content_type=photo_content_type[:100] if photo else "",
        source="customer",
        idempotency_key=idempotency_key.strip()[: MAX_KEY + 1],
    )


def history_request(
    supply_point_id: str, by: str, first_day: str = "", last_day: str = ""
) -> billing_pb2.ConsumptionHistoryRequest:
    return billing_pb2.ConsumptionHistoryRequest(
        supply_point_id=supply_point_id,
        granularity=GRANULARITIES[granularity(by)],
        first_day=first_day.strip()[:32],
        last_day=last_day.strip()[:32],
    )


def registers_request(supply_point_id: str, today: date) -> billing_pb2.ConsumptionHistoryRequest:
    """The cheapest question whose answer names the point's registers: the history of one day."""
    return history_request(supply_point_id, "month", today.isoformat(), today.isoformat())


def export_table(history: billing_pb2.ConsumptionHistoryResponse) -> tuple[list[str], list[list[str]]]:
    """Column names and one row per period, oldest first, as the API gives the numbers: kWh per register, and m³
    for gas."""
    gas = history.commodity == "gas"
    registers = list(history.registers)
    columns = ["period", "first_day", "last_day", "kwh", *(f"kwh_{r}" for r in registers)]
    if gas:
        columns.append("volume_m3")
    columns += ["days_covered", "days", "estimated"]
    rows = []
    for p in history.periods:
        by_register = {r.register: r.kwh for r in p.registers}
        row = [p.period, p.first_day, p.last_day, p.kwh, *(by_register.get(r, "0") for r in registers)]
        if gas:
            row.append(p.volume_m3)
        row += [str(p.days_covered), str(p.days), "yes" if p.estimated else "no"]
        rows.append(row)
    return columns, rows


def csv_text(history: billing_pb2.ConsumptionHistoryResponse) -> str:
    """Decimal points and ISO days, so any program reads the numbers as the API gives them."""
    columns, rows = export_table(history)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def xlsx_bytes(history: billing_pb2.ConsumptionHistoryResponse, title: str) -> bytes:
    """The same table as a workbook: quantities as numbers and days as dates, so a spreadsheet can sum and chart
    them without conversion."""
    columns, rows = export_table(history)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(columns)
    for row in rows:
        sheet.append([_cell(name, value) for name, value in zip(columns, row, strict=True)])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(column: str, value: str) -> object:
    if column in ("first_day", "last_day"):
        return date.fromisoformat(value)
    if column.startswith("kwh") or column == "volume_m3":
        return Decimal(value)
    if column.startswith("days"):
        return int(value)
    return value
