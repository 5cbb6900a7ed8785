"""Planned outages told to the customers whose supply points they affect, by e-mail, SMS or both as each customer
chose: when an outage is planned, changed or cancelled, and once more a configurable time before it starts.

Each notice goes out once per (outage, version, kind, customer): the claim in `outage_notices` and the deliveries
it queues (one per channel) are written in one transaction, so a redelivered event or a second reminder run finds
the claim and sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from portal.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from portal.common.v1 import common_pb2
from portal.events.v1 import hdo_pb2 as events
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import context
from kit.db import Database, bound_tenant
from kit.identifiers import ELECTRICITY

from . import domain, store
from .tenants import TenantDirectory

log = logging.getLogger("notifications.outages")

REMINDER_POLL_SECONDS = 60.0

Point = accounts_pb2.AffectedSupplyPoint


def _outage(notice: events.OutageNotice) -> domain.Outage:
    return domain.Outage(
        operator=notice.operator,
        reference=notice.external_id,
        starts_at=notice.starts_at.ToDatetime(tzinfo=UTC),
        ends_at=notice.ends_at.ToDatetime(tzinfo=UTC),
        reason=notice.reason,
    )


def _area(area: events.OutageArea) -> accounts_pb2.AddressRange:
    return accounts_pb2.AddressRange(
        postal_code=area.postal_code,
        city=area.city,
        street=area.street,
        house_from=area.house_from if area.HasField("house_from") else None,
        house_to=area.house_to if area.HasField("house_to") else None,
    )


def _by_customer(points: Iterable[Point]) -> dict[str, list[Point]]:
    grouped: dict[str, list[Point]] = {}
    for point in points:
        grouped.setdefault(point.customer_number, []).append(point)
    return grouped


class OutageNotices:
    def __init__(
        self, tenants: TenantDirectory, accounts: accounts_pb2_grpc.AccountsServiceStub, wake: Callable[[], None]
    ) -> None:
        self.tenants = tenants
        self.accounts = accounts
        self.wake = wake

    async def affected(self, notice: events.OutageNotice) -> dict[str, list[Point]]:
        """The customers (by number) whose electricity supply points the outage names, with those points."""
        points: list[Point] = []
        token = ""
        while True:
            resp = await self.accounts.FindAffectedSupplyPoints(
                accounts_pb2.FindAffectedSupplyPointsRequest(
                    eans=notice.eans,
                    areas=[_area(a) for a in notice.areas],
                    commodity=ELECTRICITY,
                    page=common_pb2.PageRequest(page_token=token),
                )
            )
            points.extend(resp.supply_points)
            token = resp.page.next_page_token
            if not token:
                return _by_customer(points)

    async def record(self, conn: AsyncConnection, notice: events.OutageNotice) -> bool:
        """Keeps the outage for its reminder; False when a later version is known already (the events of planned,
        changed and cancelled outages come by separate consumers, so their order is not guaranteed), and customers
        told of the later one need not hear of this."""
        stored = await store.save_outage(
            conn,
            outage_id=uuid.UUID(notice.outage_id),
            version=notice.version,
            state=notice.state,
            starts_at=notice.starts_at.ToDatetime(tzinfo=UTC),
            notice=notice.SerializeToString(),
            noticed_at=datetime.now(UTC),
        )
        return stored == notice.version

    async def tell(
        self,
        conn: AsyncConnection,
        template: str,
        notice: events.OutageNotice,
        customers: dict[str, list[Point]],
        previous: events.OutageNotice | None = None,
    ) -> int:
        """Queues the notice for each customer not told it yet; returns to how many customers."""
        if not customers:
            return 0
        tenant_id = bound_tenant(conn)
        tenant = await self.tenants.get(tenant_id)
        chosen = await store.chosen_channels(conn, sorted(customers))
        queued = 0
        for number, points in sorted(customers.items()):
            email = points[0].customer_email
            phone = domain.sms_number(points[0].customer_phone, tenant.country)
            kinds = domain.with_defaults(chosen.get(number, {}))
            channels = domain.channels_to_use(kinds[domain.TEMPLATE_KINDS[template]], email=email, phone=phone)
            if not channels:
                log.info("outage %s: customer %s has neither e-mail nor phone", notice.outage_id, number)
                continue
            outage_id = uuid.UUID(notice.outage_id)
            notice_id = await store.claim_outage_notice(
                conn, outage_id=outage_id, version=notice.version, kind=template, customer_number=number
            )
            if notice_id is None:
                continue
            locale = domain.pick_locale(points[0].locale, tenant.default_locale)
            places = [
                domain.AffectedPlace(
                    ean=p.identifier,
                    street=p.address.street,
                    house_number=p.address.house_number,
                    postal_code=p.address.postal_code,
                    city=p.address.city,
                )
                for p in points
            ]
            facts = {
                "brand": tenant.name,
                "outage_line": tenant.contact_lines.outage_line,
                "time_zone": tenant.time_zone,
                "outage": _outage(notice),
                "previous": _outage(previous) if previous is not None else None,
                "places": places,
            }
            # one claim, one delivery per channel: the claim's id is the event id of each
            for channel in channels:
                if channel == domain.SMS:
                    recipient = phone
                    message = domain.Message("", domain.render_outage_sms(template, locale, **facts))
                else:
                    recipient = email
                    message = domain.render_outage(
                        template, locale, customer_line=tenant.contact_lines.customer_line, **facts
                    )
                await store.queue(
                    conn,
                    tenant_id=tenant_id,
                    event_id=notice_id,
                    channel=channel,
                    recipient=recipient,
                    template=template,
                    locale=locale,
                    subject=message.subject,
                    body=message.body,
                )
            queued += 1
        if queued:
            self.wake()
        return queued

    async def planned(self, conn: AsyncConnection, notice: events.OutageNotice) -> None:
        if await self.record(conn, notice):
            await self.tell(conn, domain.OUTAGE_PLANNED, notice, await self.affected(notice))

    async def changed(self, conn: AsyncConnection, notice: events.OutageNotice, previous: events.OutageNotice) -> None:
        if not await self.record(conn, notice):
            return
        now = await self.affected(notice)
        await self.tell(conn, domain.OUTAGE_CHANGED, notice, now, previous)
        # places the change took out of the outage: for their customers it is off
        before = await self.affected(previous)
        gone = {n: points for n, points in before.items() if n not in now}
        if gone:
            cancelled = events.OutageNotice()
            cancelled.CopyFrom(previous)
            cancelled.version = notice.version
            await self.tell(conn, domain.OUTAGE_CANCELLED, cancelled, gone)

    async def cancelled(self, conn: AsyncConnection, notice: events.OutageNotice) -> None:
        if await self.record(conn, notice):
            await self.tell(conn, domain.OUTAGE_CANCELLED, notice, await self.affected(notice))


class Reminders:
    """Reminds the customers of an outage `lead` before it starts, once per outage version, by a periodic scan."""

    def __init__(self, db: Database, notices: OutageNotices, lead: timedelta, batch: int = 100) -> None:
        self.db = db
        self.notices = notices
        self.lead = lead
        self.batch = batch

    async def run(self) -> None:
        if self.lead <= timedelta(0):
            return
        while True:
            try:
                await self.remind_due(datetime.now(UTC))
            except Exception:
                log.exception("reminders: cycle failed")
            await asyncio.sleep(REMINDER_POLL_SECONDS)

    async def remind_due(self, now: datetime) -> int:
        """Sends the reminders due at `now`; returns to how many customers they were queued."""
        async with self.db.system() as conn:
            due = await store.outages_to_remind(conn, now + self.lead, self.batch)
        queued = 0
        for row in due:
            tenant_id = str(row.tenant_id)
            ctx = context.CallContext(
                tenant_id=tenant_id, subject="notifications:reminders", subject_kind=context.SYSTEM, channel="event"
            )
            with context.bound(ctx):
                async with self.db.tenant(tenant_id) as conn:
                    outage = await store.lock_outage_to_remind(conn, row.outage_id)
                    if outage is None:  # another instance has it, or it changed meanwhile
                        continue
                    verdict = domain.reminder_due(outage.starts_at, outage.noticed_at, now, self.lead)
                    if verdict is None:
                        continue
                    if verdict:
                        notice = events.OutageNotice.FromString(outage.notice)
                        customers = await self.notices.affected(notice)
                        queued += await self.notices.tell(conn, domain.OUTAGE_REMINDER, notice, customers)
                    await store.mark_reminded(conn, outage.outage_id, outage.version)
        return queued
