"""Sends the queued deliveries, each by its channel (e-mail over SMTP, SMS through the gateway), and retries failed
ones with growing pauses; the queue is the deliveries table."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from kit.config import Settings
from kit.db import Database

from . import domain, smtp, store
from .sms import SmsGateway, SmsRefused
from .tenants import TenantDirectory

log = logging.getLogger("notifications.sender")

# SMS queued while no gateway is configured wait for one, looked at again this often; they are not given up, as
# a gateway configured later should still carry them
NO_SMS_GATEWAY = "no SMS gateway configured (PORTAL_SMS_URL)"
NO_GATEWAY_PAUSE = timedelta(hours=1)


class Sender:
    def __init__(self, settings: Settings, db: Database, tenants: TenantDirectory, batch: int = 20) -> None:
        self.settings = settings
        self.db = db
        self.tenants = tenants
        self.batch = batch
        self.sms = SmsGateway(settings) if settings.sms_url else None
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("sender: cycle failed")
                sent = 0
            if sent < self.batch:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), 1.0)
                except TimeoutError:
                    pass

    async def send_due(self, now: datetime | None = None) -> int:
        """Tries the deliveries due at `now` (default: now); returns how many were taken."""
        now = now or datetime.now(UTC)
        async with self.db.system() as conn:
            rows = await store.due(conn, now, self.batch)
            for row in rows:
                if row.channel == domain.SMS and self.sms is None:
                    await store.mark_failed(conn, row.id, NO_SMS_GATEWAY, now + NO_GATEWAY_PAUSE, tried=False)
                    continue
                try:
                    await self._send(row)
                except SmsRefused as refused:
                    log.warning("delivery %s refused: %s", row.id, refused)
                    await store.mark_failed(conn, row.id, str(refused), None)
                except Exception as exc:  # the server or the network failed: keep it queued
                    log.warning("delivery %s failed: %s", row.id, exc)
                    retry = domain.next_attempt(row.attempts + 1, now)
                    await store.mark_failed(conn, row.id, str(exc) or type(exc).__name__, retry)
                else:
                    await store.mark_sent(conn, row.id, datetime.now(UTC))
        return len(rows)

    async def _send(self, row: Any) -> None:
        if row.channel == domain.SMS:
            assert self.sms is not None
            await self.sms.send(row.recipient, row.body)
            return
        tenant = await self.tenants.get(str(row.tenant_id))
        await smtp.send(
            self.settings,
            sender_name=tenant.name,
            sender=self.settings.smtp_from or tenant.contact_lines.email,
            to=row.recipient,
            subject=row.subject,
            body=row.body,
        )

    async def close(self) -> None:
        if self.sms is not None:
            await self.sms.close()
