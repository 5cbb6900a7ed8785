"""Reminders (upomínky): a periodic scan sends the next reminder of every invoice and advance whose time has come
(payments.reminders_due: a first, a second, a final notice before supply may be interrupted), once per level, each
announced by ReminderIssued; paying the item closes its reminders (importing.py)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from portal.events.v1 import billing_pb2 as events

from kit import bus, context
from kit.db import Database

from . import importing, payments, store
from .accounts import Accounts

log = logging.getLogger("billing.reminders")

POLL_SECONDS = 3600.0


class Reminders:
    def __init__(
        self,
        db: Database,
        accounts: Accounts,
        *,
        policy: payments.ReminderPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.policy = policy or payments.ReminderPolicy()
        self.clock = clock

    async def run(self) -> None:
        # the first scan an interval after the start: a restarted service does not scan twice in a row, and the
        # demo's history pays its past items before anything is found overdue
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.send_due()
            except Exception:
                log.exception("reminders: cycle failed")

    async def send_due(self) -> int:
        """Sends what is due now in every tenant; returns how many reminders it sent."""
        now = self.clock()
        # nothing is due for a reminder before it is this many days overdue
        before = (now - timedelta(days=self.policy.first_after_days)).date() + timedelta(days=1)
        async with self.db.system() as conn:
            tenants = await store.tenants_with_overdue(conn, before)
        sent = 0
        for tenant_id in tenants:
            ctx = context.CallContext(
                tenant_id=str(tenant_id), subject="billing:reminders", subject_kind=context.SYSTEM, channel="event"
            )
            with context.bound(ctx):
                sent += await self.send_due_in_tenant(now, before)
        return sent

    async def send_due_in_tenant(self, now: datetime, before: date) -> int:
        tenant = await self.accounts.tenant()
        async with self.db.tenant() as conn:
            items = [importing.open_item(r) for r in await store.overdue_items(conn, before)]
            sent = [
                payments.SentReminder(r.item, payments.Stage(r.level), r.issued_on, r.deadline)
                for r in await store.reminders_sent(conn)
            ]
        zone = await self.accounts.zone()
        today = payments.local_day(now, zone)
        due = payments.reminders_due(items, sent, now, zone, self.policy, tenant.country or "CZ")
        issued = 0
        for reminder in due:
            reminder_id = uuid.uuid4()
            async with self.db.tenant() as conn:
                added = await store.add_reminder(
                    conn,
                    {
                        "id": reminder_id,
                        "item": reminder.item.id,
                        "customer_number": reminder.item.customer_number,
                        "level": int(reminder.stage),
                        "issued_on": today,
                        "deadline": reminder.deadline,
                        "amount": reminder.item.outstanding,
                        "currency": reminder.item.currency,
                    },
                )
                if not added:
                    continue
                kind, _, raw = reminder.item.id.partition(":")
                await bus.emit(
                    conn,
                    self.db.service,
                    events.ReminderIssued(
                        reminder_id=str(reminder_id),
                        customer_number=reminder.item.customer_number,
                        level=int(reminder.stage),
                        invoice_id=raw if kind == "invoice" else "",
                        advance_id=raw if kind == "advance" else "",
                        amount=str(reminder.item.outstanding),
                        currency=reminder.item.currency,
                        deadline=reminder.deadline.isoformat(),
                    ),
                )
                issued += 1
        return issued
