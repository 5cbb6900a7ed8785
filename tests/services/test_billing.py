"""The billing service's readings over real gRPC, PostgreSQL and NATS, with the accounts service it asks about
supply points: a self-reading stored and announced once, refusals that change nothing, who may see which point,
consumption history against the seeded readings, tenant isolation."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg
import nats
import pytest
from nats.js.api import DeliverPolicy
from portal.billing.v1 import billing_pb2 as pb
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub
from portal.common.v1 import common_pb2
from portal.events.v1 import billing_pb2 as events

from kit import bus, context, demo, rpc
from kit import db as kitdb
from kit.errors import DomainError
from kit.service import start
from services.accounts.wiring import SPEC as ACCOUNTS
from services.billing import domain, seed, store
from services.billing.wiring import SPEC

from ..conftest import free_port, own_database, service_settings
from .callers import as_user

VOLTA, BALKAN = demo.tenant("volta"), demo.tenant("balkan")
JANA_ELECTRICITY, JANA_GAS = demo.supply_points("volta", demo.JANA)
SVOBODA_POINT = demo.supply_points("volta", demo.SVOBODA)[0]
IVAN_POINT = demo.supply_points("balkan", demo.IVAN)[0]
BAKERY = demo.supply_points("volta", demo.PEKARNY_A)


@pytest.fixture(scope="module")
def infra(infra):
    """A database of its own: the end-to-end tests store readings for the same demo supply points."""
    return own_database(infra)


@pytest.fixture(scope="module")
async def service(infra, tmp_path_factory):
    settings = service_settings(infra, tmp_path_factory.mktemp("billing"))
    accounts = await start(ACCOUNTS, dataclasses.replace(settings, grpc_port=free_port()))
    billing = await start(
        SPEC,
        dataclasses.replace(settings, grpc_port=free_port(), service_addrs={"accounts": accounts.address}),
    )
    yield billing
    await billing.stop()
    await accounts.stop()


@pytest.fixture(scope="module")
async def billing(service):
    channel = rpc.channel(service.address)
    yield BillingServiceStub(channel)
    await channel.close()


def today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(VOLTA.time_zone)).date()


def values_of(reading: domain.Reading, **extra: Decimal) -> list[pb.RegisterValue]:
    return [pb.RegisterValue(register=r, value=str(v + extra.get(r, 0))) for r, v in reading.values.items()]


def usual_increase(point: demo.SupplyPoint, factor: Decimal = Decimal(1)) -> dict[str, Decimal]:
    """Per register, what the point is expected to use from the last seeded reading to today, times `factor`."""
    info = domain.point_of(point)
    kwh = domain.expected_kwh(info.commodity, info.annual_kwh, seed.LAST, today()) * factor
    if info.commodity == "gas":
        kwh /= domain.VOLUME_CORRECTION * Decimal("10.7")
    share = kwh / len(info.registers)
    return {r: share.quantize(Decimal(1)) for r in info.registers}


async def count(infra, sql: str, *args) -> int:
    conn = await asyncpg.connect(infra.admin_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def stored(infra, point: demo.SupplyPoint) -> tuple[int, int, int]:
    """Readings and register values of a point, and the billing outbox of its tenant."""
    return (
        await count(infra, "SELECT count(*) FROM billing.readings WHERE supply_point_id = $1", point.id),
        await count(
            infra,
            "SELECT count(*) FROM billing.reading_values v JOIN billing.readings r ON r.id = v.reading_id"
            " WHERE r.supply_point_id = $1",
            point.id,
        ),
        await count(infra, "SELECT count(*) FROM billing.outbox WHERE tenant_id = $1", VOLTA.id),
    )


async def published(infra, reading_id: str, settle: float = 1.5) -> list[events.ReadingAccepted]:
    """The ReadingAccepted events of one reading in JetStream once one arrived and no more came for `settle` s."""
    nc = await nats.connect(infra.nats_url)
    try:
        sub = await nc.jetstream().subscribe("billing.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        found: list[events.ReadingAccepted] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        quiet_until = None
        while loop.time() < deadline and (quiet_until is None or loop.time() < quiet_until):
            try:
                msg = await sub.next_msg(timeout=0.3)
            except TimeoutError:
                continue
            if msg.subject != bus.subject_of("billing", events.ReadingAccepted):
                continue
            event = events.ReadingAccepted.FromString(msg.data)
            if event.reading_id == reading_id:
                found.append(event)
                quiet_until = quiet_until or loop.time() + settle
        return found
    finally:
        await nc.close()


async def test_janas_self_reading_is_stored_and_announced_once(billing, infra):
    last = seed.demo_readings(JANA_ELECTRICITY)[-1]
    assert set(last.values) == {"vt", "nt"}
    request = pb.SubmitReadingRequest(
        supply_point_id=str(JANA_ELECTRICITY.id),
        read_on=today().isoformat(),
        values=values_of(last, **usual_increase(JANA_ELECTRICITY)),
        photo=b"\xff\xd8\xff\xe0 a meter",
        photo_content_type="image/jpeg",
        idempotency_key="jana-1",
    )
    with as_user(VOLTA, demo.JANA):
        first = await billing.SubmitReading(request)
        again = await billing.SubmitReading(request)
        listed = await billing.ListReadings(pb.ListReadingsRequest(supply_point_id=str(JANA_ELECTRICITY.id)))
        photo = await billing.GetReadingPhoto(pb.GetReadingPhotoRequest(reading_id=first.reading.id))
    assert (photo.content, photo.content_type) == (request.photo, "image/jpeg")
    for tenant, number in ((VOLTA, demo.SVOBODA), (BALKAN, demo.IVAN)):
        with as_user(tenant, number), pytest.raises(DomainError) as refused:
            await billing.GetReadingPhoto(pb.GetReadingPhotoRequest(reading_id=first.reading.id))
        assert refused.value.reason == "not_found"
    reading = first.reading
    assert first.created and not again.created and again.reading.id == reading.id
    assert (reading.source, reading.status, reading.read_on) == ("customer", "accepted", today().isoformat())
    assert (reading.photo_content_type, reading.photo_size) == ("image/jpeg", len(request.photo))
    assert Decimal(reading.consumption_kwh) == sum(usual_increase(JANA_ELECTRICITY).values())
    assert [r.id for r in listed.readings][:2] == [reading.id, str(seed_id(JANA_ELECTRICITY, seed.LAST))]
    assert listed.page.total_size == 4
    seen = await published(infra, reading.id)
    assert len(seen) == 1
    event = seen[0]
    assert (event.customer_number, event.supply_point_id, event.source, event.commodity) == (
        demo.JANA,
        str(JANA_ELECTRICITY.id),
        "customer",
        "electricity",
    )
    assert {v.register: v.value for v in event.values} == {v.register: v.value for v in reading.values}


def seed_id(point: demo.SupplyPoint, day: date) -> uuid.UUID:
    return demo.demo_id("reading", point.tenant_slug, point.identifier, day.isoformat())


async def test_every_refused_reading_changes_nothing(billing, infra):
    last = seed.demo_readings(JANA_GAS)[-1]
    before = await stored(infra, JANA_GAS)

    def request(read_on: date | str | None = None, **changes) -> pb.SubmitReadingRequest:
        base = pb.SubmitReadingRequest(
            supply_point_id=str(JANA_GAS.id), read_on=str(read_on or today()), values=values_of(last, gas=Decimal(40))
        )
        for name, value in changes.items():
            if name == "values":
                base.ClearField("values")
                base.values.extend(value)
            else:
                setattr(base, name, value)
        return base

    cases = [
        (request(today() + timedelta(days=1)), "reading.date_in_future", {"today": today().isoformat()}),
        (request(seed.LAST - timedelta(days=1)), "reading.before_last", {"last_date": seed.LAST.isoformat()}),
        (request(seed.LAST), "reading.exists_for_date", {"last_date": seed.LAST.isoformat()}),
        (
            request(values=values_of(last, gas=Decimal(-1))),
            "reading.lower_than_last",
            {"register": "gas", "last_value": str(last.values["gas"]), "last_date": seed.LAST.isoformat()},
        ),
        (request(values=values_of(last, gas=usual_increase(JANA_GAS, Decimal(8))["gas"])), "reading.implausible", None),
        (
            request(values=values_of(last, gas=usual_increase(JANA_GAS, Decimal(3))["gas"])),
            "reading.confirm_suspicious",
            None,
        ),
        (request(values=[pb.RegisterValue(register="vt", value="1")]), "reading.registers_invalid", None),
        (request(values=[pb.RegisterValue(register="gas", value="1,2345")]), "reading.value_invalid", None),
        (request(source="operator"), "forbidden", None),
        (request(photo=b"%PDF-1.7", photo_content_type="application/pdf"), "reading.photo_type_invalid", None),
        (
            request(photo=b"x" * (domain.MAX_PHOTO_BYTES + 1), photo_content_type="image/jpeg"),
            "reading.photo_too_large",
            {"max_bytes": str(domain.MAX_PHOTO_BYTES)},
        ),
        (request(read_on="1.12.2026"), "date.invalid", None),
    ]
    with as_user(VOLTA, demo.JANA):
        for call, reason, params in cases:
            with pytest.raises(DomainError) as refused:
                await billing.SubmitReading(call)
            assert refused.value.reason == reason, call
            if params is not None:
                assert refused.value.params == params
            if reason in ("reading.implausible", "reading.confirm_suspicious"):
                assert set(refused.value.params) == {"consumption_kwh", "expected_kwh", "last_date"}
    assert await stored(infra, JANA_GAS) == before


async def test_a_suspicious_reading_is_stored_flagged_once_confirmed(billing, infra):
    last = seed.demo_readings(SVOBODA_POINT)[-1]
    request = pb.SubmitReadingRequest(
        supply_point_id=str(SVOBODA_POINT.id),
        read_on=today().isoformat(),
        values=values_of(last, **usual_increase(SVOBODA_POINT, Decimal(3))),
    )
    with as_user(VOLTA, demo.SVOBODA):
        with pytest.raises(DomainError) as asked:
            await billing.SubmitReading(request)
        assert asked.value.reason == "reading.confirm_suspicious"
        request.confirm_suspicious = True
        confirmed = await billing.SubmitReading(request)
    assert confirmed.reading.status == "flagged"
    assert len(await published(infra, confirmed.reading.id)) == 1


async def test_a_neighbours_or_another_brands_point_is_not_found(billing):
    neighbour = BAKERY[0]
    calls = [
        (billing.SubmitReading, pb.SubmitReadingRequest(read_on=today().isoformat())),
        (billing.ListReadings, pb.ListReadingsRequest()),
        (billing.ConsumptionHistory, pb.ConsumptionHistoryRequest()),
    ]
    for tenant, number, point in (
        (VOLTA, demo.JANA, neighbour),
        (VOLTA, demo.JANA, IVAN_POINT),
        (BALKAN, demo.IVAN, JANA_ELECTRICITY),
        (VOLTA, demo.JANA, None),
    ):
        with as_user(tenant, number):
            for call, request in calls:
                request.supply_point_id = str(point.id) if point else "not-an-id"
                with pytest.raises(DomainError) as refused:
                    await call(request)
                assert refused.value.reason == "not_found"


async def test_a_delegate_reads_consumption_but_may_not_submit(billing):
    accountant = demo.user("volta", "ucetni@volta.example").grants[0]
    subset = frozenset(str(i) for i in accountant.supply_point_ids)
    point = next(p for p in BAKERY if str(p.id) in subset)
    outside = next(p for p in BAKERY if str(p.id) not in subset)
    with as_user(VOLTA, demo.PEKARNY_A, accountant.capabilities, subset):
        history = await billing.ConsumptionHistory(pb.ConsumptionHistoryRequest(supply_point_id=str(point.id)))
        assert history.periods
        # a point of the same customer outside the delegate's subset is unknown to billing too
        with pytest.raises(DomainError) as unknown:
            await billing.ConsumptionHistory(pb.ConsumptionHistoryRequest(supply_point_id=str(outside.id)))
        assert unknown.value.reason == "not_found"
        with pytest.raises(DomainError) as refused:
            await billing.SubmitReading(
                pb.SubmitReadingRequest(supply_point_id=str(point.id), read_on=today().isoformat())
            )
    assert refused.value.reason == "forbidden"


def monthly(commodity: str) -> demo.SupplyPoint:
    return next(p for p in BAKERY if p.commodity == commodity and p.reading_schedule == "monthly")


@pytest.mark.parametrize("commodity", ["electricity", "gas"])
async def test_history_by_month_and_year_matches_the_seeded_readings(billing, commodity):
    point = monthly(commodity)
    readings = {r.read_on: r for r in seed.demo_readings(point)}
    with as_user(VOLTA, demo.PEKARNY_A):
        months = await billing.ConsumptionHistory(
            pb.ConsumptionHistoryRequest(
                supply_point_id=str(point.id), first_day="2024-01-01", last_day=seed.LAST.isoformat()
            )
        )
        years = await billing.ConsumptionHistory(
            pb.ConsumptionHistoryRequest(
                supply_point_id=str(point.id),
                granularity=pb.GRANULARITY_YEAR,
                first_day="2025-01-01",
                last_day="2025-12-31",
            )
        )
    assert months.commodity == commodity
    assert [p.period for p in months.periods] == [f"{d:%Y-%m}" for d in sorted(readings)[:-1]]
    for period in months.periods:
        start = date.fromisoformat(period.first_day)
        after = readings[domain.months_before(start, -1)]
        delta = {r: after.values[r] - readings[start].values[r] for r in after.values}
        if commodity == "gas":
            assert Decimal(period.volume_m3) == delta["gas"]
            assert Decimal(period.kwh) == domain.gas_kwh(delta["gas"], start)
        else:
            assert {c.register: Decimal(c.kwh) for c in period.registers} == delta
        assert (period.days_covered, period.estimated) == (period.days, False)
    [year] = years.periods
    assert (year.period, year.days_covered, year.days) == ("2025", 365, 365)
    assert Decimal(year.kwh) == sum(Decimal(p.kwh) for p in months.periods if p.period.startswith("2025"))
    if commodity == "electricity":
        first, last = readings[date(2025, 1, 1)], readings[date(2026, 1, 1)]
        assert Decimal(year.kwh) == last.total() - first.total()


async def test_readings_page_newest_first_without_repeats(billing):
    point = monthly("electricity")
    seen: list[str] = []
    token = ""
    with as_user(VOLTA, demo.PEKARNY_A):
        while True:
            page = await billing.ListReadings(
                pb.ListReadingsRequest(
                    supply_point_id=str(point.id), page=common_pb2.PageRequest(page_size=10, page_token=token)
                )
            )
            seen += [r.read_on for r in page.readings]
            token = page.page.next_page_token
            if not token:
                break
    assert seen == sorted((r.read_on.isoformat() for r in seed.demo_readings(point)), reverse=True)


@pytest.mark.parametrize("app_filter", [True, False], ids=["with-app-filter", "rls-alone"])
async def test_another_tenant_sees_no_readings(service, monkeypatch, app_filter):
    monkeypatch.setattr(kitdb, "APPLICATION_TENANT_FILTER", app_filter)
    async with service.runtime.db.tenant(BALKAN.id) as conn:
        assert await store.all_of(conn, JANA_ELECTRICITY.id) == []
        assert await store.last_actual(conn, JANA_ELECTRICITY.id) is None
        assert (await store.page(conn, JANA_ELECTRICITY.id, None, 10)) == ([], 0)
    async with service.runtime.db.tenant(VOLTA.id) as conn:
        assert len(await store.all_of(conn, JANA_GAS.id)) == 3


async def test_the_demo_seed_stores_nothing_on_a_second_start(service, infra):
    before = await count(infra, "SELECT count(*) FROM billing.readings")
    values = await count(infra, "SELECT count(*) FROM billing.reading_values")
    await seed.seed(service.runtime)
    assert await count(infra, "SELECT count(*) FROM billing.readings") == before
    assert await count(infra, "SELECT count(*) FROM billing.reading_values") == values
    assert before >= sum(len(seed.demo_readings(p)) for p in demo.supply_points())


async def test_staff_record_operator_readings_and_estimates_without_the_expectation_checks(billing):
    point = next(p for p in BAKERY if p.commodity == "electricity" and p.reading_schedule == "yearly")
    last = seed.demo_readings(point)[-1]
    staff = context.CallContext(tenant_id=str(VOLTA.id), subject="agent-1", subject_kind=context.STAFF, channel="phone")
    with context.bound(staff):
        for source, read_on, factor in (("estimate", today() - timedelta(days=1), 4), ("operator", today(), 3)):
            stored_reading = await billing.SubmitReading(
                pb.SubmitReadingRequest(
                    supply_point_id=str(point.id),
                    read_on=read_on.isoformat(),
                    values=values_of(last, **usual_increase(point, Decimal(factor))),
                    source=source,
                )
            )
            assert (stored_reading.reading.source, stored_reading.reading.status) == (source, "accepted")
        with pytest.raises(DomainError) as refused:
            await billing.SubmitReading(
                pb.SubmitReadingRequest(
                    supply_point_id=str(point.id), read_on=today().isoformat(), values=values_of(last), source="meter"
                )
            )
    assert refused.value.reason == "reading.source_invalid"
