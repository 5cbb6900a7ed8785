"""The hdo service over real gRPC, PostgreSQL and NATS: imports, history as valid then, outages and their events
once per change, tenant isolation and who may import."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import icalendar
import nats
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.api import DeliverPolicy
from portal.common.v1 import common_pb2
from portal.events.v1 import hdo_pb2 as events
from portal.hdo.v1 import hdo_pb2 as pb
from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub

from kit import authz, bus, cli, context, demo, rpc
from kit import db as kitdb
from kit.errors import DomainError
from kit.service import start
from services.hdo import seed
from services.hdo.wiring import SPEC

from ..conftest import free_port, service_settings

PRAGUE = ZoneInfo("Europe/Prague")
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "hdo"
EAN = "859182400100000011"
OTHER_EAN = "859182400100000028"


@pytest.fixture(scope="module")
async def service(infra, tmp_path_factory):
    settings = service_settings(infra, tmp_path_factory.mktemp("hdo"))
    running = await start(SPEC, dataclasses.replace(settings, grpc_port=free_port()))
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def hdo(service):
    channel = rpc.channel(service.address)
    yield HdoServiceStub(channel)
    await channel.close()


@pytest.fixture
def tenant() -> str:
    """A tenant of its own per test, so runs against a shared NATS and database never see each other's data."""
    return str(uuid.uuid4())


def as_staff(tenant_id: str) -> context.bound:
    return context.bound(
        context.CallContext(
            tenant_id=tenant_id,
            subject="staff-1",
            subject_kind=context.STAFF,
            capabilities=frozenset({authz.TENANT_ADMIN}),
        )
    )


def as_customer(tenant_id: str) -> context.bound:
    return context.bound(
        context.CallContext(
            tenant_id=tenant_id,
            subject="user-1",
            subject_kind=context.USER,
            customer_number="1000000001",
            customer_numbers=frozenset({"1000000001"}),
            capabilities=frozenset({"supply_points:read"}),
        )
    )


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value.astimezone(UTC))
    return out


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PRAGUE)


def windows_of(resp: pb.GetScheduleResponse) -> list[tuple[datetime, datetime]]:
    return [(w.start.ToDatetime(tzinfo=UTC), w.end.ToDatetime(tzinfo=UTC)) for w in resp.windows]


async def count_rows(infra, table: str, tenant_id: str) -> int:
    conn = await asyncpg.connect(infra.admin_url)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM hdo.{table} WHERE tenant_id = $1", uuid.UUID(tenant_id))
    finally:
        await conn.close()


async def test_dip_import_answers_schedule_and_low_tariff(hdo, tenant):
    content = (SAMPLES / "cez_dip_switch-times_signals.json").read_bytes()
    with as_staff(tenant):
        imported = await hdo.ImportSchedule(pb.ImportScheduleRequest(content=content, file_name="dip.json"))
        assert (imported.format, imported.codes) == ("cez-dip", 3)
        assert list(imported.changed_codes) == ["A3B4DP1", "A3B4DP2", "A3B4DP6"]
    with as_customer(tenant):
        day = await hdo.GetSchedule(pb.GetScheduleRequest(code="a3b4dp01", first_day="2025-08-14"))
        assert windows_of(day)[0] == (local(2025, 8, 14, 0), local(2025, 8, 14, 5, 35))
        # 21:15 on Thursday runs on to 05:35 on Friday, shown whole
        assert windows_of(day)[-1] == (local(2025, 8, 14, 21, 15), local(2025, 8, 15, 5, 35))
        assert day.low_tariff_seconds == (335 + 145 + 322 + 241 + 165) * 60
        assert [(v.valid_from, v.source_format) for v in day.versions] == [("2025-08-14", "cez-dip")]
        now = await hdo.IsLowTariff(pb.IsLowTariffRequest(code="A3B4DP1", at=ts(local(2025, 8, 14, 23))))
        assert (now.low_tariff, now.known) == (True, True)
        assert now.until.ToDatetime(tzinfo=UTC) == local(2025, 8, 15, 5, 35)
        unknown = await hdo.IsLowTariff(pb.IsLowTariffRequest(code="A3B4DP1", at=ts(local(2025, 9, 1, 12))))
        assert (unknown.low_tariff, unknown.known, unknown.HasField("until")) == (False, False, False)


