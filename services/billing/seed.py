"""The demo's billing data (kit/demo.py); deterministic, idempotent, runs on every demo start and stores nothing the
second time. No events: the demo's past is not news.

- Two years of the distribution operator's readings for every demo supply point: monthly-read points (and those with
  continuous metering) get a reading on the first of every month, yearly-read ones one a year; the values follow
  each point's expected annual consumption and the seasonal profile, give or take a tenth.
- Each brand's billing terms (the account customers pay to) and price lists (price_lists.py).
- Advance plans (zálohy) of the yearly-settled points for the year ahead, from the price lists and the contract's
  advance cycle; the plans of the years of readings come with the demo's history (history.py), which pays them.
  Monthly-settled points pay each month's invoice instead.

The invoices, payments and reminders of those years come from the demo's history (history.py), which issues them
through the bill run and the statement import once the portal runs.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kit import demo
from kit.db import Database
from kit.identifiers import GAS
from kit.service import Runtime

from . import domain, ledger, pricing, store
from .invoicing import price_list_json
from .price_lists import demo_price_lists

# fixed, so the demo is the same on every machine and every start
FIRST = date(2024, 11, 1)
LAST = date(2026, 11, 1)
# the low tariff's share of a two-tariff point's consumption
NT_SHARE = Decimal("0.55")
MONTHLY = ledger.MONTHLY_SCHEDULES
# the first day of the advance plan's year ahead, and of the plans of the years of readings
PLAN_AHEAD = (LAST,)
PLANS_PAST = (FIRST, domain.months_before(FIRST, -12))
PAYMENT_DAYS = 14


def reading_days(point: demo.SupplyPoint) -> list[date]:
    months = (LAST.year - FIRST.year) * 12 + LAST.month - FIRST.month
    days = [domain.months_before(LAST, months - i) for i in range(months + 1)]
    return days if point.reading_schedule in MONTHLY else [d for d in days if d.month == FIRST.month]


def _whole(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1), ROUND_HALF_UP)


def demo_readings(point: demo.SupplyPoint) -> list[domain.Reading]:
    """The operator's readings of a demo point, oldest first."""
    info = domain.point_of(point)
    rng = random.Random(point.id.int)
    shares = {domain.VT: Decimal(1)} if len(info.registers) == 1 else {domain.VT: 1 - NT_SHARE, domain.NT: NT_SHARE}
    if info.commodity == GAS:
        shares = {domain.GAS_REGISTER: Decimal(1)}
    meter = {r: Decimal(1000 + rng.randrange(40_000)) for r in info.registers}
    wanted = set(reading_days(point))
    found = []
    day = FIRST
    while day <= LAST:
        if day in wanted:
            found.append(domain.Reading(day, {r: _whole(v) for r, v in meter.items()}, domain.OPERATOR))
        following = domain.months_before(day, -1)
        kwh = domain.expected_kwh(info.commodity, info.annual_kwh, day, following)
        kwh *= Decimal(900 + rng.randrange(201)) / 1000
        for register, share in shares.items():
            if info.commodity == GAS:
                meter[register] += kwh / (domain.VOLUME_CORRECTION * domain.CALORIFIC_VALUES[day.month - 1])
            else:
                meter[register] += kwh * share
        day = following
    return found


def rows_of(tenant_id: uuid.UUID, point: demo.SupplyPoint) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    info = domain.point_of(point)
    readings: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    previous = None
    for reading in demo_readings(point):
        reading_id = demo.demo_id("reading", point.tenant_slug, point.identifier, reading.read_on.isoformat())
        readings.append(
            {
                "id": reading_id,
                "tenant_id": tenant_id,
                "supply_point_id": point.id,
                "customer_number": point.customer_number,
                "read_on": reading.read_on,
                "source": domain.OPERATOR,
                "status": domain.ACCEPTED,
                "consumption_kwh": None if previous is None else domain.period_kwh(info, previous, reading),
                "photo_id": None,
                "created_by": "system:demo",
                "channel": "seed",
                "idempotency_key": None,
                "created_at": datetime.combine(reading.read_on, time(6), tzinfo=UTC),
            }
        )
        values += [
            {"reading_id": reading_id, "register": r, "tenant_id": tenant_id, "value": v}
            for r, v in reading.values.items()
        ]
        previous = reading
    return readings, values


def advance_rows(
    point: demo.SupplyPoint, lists: list[pricing.PriceList], starts: tuple[date, ...]
) -> list[dict[str, Any]]:
    """The advances of a yearly-settled demo point's plans; the variable symbol is its contract number's digits."""
    if point.reading_schedule in MONTHLY:
        return []
    facts = pricing.SupplyFacts(
        commodity=point.commodity,
        distribution_tariff=point.distribution_tariff,
        breaker_amps=point.breaker_amps,
        phases=point.phases,
        annual_kwh=point.annual_consumption_kwh,
        hdo_code=point.hdo_code,
    )
    product = pricing.of_product(lists, point.product)
    symbol = "".join(c for c in point.contract.number if c.isdigit())[-10:]
    cycle = point.contract.advance_cycle if point.contract.advance_cycle in pricing.ADVANCES_PER_YEAR else "monthly"
    rows = []
    for start in starts:
        plan = pricing.advance_plan(facts, product, start, cycle)
        rows += [
            {
                "supply_point_id": point.id,
                "supply_point_identifier": point.identifier,
                "customer_number": point.customer_number,
                "contract_type": point.contract.contract_type,
                "variable_symbol": symbol,
                "due_date": advance.due_on,
                "amount": advance.amount,
                "currency": plan.currency,
            }
            for advance in plan.advances
        ]
    return rows


async def seed(rt: Runtime) -> None:
    for t in demo.tenants():
        readings: list[dict[str, Any]] = []
        values: list[dict[str, Any]] = []
        lists = demo_price_lists(t.slug)
        advances: list[dict[str, Any]] = []
        for point in demo.supply_points(t.slug):
            more_readings, more_values = rows_of(t.id, point)
            readings += more_readings
            values += more_values
            advances += advance_rows(point, lists, PLAN_AHEAD)
        async with rt.db.tenant(t.id) as conn:
            await store.add_many(conn, readings, values)
            await store.put_terms(conn, t.collection_iban, "", PAYMENT_DAYS)
            await store.put_price_lists(
                conn,
                [
                    {
                        "product": pl.product,
                        "commodity": pl.commodity,
                        "valid_from": pl.valid_from,
                        "valid_to": pl.valid_to,
                        "currency": pl.currency,
                        "body": price_list_json(pl),
                    }
                    for pl in lists
                ],
            )
            await store.put_advances(conn, advances)


async def past_advances(db: Database, tenant: demo.Tenant) -> None:
    """The advance plans of the years of readings (for the demo's history, which pays them)."""
    lists = demo_price_lists(tenant.slug)
    rows = [row for point in demo.supply_points(tenant.slug) for row in advance_rows(point, lists, PLANS_PAST)]
    async with db.tenant(tenant.id) as conn:
        await store.put_advances(conn, rows)
