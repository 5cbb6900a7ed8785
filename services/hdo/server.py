"""gRPC surface of the hdo service: protobuf in, protobuf out; rules in domain.py, SQL in store.py.

Switching times and planned outages are the operator's public data, so reading them needs only the tenant;
imports are for the system (the `portal hdo import` command) and staff whose roles allow them (kit.authz), and
each is audited. Outages are matched against the supply points the caller names (the gateway has them from
accounts), so this service never reads another schema; only staff and the system list all of them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import grpc
import sqlalchemy as sa
from portal.events.v1 import hdo_pb2 as events
from portal.hdo.v1 import hdo_pb2 as pb
from portal.hdo.v1 import hdo_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import audit, authz, bus, context, fields
from kit.db import Database
from kit.errors import DomainError

from . import domain, store

# the longest stretch one GetSchedule or GetCalendar answers for
MAX_DAYS = 400
MAX_PLACES = 1000
# how far IsLowTariff looks for the next switch
LOOKAHEAD_DAYS = 8
CALENDAR_PAST_DAYS = 7
CALENDAR_FUTURE_DAYS = 28
# parsed versions and expanded timelines kept per process
CACHE_SIZE = 4096

K = TypeVar("K")
V = TypeVar("V")


def _code(text: str) -> str:
    code = domain.normalise_code(text)
    if not code:
        raise DomainError("hdo.code.required", field="code")
    return code


def _days(request: Any, default_first: date, default_last: date) -> tuple[date, date]:
    if not request.first_day:
        first, last = default_first, default_last
    else:
        first = fields.parse_day(request.first_day, "first_day")
        last = first
    if request.last_day:
        last = fields.parse_day(request.last_day, "last_day")
    if last < first or (last - first).days >= MAX_DAYS:
        raise DomainError("hdo.days.invalid", field="last_day", params={"max": str(MAX_DAYS)})
    return first, last


def _may(capability: str) -> None:
    """The system, or staff whose roles (their call context's capabilities) give `capability`."""
    ctx = context.current()
    if ctx.subject_kind == context.SYSTEM:
        return
    if ctx.subject_kind != context.STAFF or capability not in authz.staff_capabilities(ctx.capabilities):
        raise DomainError("forbidden")


class _Recent(Generic[K, V]):
    """The most recently used values up to a count."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


def _notice(row: sa.Row) -> domain.OutageNotice:
    return domain.OutageNotice(
        operator=row.operator,
        external_id=row.external_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        cancelled=row.state == domain.CANCELLED,
        eans=tuple(row.eans),
        areas=tuple(domain.AddressRange(**a) for a in row.areas),
    )


def notice_pb(row: sa.Row) -> events.OutageNotice:
    return events.OutageNotice(
        outage_id=str(row.id),
        version=row.version,
        state=row.state,
        operator=row.operator,
        external_id=row.external_id,
        starts_at=fields.timestamp(row.starts_at),
        ends_at=fields.timestamp(row.ends_at),
        reason=row.reason,
        eans=row.eans,
        areas=[events.OutageArea(**a) for a in row.areas],
    )


def _version_pb(version: domain.Version, row: sa.Row) -> pb.ScheduleVersion:
    schedule = version.schedule
    return pb.ScheduleVersion(
        valid_from=schedule.valid_from.isoformat(),
        valid_to=schedule.valid_to.isoformat() if schedule.valid_to else "",
        effective_from=version.effective_from.isoformat(),
        imported_at=fields.timestamp(row.imported_at),
        source_format=row.source_format,
        label=schedule.label,
        tariff=schedule.tariff,
    )


@dataclass(frozen=True)
class Recorded:
    import_id: uuid.UUID | None
    changed_codes: list[str]


async def record_schedules(
    conn: AsyncConnection,
    service: str,
    schedules: tuple[domain.CodeSchedule, ...],
    *,
    fmt: str,
    file_name: str,
    file_hash: str,
    now: datetime,
    zone: ZoneInfo,
) -> Recorded:
    """Stores the schedules that are new, each with its ScheduleChanged; the same data again stores nothing."""
    await store.lock_imports(conn)
    codes = sorted({s.code for s in schedules})
    known = await store.known_hashes(conn, codes)
    fresh = [s for s in schedules if (s.code, s.content_hash()) not in known]
    if not fresh:
        return Recorded(None, [])
    periods = await store.validity_of(conn, codes)
    ctx = context.current()
    import_id = await store.add_import(
        conn,
        fmt=fmt,
        file_name=file_name,
        file_hash=file_hash,
        imported_by=f"{ctx.subject_kind}:{ctx.subject}",
        now=now,
    )
    today = now.astimezone(zone).date()
    for schedule in fresh:
        start = domain.effective_from(schedule, today, periods.get(schedule.code, []))
        await store.add_version(conn, schedule, effective_from=start, source_format=fmt, import_id=import_id, now=now)
        await bus.emit(
            conn,
            service,
            events.ScheduleChanged(
                code=schedule.code,
                valid_from=schedule.valid_from.isoformat(),
                valid_to=schedule.valid_to.isoformat() if schedule.valid_to else "",
                effective_from=start.isoformat(),
                import_id=str(import_id),
                source_format=fmt,
            ),
        )
    changed = sorted({s.code for s in fresh})
    await store.finish_import(conn, import_id, len(codes), len(changed))
    await audit.record(
        conn,
        "schedule_import",
        str(import_id),
        "imported",
        None,
        {"file_name": file_name, "format": fmt, "changed_codes": changed},
    )
    return Recorded(import_id, changed)


class HdoServicer(hdo_pb2_grpc.HdoServiceServicer):
    def __init__(
        self, db: Database, *, zone: ZoneInfo = domain.ZONE, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.db = db
        self.zone = zone
        self.clock = clock
        self._schedules: _Recent[tuple[str, int], domain.CodeSchedule] = _Recent(CACHE_SIZE)
        self._timelines: _Recent[tuple[Any, ...], domain.Timeline] = _Recent(CACHE_SIZE)

    def _today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    async def _versions(self, code: str, first: date, last: date) -> dict[int, tuple[domain.Version, sa.Row]]:
        """The versions that may answer for the days. A stored version never changes, so its parsed switching times
        are kept by id; only which versions apply is asked of the database every time."""
        tenant = context.current().tenant_id
        async with self.db.tenant() as conn:
            rows = await store.versions(conn, code, first, last)
            known = {r.id: s for r in rows if (s := self._schedules.get((tenant, r.id))) is not None}
            missing = [r.id for r in rows if r.id not in known]
            loaded = await store.schedules(conn, missing) if missing else {}
        for version_id, value in loaded.items():
            known[version_id] = self._schedules.put((tenant, version_id), domain.CodeSchedule.from_json(value))
        return {r.id: (domain.Version(r.id, r.effective_from, known[r.id]), r) for r in rows}

    async def _timeline(self, code: str, first: date, last: date) -> tuple[list[domain.Version], domain.Timeline]:
        versions = [v for v, _ in (await self._versions(code, first, last)).values()]
        key = (context.current().tenant_id, code, first, last, tuple(v.seq for v in versions))
        timeline = self._timelines.get(key)
        if timeline is None:
            timeline = self._timelines.put(key, domain.Timeline(domain.expand(versions, first, last, zone=self.zone)))
        return versions, timeline

    async def ImportSchedule(self, request: pb.ImportScheduleRequest, rpc: grpc.aio.ServicerContext) -> Any:
        _may(authz.HDO_IMPORT)
        content = domain.decode_content(request.content, request.content_encoding)
        fmt = request.format or domain.detect_format(content)
        if fmt not in domain.SCHEDULE_FORMATS:
            raise domain.ImportRefused("format_unknown", value=fmt)
        valid_from = fields.parse_day(request.valid_from, "valid_from") if request.valid_from else self._today()
        schedules = domain.parse_schedule(content, fmt, valid_from=valid_from, zone=self.zone)
        async with self.db.tenant() as conn:
            recorded = await record_schedules(
                conn,
                self.db.service,
                schedules,
                fmt=fmt,
                file_name=request.file_name,
                file_hash=hashlib.sha256(content).hexdigest(),
                now=self.clock(),
                zone=self.zone,
            )
        return pb.ImportScheduleResponse(
            import_id=str(recorded.import_id or ""),
            format=fmt,
            codes=len({s.code for s in schedules}),
            changed_codes=recorded.changed_codes,
        )

    async def GetSchedule(self, request: pb.GetScheduleRequest, rpc: grpc.aio.ServicerContext) -> Any:
        code = _code(request.code)
        today = self._today()
        first, last = _days(request, today, today)
        day = timedelta(days=1)
        # a day before and after, so windows over midnight come out whole
        stored = await self._versions(code, first - day, last + day)
        versions = [v for v, _ in stored.values()]
        intervals = domain.expand(versions, first - day, last + day, zone=self.zone)
        start, end = domain.local_day_bounds(first, last, self.zone)
        shown = domain.overlapping(intervals, start, end)
        used = sorted(
            {v.seq for d in range((last - first).days + 1) if (v := domain.resolve(versions, first + d * day))}
        )
        return pb.GetScheduleResponse(
            code=code,
            windows=[pb.Window(start=fields.timestamp(a), end=fields.timestamp(b)) for a, b in shown],
            low_tariff_seconds=int(domain.low_tariff_duration(shown, start, end).total_seconds()),
            time_zone=self.zone.key,
            versions=[_version_pb(*stored[seq]) for seq in used],
        )

    async def IsLowTariff(self, request: pb.IsLowTariffRequest, rpc: grpc.aio.ServicerContext) -> Any:
        code = _code(request.code)
        at = request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else self.clock()
        day = at.astimezone(self.zone).date()
        versions, timeline = await self._timeline(code, day - timedelta(days=1), day + timedelta(days=LOOKAHEAD_DAYS))
        on, until = domain.is_low_tariff(timeline, at)
        response = pb.IsLowTariffResponse(low_tariff=on, known=domain.resolve(versions, day) is not None)
        if until is not None:
            response.until.CopyFrom(fields.timestamp(until))
        return response

    async def GetCalendar(self, request: pb.GetCalendarRequest, rpc: grpc.aio.ServicerContext) -> Any:
        code = _code(request.code)
        today = self._today()
        first, last = _days(
            request, today - timedelta(days=CALENDAR_PAST_DAYS), today + timedelta(days=CALENDAR_FUTURE_DAYS)
        )
        _, timeline = await self._timeline(code, first, last)
        feed = domain.calendar(code, timeline.windows, name=request.name or f"NT {code}", generated_at=self.clock())
        return pb.GetCalendarResponse(content=feed)

    async def ImportOutages(self, request: pb.ImportOutagesRequest, rpc: grpc.aio.ServicerContext) -> Any:
        _may(authz.HDO_IMPORT)
        notices = domain.parse_outages(domain.decode_content(request.content, request.content_encoding), self.zone)
        counts = dict.fromkeys((domain.PLANNED, domain.CHANGED, domain.CANCELLED, "unchanged"), 0)
        now = self.clock()
        async with self.db.tenant() as conn:
            await store.lock_imports(conn)
            operator = notices[0].operator if notices else ""
            stored = await store.outages_by_external_id(conn, operator, [n.external_id for n in notices])
            for notice in notices:
                before = stored.get(notice.external_id)
                change = domain.outage_transition(
                    before.state if before else None,
                    before.version if before else 0,
                    before.content_hash if before else "",
                    notice,
                )
                if change is None:
                    counts["unchanged"] += 1
                    continue
                state, version = change
                # a cancellation keeps what customers were told, so its notice names the same times and places
                content = _notice(before) if before is not None and state == domain.CANCELLED else notice
                after = await store.save_outage(
                    conn, content, outage_id=before.id if before else None, state=state, version=version, now=now
                )
                counts[state] += 1
                await bus.emit(conn, self.db.service, _outage_event(after, before))
                await audit.record(
                    conn,
                    "outage",
                    str(after.id),
                    state,
                    _notice(before).as_json() if before is not None else None,
                    {**_notice(after).as_json(), "file_name": request.file_name},
                )
        return pb.ImportOutagesResponse(
            outages=len(notices),
            planned=counts[domain.PLANNED],
            changed=counts[domain.CHANGED],
            cancelled=counts[domain.CANCELLED],
            unchanged=counts["unchanged"],
        )

    async def ListAudit(self, request: pb.ListAuditRequest, rpc: grpc.aio.ServicerContext) -> Any:
        return await audit.list_audit(self.db, request, pb.ListAuditResponse)

    async def ListOutages(self, request: pb.ListOutagesRequest, rpc: grpc.aio.ServicerContext) -> Any:
        after = request.ends_after.ToDatetime(tzinfo=UTC) if request.HasField("ends_after") else self.clock()
        if request.all_outages:
            _may(authz.OUTAGES_READ)
            async with self.db.tenant() as conn:
                rows = await store.outages_ending_after(conn, after, None, include_cancelled=request.include_cancelled)
            return pb.ListOutagesResponse(
                outages=[pb.Outage(notice=notice_pb(r), updated_at=fields.timestamp(r.updated_at)) for r in rows]
            )
        if len(request.supply_points) > MAX_PLACES:
            raise DomainError("hdo.places.too_many", field="supply_points", params={"max": str(MAX_PLACES)})
        places = [
            domain.Place(
                supply_point_id=p.supply_point_id,
                ean=p.ean.strip(),
                postal_code=p.address.postal_code,
                city=p.address.city,
                street=p.address.street,
                house_number=p.address.house_number,
            )
            for p in request.supply_points
        ]
        if not places:
            return pb.ListOutagesResponse()
        async with self.db.tenant() as conn:
            rows = await store.outages_ending_after(
                conn, after, [p.ean for p in places if p.ean], include_cancelled=request.include_cancelled
            )
        found = []
        for row in rows:
            notice = _notice(row)
            hit = [p.supply_point_id for p in places if domain.affects(notice, p)]
            if hit:
                found.append(
                    pb.Outage(notice=notice_pb(row), supply_point_ids=hit, updated_at=fields.timestamp(row.updated_at))
                )
        return pb.ListOutagesResponse(outages=found)


def _outage_event(after: sa.Row, before: sa.Row | None) -> Any:
    if after.state == domain.PLANNED:
        return events.OutagePlanned(outage=notice_pb(after))
    if after.state == domain.CANCELLED:
        return events.OutageCancelled(outage=notice_pb(after))
    assert before is not None
    return events.OutageChanged(outage=notice_pb(after), previous=notice_pb(before))