async def test_reimport_and_malformed_import_change_nothing(hdo, tenant, infra):
    content = (SAMPLES / "cez_legacy_containers_stred_A3B7DP6.json").read_bytes()
    with as_staff(tenant):
        first = await hdo.ImportSchedule(pb.ImportScheduleRequest(content=content, format="cez-legacy"))
        assert list(first.changed_codes) == ["A3B7DP6"] and first.import_id
        state = [await count_rows(infra, t, tenant) for t in ("schedule_imports", "schedule_versions", "outbox")]
        again = await hdo.ImportSchedule(pb.ImportScheduleRequest(content=content))
        assert list(again.changed_codes) == [] and again.import_id == ""
        broken = b"code,valid_from,valid_to,days,windows\nA3,2021-11-01,,mon,1:00-2:00\nA3,2021-11-01,,sat,7:60-9:00"
        with pytest.raises(DomainError) as refused:
            await hdo.ImportSchedule(pb.ImportScheduleRequest(content=broken))
        assert refused.value.reason == "hdo.import.time_invalid"
        assert refused.value.params == {"line": "3", "value": "7:60"}
        assert [
            await count_rows(infra, t, tenant) for t in ("schedule_imports", "schedule_versions", "outbox")
        ] == state
    with as_customer(tenant):
        thursday = await hdo.IsLowTariff(pb.IsLowTariffRequest(code="A3B7DP6", at=ts(local(2021, 11, 18, 1, 46))))
        sunday = await hdo.IsLowTariff(pb.IsLowTariffRequest(code="A3B7DP6", at=ts(local(2021, 11, 21, 15, 30))))
    assert (thursday.low_tariff, sunday.low_tariff) == (False, True)
    assert thursday.until.ToDatetime(tzinfo=UTC) == local(2021, 11, 18, 1, 50)


def csv_schedule(valid_from: date, windows: str, valid_to: str = "") -> bytes:
    return f"code,valid_from,valid_to,days,windows\nH1,{valid_from},{valid_to},mon-sun,{windows}\n".encode()


async def test_history_reads_as_it_was_valid_then(hdo, tenant):
    today = datetime.now(PRAGUE).date()
    season = today - timedelta(days=100)
    with as_staff(tenant):
        await hdo.ImportSchedule(pb.ImportScheduleRequest(content=csv_schedule(season, "00:00-06:00")))
        # a correction for the same season arrives today: it counts from today, the past stays as it was
        await hdo.ImportSchedule(pb.ImportScheduleRequest(content=csv_schedule(season, "01:00-07:00")))
        await hdo.ImportSchedule(
            pb.ImportScheduleRequest(content=csv_schedule(today + timedelta(days=10), "02:00-08:00"))
        )

    async def first_window(day: date) -> tuple[int, int]:
        resp = await hdo.GetSchedule(pb.GetScheduleRequest(code="H1", first_day=day.isoformat()))
        start, end = windows_of(resp)[0]
        return start.astimezone(PRAGUE).hour, end.astimezone(PRAGUE).hour

    with as_customer(tenant):
        assert await first_window(today - timedelta(days=90)) == (0, 6)
        assert await first_window(today - timedelta(days=1)) == (0, 6)
        assert await first_window(today) == (1, 7)
        assert await first_window(today + timedelta(days=10)) == (2, 8)
        week = await hdo.GetSchedule(
            pb.GetScheduleRequest(
                code="H1", first_day=(today - timedelta(days=3)).isoformat(), last_day=today.isoformat()
            )
        )
        assert [v.effective_from for v in week.versions] == [season.isoformat(), today.isoformat()]


async def test_calendar_feed_yields_the_schedule_windows(hdo, tenant):
    content = (SAMPLES / "cez_dip_switch-times_signals.json").read_bytes()
    with as_staff(tenant):
        await hdo.ImportSchedule(pb.ImportScheduleRequest(content=content))
    with as_customer(tenant):
        days = {"first_day": "2025-08-14", "last_day": "2025-08-15"}
        feed = await hdo.GetCalendar(pb.GetCalendarRequest(code="A3B4DP1", **days))
        schedule = await hdo.GetSchedule(pb.GetScheduleRequest(code="A3B4DP1", **days))
    parsed = icalendar.Calendar.from_ical(feed.content)
    assert [(e.decoded("dtstart"), e.decoded("dtend")) for e in parsed.walk("VEVENT")] == windows_of(schedule)


