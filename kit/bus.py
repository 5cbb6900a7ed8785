"""Domain events over NATS JetStream, written through a transactional outbox and consumed idempotently.

- `emit()` writes the event in the caller's transaction, so an event exists exactly when its change does.
- `OutboxRelay` publishes unpublished rows with `Nats-Msg-Id` = event id (JetStream drops duplicates inside its
  window) and marks them published only after JetStream acknowledged them; a crash in between republishes, never
  loses.
- `Consumer` pulls with a durable consumer and records each event id in `processed_events` in the same transaction
  as the handler's changes, so a redelivery is acknowledged without being applied twice.

Each publishing service owns one stream named after it (`IDENTITY` holds `identity.>`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import nats
import sqlalchemy as sa
from google.protobuf.message import Message
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError
from opentelemetry.trace import SpanKind
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import context, telemetry
from kit.db import Database, bound_tenant

log = logging.getLogger("kit.bus")

metadata = sa.MetaData()
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
)
processed_events = sa.Table(
    "processed_events",
    metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
)

# JetStream drops a republished id inside this window; the consumers' processed_events covers anything older.
DUPLICATE_WINDOW_SECONDS = 3600.0
# How long a stream keeps events: a week for consumers that were down to catch up. Identity's events carry e-mail
# link tokens, which are dead after 48 hours, so its stream keeps them no longer than that.
STREAM_MAX_AGE_SECONDS = 7 * 24 * 3600.0
STREAM_MAX_AGE_OVERRIDES = {"identity": 48 * 3600.0}

TENANT_HEADER = "Portal-Tenant"
TYPE_HEADER = "Portal-Event-Type"
REQUEST_HEADER = "Portal-Request-Id"
OCCURRED_HEADER = "Portal-Occurred-At"


def stream_of(service: str) -> str:
    return service.upper()


def subject_of(service: str, message: Message | type[Message]) -> str:
    name = message.DESCRIPTOR.name
    return f"{service}." + re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def notify_channel(service: str) -> str:
    return f"{service}_outbox"


async def emit(conn: AsyncConnection, service: str, message: Message) -> uuid.UUID:
    """Writes `message` to the outbox in the caller's tenant-bound transaction; returns the event id."""
    return (await emit_many(conn, service, [message]))[0]


async def emit_many(conn: AsyncConnection, service: str, messages: Sequence[Message]) -> list[uuid.UUID]:
    """`emit` for many events of one change (a statement's payments) in one statement; returns their ids."""
    if not messages:
        return []
    ctx = context.current()
    headers = telemetry.headers()
    headers[REQUEST_HEADER] = ctx.request_id
    tenant = uuid.UUID(bound_tenant(conn))
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant,
            "subject": subject_of(service, m),
            "event_type": m.DESCRIPTOR.full_name,
            "payload": m.SerializeToString(),
            "headers": headers,
            "created_at": now,
        }
        for m in messages
    ]
    await conn.execute(outbox.insert(), rows)
    await conn.execute(sa.select(sa.func.pg_notify(notify_channel(service), "")))
    return [r["id"] for r in rows]


