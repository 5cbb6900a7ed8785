"""The SMTP edge: one message out over a real SMTP connection (aiosmtplib)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from kit.config import Settings
from kit.db import Database

from . import domain, store
from .tenants import TenantDirectory

log = logging.getLogger("notifications.smtp")


async def send(settings: Settings, *, sender_name: str, sender: str, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = formataddr((sender_name, sender))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or None)
    msg.set_content(body)
    await aiosmtplib.send(
        msg,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_user or None,
        password=settings.smtp_password or None,
        start_tls=settings.smtp_starttls,
        timeout=10,
    )


class Sender:
    """Sends queued deliveries and retries failed ones with growing pauses; the queue is the deliveries table."""

    def __init__(self, settings: Settings, db: Database, tenants: TenantDirectory, batch: int = 20) -> None:
        self.settings = settings
        self.db = db
        self.tenants = tenants
        self.batch = batch
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

    async def send_due(self) -> int:
        async with self.db.system() as conn:
            rows = await store.due(conn, datetime.now(UTC), self.batch)
            for row in rows:
                try:
                    tenant = await self.tenants.get(str(row.tenant_id))
                    await send(
                        self.settings,
                        sender_name=tenant.name,
                        sender=self.settings.smtp_from or tenant.contact_lines.email,
                        to=row.recipient,
                        subject=row.subject,
                        body=row.body,
                    )
                except Exception as exc:  # the SMTP server or the network failed: keep it queued
                    retry = domain.next_attempt(row.attempts + 1, datetime.now(UTC))
                    log.warning("delivery %s failed: %s", row.id, exc)
                    await store.mark_failed(conn, row.id, str(exc), retry)
                else:
                    await store.mark_sent(conn, row.id, datetime.now(UTC))
        return len(rows)