def outages_file(**changes: object) -> bytes:
    outage = {
        "id": "110004711",
        "start": "2030-03-10T07:30",
        "end": "2030-03-10T14:00",
        "reason": "Výměna sloupu",
        "eans": [EAN],
        "areas": [{"postal_code": "503 41", "city": "Hradec Králové", "street": "Pražská", "house_to": 40}],
    }
    return json.dumps({"operator": "ČEZ Distribuce", "outages": [{**outage, **changes}]}).encode()


OUTAGE_EVENTS = {
    bus.subject_of("hdo", m).removeprefix("hdo."): m
    for m in (events.OutagePlanned, events.OutageChanged, events.OutageCancelled)
}


async def published(infra, tenant_id: str, expected: int, settle: float = 1.5) -> list[tuple[str, events.OutageNotice]]:
    """The tenant's outage events in JetStream once `expected` have arrived and no more came for `settle` s."""
    nc = await nats.connect(infra.nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe("hdo.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        found: list[tuple[str, events.OutageNotice]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        quiet_until = None
        while loop.time() < deadline and (quiet_until is None or loop.time() < quiet_until):
            try:
                msg = await sub.next_msg(timeout=0.3)
            except TimeoutError:
                continue
            kind = msg.subject.removeprefix("hdo.")
            if (msg.headers or {}).get(bus.TENANT_HEADER) != tenant_id or kind not in OUTAGE_EVENTS:
                continue
            found.append((kind, OUTAGE_EVENTS[kind].FromString(msg.data).outage))
            if len(found) >= expected and quiet_until is None:
                quiet_until = loop.time() + settle
        return found
    finally:
        await nc.close()


async def test_outage_events_once_per_change_however_often_imported(hdo, tenant, infra):
    with as_staff(tenant):
        planned = await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file()))
        again = await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file()))
        moved = outages_file(end="2030-03-10T16:00")
        changed = await hdo.ImportOutages(pb.ImportOutagesRequest(content=moved))
        await hdo.ImportOutages(pb.ImportOutagesRequest(content=moved))
        cancelled = await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file(cancelled=True)))
        await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file(cancelled=True)))
    assert (planned.planned, again.unchanged, changed.changed, cancelled.cancelled) == (1, 1, 1, 1)
    seen = await published(infra, tenant, expected=3)
    assert [(kind, n.version, n.state) for kind, n in seen] == [
        ("outage_planned", 1, "planned"),
        ("outage_changed", 2, "changed"),
        ("outage_cancelled", 3, "cancelled"),
    ]
    notice = seen[0][1]
    assert (notice.external_id, notice.reason, list(notice.eans)) == ("110004711", "Výměna sloupu", [EAN])
    assert notice.starts_at.ToDatetime(tzinfo=UTC) == local(2030, 3, 10, 7, 30)
    assert notice.areas[0].house_to == 40 and not notice.areas[0].HasField("house_from")
    assert seen[2][1].ends_at.ToDatetime(tzinfo=UTC) == local(2030, 3, 10, 16)
    assert len({n.outage_id for _, n in seen}) == 1


async def test_outages_match_supply_points_by_ean_or_address(hdo, tenant):
    with as_staff(tenant):
        await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file()))
    places = [
        pb.SupplyPlace(supply_point_id="by-ean", ean=EAN),
        pb.SupplyPlace(
            supply_point_id="by-address",
            ean=OTHER_EAN,
            address=common_pb2.Address(
                street="Pražská", house_number="1204/12", city="Hradec Králové", postal_code="50341"
            ),
        ),
        pb.SupplyPlace(
            supply_point_id="elsewhere",
            ean="",
            address=common_pb2.Address(street="Pražská", house_number="99", city="Hradec Králové", postal_code="50341"),
        ),
    ]
    with as_customer(tenant):
        found = await hdo.ListOutages(pb.ListOutagesRequest(supply_points=places))
        later = await hdo.ListOutages(pb.ListOutagesRequest(supply_points=places, ends_after=ts(local(2030, 3, 11))))
    assert [list(o.supply_point_ids) for o in found.outages] == [["by-ean", "by-address"]]
    assert found.outages[0].notice.state == "planned" and not later.outages
    with as_staff(tenant):
        await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file(cancelled=True)))
    with as_customer(tenant):
        assert not (await hdo.ListOutages(pb.ListOutagesRequest(supply_points=places))).outages
        shown = await hdo.ListOutages(pb.ListOutagesRequest(supply_points=places, include_cancelled=True))
    assert shown.outages[0].notice.state == "cancelled"