async def connect(url: str, name: str) -> NATS:
    """A connection that keeps reconnecting for as long as the process lives (NATS may restart under us)."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats error: %s", exc)

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        allow_reconnect=True,
        error_cb=on_error,
    )


async def ensure_stream(js: JetStreamContext, service: str) -> None:
    config = StreamConfig(
        name=stream_of(service),
        subjects=[f"{service}.>"],
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=STREAM_MAX_AGE_OVERRIDES.get(service, STREAM_MAX_AGE_SECONDS),
    )
    try:
        await js.stream_info(config.name)
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)


class OutboxRelay:
    def __init__(self, db: Database, js: JetStreamContext, *, batch: int = 200, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.js = js
        self.service = db.service
        self.batch = batch
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener = await self._listen()
        backoff = 0.2
        try:
            while True:
                try:
                    published = await self.drain_once()
                    backoff = 0.2
                except Exception as exc:  # NATS or the database is away: keep the rows, try again later
                    log.warning("outbox relay: %s; retrying in %.1fs", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if published < self.batch:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                    except TimeoutError:
                        pass
        finally:
            if listener is not None:
                await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(self.db.engine.url.set(drivername="postgresql").render_as_string(False))
            await conn.add_listener(notify_channel(self.service), lambda *_: self._wake.set())
            return conn
        except Exception as exc:  # polling still works without notifications
            log.warning("outbox relay: no LISTEN connection (%s); polling", exc)
            return None

    async def drain_once(self) -> int:
        async with self.db.system() as conn:
            rows = (
                await conn.execute(
                    sa.select(outbox)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.created_at)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                headers = {str(k): str(v) for k, v in (row.headers or {}).items()}
                with telemetry.span_from(headers, f"publish {row.event_type}", SpanKind.PRODUCER):
                    out = telemetry.headers()
                    out.update(
                        {
                            "Nats-Msg-Id": str(row.id),
                            TENANT_HEADER: str(row.tenant_id),
                            TYPE_HEADER: row.event_type,
                            OCCURRED_HEADER: row.created_at.isoformat(),
                            REQUEST_HEADER: headers.get(REQUEST_HEADER, ""),
                        }
                    )
                    await self.js.publish(row.subject, row.payload, headers=out, timeout=2)
            if rows:
                await conn.execute(
                    outbox.update().where(outbox.c.id.in_([r.id for r in rows])).values(published_at=sa.func.now())
                )
            return len(rows)


@dataclass(frozen=True)
class EventMeta:
    event_id: uuid.UUID
    tenant_id: str
    event_type: str
    subject: str
    occurred_at: str
    redelivered: int


Handler = Callable[[AsyncConnection, Any, EventMeta], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    source: str  # the publishing service
    message: type[Message]
    handler: Handler


class Consumer:
    """Runs one durable pull consumer per subscribed event type for the consuming service."""

    def __init__(self, db: Database, js: JetStreamContext, subscriptions: Sequence[Subscription]) -> None:
        self.db = db
        self.js = js
        self.name = db.service
        self.subscriptions = list(subscriptions)

    def durable_of(self, sub: Subscription) -> str:
        return f"{self.name}-{subject_of(sub.source, sub.message).replace('.', '-')}"

    async def run(self) -> None:
        await asyncio.gather(*(self._run_one(sub) for sub in self.subscriptions))

    async def _run_one(self, sub: Subscription) -> None:
        psub = None
        while psub is None:
            try:
                await ensure_stream(self.js, sub.source)
                psub = await self.js.pull_subscribe(
                    subject_of(sub.source, sub.message),
                    durable=self.durable_of(sub),
                    stream=stream_of(sub.source),
                    config=ConsumerConfig(ack_wait=30, max_deliver=-1),
                )
            except Exception as exc:
                log.warning("consumer %s: cannot subscribe yet (%s)", self.durable_of(sub), exc)
                await asyncio.sleep(1)
        while True:
            try:
                msgs = await psub.fetch(batch=50, timeout=1)
            except TimeoutError:
                continue
            except Exception as exc:  # reconnecting
                log.debug("consumer %s: fetch failed (%s)", self.durable_of(sub), exc)
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                await self._deliver(sub, msg)

    async def _deliver(self, sub: Subscription, msg: Any) -> None:
        headers = dict(msg.headers or {})
        try:
            meta = EventMeta(
                event_id=uuid.UUID(headers["Nats-Msg-Id"]),
                tenant_id=headers[TENANT_HEADER],
                event_type=headers.get(TYPE_HEADER, ""),
                subject=msg.subject,
                occurred_at=headers.get(OCCURRED_HEADER, ""),
                redelivered=msg.metadata.num_delivered - 1 if msg.metadata else 0,
            )
            event = sub.message.FromString(msg.data)
        except Exception as exc:  # a malformed message can never succeed; keep it out of the way
            log.error("consumer %s: dropping malformed message (%s)", self.durable_of(sub), exc)
            await msg.term()
            return
        try:
            applied = await self.apply(sub, event, meta, headers)
        except Exception:
            log.exception("consumer %s: handler failed for %s", self.durable_of(sub), meta.event_id)
            await msg.nak(delay=min(2 ** max(meta.redelivered, 0), 60))
            return
        if not applied:
            log.info("consumer %s: event %s already processed", self.durable_of(sub), meta.event_id)
        await msg.ack()

    async def apply(self, sub: Subscription, event: Message, meta: EventMeta, headers: dict[str, str]) -> bool:
        """Applies the event once; returns False when it had been applied before."""
        ctx = context.CallContext(
            tenant_id=meta.tenant_id,
            subject=f"event:{meta.event_type}",
            subject_kind=context.SYSTEM,
            request_id=headers.get(REQUEST_HEADER) or uuid.uuid4().hex,
            channel="event",
        )
        with (
            context.bound(ctx),
            telemetry.span_from(headers, f"consume {meta.event_type}", SpanKind.CONSUMER, consumer=self.name),
        ):
            async with self.db.tenant(meta.tenant_id) as conn:
                inserted = await conn.execute(
                    pg_insert(processed_events)
                    .values(consumer=self.name, event_id=meta.event_id, tenant_id=uuid.UUID(meta.tenant_id))
                    .on_conflict_do_nothing()
                    .returning(processed_events.c.event_id)
                )
                if inserted.first() is None:
                    return False
                await sub.handler(conn, event, meta)
                return True
