"""Escalation of overdue requests: a periodic scan marks each open request whose deadline passed while it was the
supplier's turn as escalated, once, with a line in its timeline and a RequestEscalated event."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from portal.events.v1 import requests_pb2 as events

from kit import bus, context, fields
from kit.db import Database

from . import store

log = logging.getLogger("requests.escalation")

POLL_SECONDS = 60.0


class Escalations:
    def __init__(self, db: Database, batch: int = 500) -> None:
        self.db = db
        self.batch = batch

    async def run(self) -> None:
        while True:
            try:
                await self.escalate_due(datetime.now(UTC))
            except Exception:
                log.exception("escalation: cycle failed")
            await asyncio.sleep(POLL_SECONDS)

    async def escalate_due(self, now: datetime) -> int:
        """Escalates what is overdue at `now`; returns how many requests it escalated."""
        async with self.db.system() as conn:
            due = await store.to_escalate(conn, now, self.batch)
        escalated = 0
        for found in due:
            tenant_id = str(found.tenant_id)
            ctx = context.CallContext(
                tenant_id=tenant_id, subject="requests:escalation", subject_kind=context.SYSTEM, channel="event"
            )
            with context.bound(ctx):
                async with self.db.tenant(tenant_id) as conn:
                    row = await store.mark_escalated(conn, found.id, now)
                    if row is None:  # another instance came first, or the request moved on meanwhile
                        continue
                    await store.add_event(conn, row.id, "escalated", now, from_state=row.state, to_state=row.state)
                    await bus.emit(
                        conn,
                        self.db.service,
                        events.RequestEscalated(
                            request_id=str(row.id),
                            customer_number=row.customer_number,
                            type=row.type,
                            state=row.state,
                            deadline_at=fields.timestamp(row.deadline_at),
                        ),
                    )
                    escalated += 1
        return escalated