@pytest.mark.parametrize("app_filter", [True, False], ids=["with-app-filter", "rls-alone"])
async def test_another_tenant_sees_nothing_and_customers_cannot_import(hdo, tenant, monkeypatch, app_filter):
    monkeypatch.setattr(kitdb, "APPLICATION_TENANT_FILTER", app_filter)
    other = str(uuid.uuid4())
    with as_staff(tenant):
        await hdo.ImportSchedule(
            pb.ImportScheduleRequest(content=(SAMPLES / "cez_dip_switch-times_signals.json").read_bytes())
        )
        await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file()))
    with as_customer(other):
        schedule = await hdo.GetSchedule(pb.GetScheduleRequest(code="A3B4DP1", first_day="2025-08-14"))
        now = await hdo.IsLowTariff(pb.IsLowTariffRequest(code="A3B4DP1", at=ts(local(2025, 8, 14, 23))))
        feed = await hdo.GetCalendar(pb.GetCalendarRequest(code="A3B4DP1", first_day="2025-08-14"))
        outages = await hdo.ListOutages(
            pb.ListOutagesRequest(supply_points=[pb.SupplyPlace(supply_point_id="x", ean=EAN)])
        )
        assert (list(schedule.windows), list(schedule.versions), now.known, now.low_tariff) == ([], [], False, False)
        assert not icalendar.Calendar.from_ical(feed.content).walk("VEVENT") and not outages.outages
        for call, request in (
            (hdo.ImportSchedule, pb.ImportScheduleRequest(content=csv_schedule(date(2025, 1, 1), "00:00-06:00"))),
            (hdo.ImportOutages, pb.ImportOutagesRequest(content=outages_file())),
        ):
            with pytest.raises(DomainError) as refused:
                await call(request)
            assert refused.value.reason == "forbidden"


async def test_only_administrators_import_and_every_import_is_audited(hdo, tenant, infra):
    agent = context.CallContext(
        tenant_id=tenant,
        subject="agent-1",
        subject_kind=context.STAFF,
        capabilities=frozenset({authz.CUSTOMER_SERVICE}),
    )
    schedule = pb.ImportScheduleRequest(content=csv_schedule(date(2025, 1, 1), "00:00-06:00"), file_name="nt.csv")
    with context.bound(agent):
        for call, request in (
            (hdo.ImportSchedule, schedule),
            (hdo.ImportOutages, pb.ImportOutagesRequest(content=outages_file())),
        ):
            with pytest.raises(DomainError) as refused:
                await call(request)
            assert refused.value.reason == "forbidden"
    assert await count_rows(infra, "schedule_versions", tenant) == 0
    with as_staff(tenant):
        imported = await hdo.ImportSchedule(schedule)
        await hdo.ImportSchedule(schedule)
        await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file(), file_name="odstavky.json"))
        await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file(reason="Oprava vedení")))
    conn = await asyncpg.connect(infra.admin_url)
    try:
        rows = await conn.fetch(
            "SELECT actor, actor_kind, entity, entity_id, action, before, after FROM hdo.audit_log"
            " WHERE tenant_id = $1 ORDER BY id",
            uuid.UUID(tenant),
        )
    finally:
        await conn.close()
    # the same switching times again change nothing, so they leave no trace either
    assert [(r["actor"], r["actor_kind"], r["entity"], r["action"]) for r in rows] == [
        ("staff-1", "staff", "schedule_import", "imported"),
        ("staff-1", "staff", "outage", "planned"),
        ("staff-1", "staff", "outage", "changed"),
    ]
    assert rows[0]["entity_id"] == imported.import_id
    assert json.loads(rows[0]["after"]) == {"file_name": "nt.csv", "format": "csv", "changed_codes": ["H1"]}
    assert json.loads(rows[1]["after"])["file_name"] == "odstavky.json" and json.loads(rows[1]["before"]) is None
    assert json.loads(rows[2]["before"])["reason"] == "Výměna sloupu"
    assert json.loads(rows[2]["after"])["reason"] == "Oprava vedení"


async def test_staff_list_every_outage_customers_only_theirs(hdo, tenant):
    with as_staff(tenant):
        await hdo.ImportOutages(pb.ImportOutagesRequest(content=outages_file(eans=[OTHER_EAN], areas=[])))
    agent = context.CallContext(
        tenant_id=tenant,
        subject="agent-1",
        subject_kind=context.STAFF,
        capabilities=frozenset({authz.CUSTOMER_SERVICE}),
    )
    everything = pb.ListOutagesRequest(all_outages=True, ends_after=ts(local(2030, 1, 1)))
    with context.bound(agent):
        listed = await hdo.ListOutages(everything)
    assert [(o.notice.external_id, list(o.notice.eans)) for o in listed.outages] == [("110004711", [OTHER_EAN])]
    with as_customer(tenant), pytest.raises(DomainError) as refused:
        await hdo.ListOutages(everything)
    assert refused.value.reason == "forbidden"
    with context.bound(agent.with_(tenant_id=str(uuid.uuid4()))):
        assert not (await hdo.ListOutages(everything)).outages


async def test_bad_requests_are_refused_with_a_reason(hdo, tenant):
    with as_customer(tenant):
        for request, reason in (
            (pb.GetScheduleRequest(code="", first_day="2025-08-14"), "hdo.code.required"),
            (pb.GetScheduleRequest(code="A1", first_day="14.08.2025"), "date.invalid"),
            (pb.GetScheduleRequest(code="A1", first_day="2025-08-14", last_day="2027-08-14"), "hdo.days.invalid"),
        ):
            with pytest.raises(DomainError) as refused:
                await hdo.GetSchedule(request)
            assert refused.value.reason == reason
    with as_staff(tenant), pytest.raises(DomainError) as refused:
        await hdo.ImportSchedule(pb.ImportScheduleRequest(content=b'{"outages": []}', format="cez-legacy"))
    assert refused.value.reason == "hdo.import.shape_invalid"


async def test_demo_households_have_switching_times(service, hdo, infra):
    volta = demo.tenant("volta")
    codes = sorted({p.hdo_code for p in demo.supply_points("volta") if p.hdo_code})
    assert "A3B7DP6" in codes
    with as_customer(str(volta.id)):
        for code in codes:
            resp = await hdo.GetSchedule(
                pb.GetScheduleRequest(code=code, first_day=(date.today() - timedelta(days=90)).isoformat())
            )
            assert resp.windows, code
    # the seed runs on every start
    before = await count_rows(infra, "schedule_versions", str(volta.id))
    await seed.seed(service.runtime)
    assert await count_rows(infra, "schedule_versions", str(volta.id)) == before


async def test_portal_hdo_import_command(service, hdo, tenant, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PORTAL_HDO_ADDR", service.address)
    schedule = tmp_path / "switching.json"
    schedule.write_bytes((SAMPLES / "cez_dip_switch-times_signals.json").read_bytes())
    outages = tmp_path / "outages.json"
    outages.write_bytes(outages_file())
    broken = tmp_path / "broken.csv"
    broken.write_text("code,valid_from,valid_to,days,windows\nA1,2025-01-01,,mon-fri,24:01-06:00\n")

    async def portal(*args: str) -> int:
        return await asyncio.to_thread(cli.main, ["hdo", "import", *args, "--tenant", tenant])

    assert await portal(str(schedule)) == 0
    assert "new switching times for A3B4DP1 A3B4DP2 A3B4DP6" in capsys.readouterr().out
    assert await portal(str(schedule), "--format", "cez-dip") == 0
    assert "nothing changed" in capsys.readouterr().out
    assert await portal(str(outages)) == 0
    assert "1 planned" in capsys.readouterr().out
    assert await portal(str(broken)) == cli.EXIT_REFUSED
    assert "hdo.import.time_invalid line=2 value=24:01" in capsys.readouterr().err
    with as_customer(tenant):
        day = await hdo.GetSchedule(pb.GetScheduleRequest(code="A3B4DP6", first_day="2025-08-14"))
    assert len(day.windows) == 3
