"""The outbox, the relay and the idempotent consumer against a real PostgreSQL and nats-server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from portal.events.v1 import accounts_pb2 as events

from kit import bus, context, telemetry

widgets = sa.table("widgets", sa.column("id"), sa.column("tenant_id"), sa.column("name"))
received = sa.table("received", sa.column("tenant_id"), sa.column("name"), sa.column("trace_id"))
TENANT = str(uuid.uuid4())


async def _record(conn, event: events.ContactChanged, meta: bus.EventMeta) -> None:
    trace_id, _ = telemetry.current_ids()
    await conn.execute(
        received.insert().values(tenant_id=uuid.UUID(meta.tenant_id), name=event.customer_number, trace_id=trace_id)
    )


async def _change(db, name: str) -> uuid.UUID:
    """A business change and its event in one transaction."""
    with context.bound(context.CallContext(tenant_id=TENANT)):
        async with db.tenant() as conn:
            await conn.execute(widgets.insert().values(id=uuid.uuid4(), tenant_id=uuid.UUID(TENANT), name=name))
            return await bus.emit(conn, db.service, events.ContactChanged(customer_number=name))


async def _received(db, name: str) -> list:
    async with db.tenant(TENANT) as conn:
        return (await conn.execute(sa.select(received).where(received.c.name == name))).all()


async def _wait_received(db, name: str, timeout: float = 15.0) -> list:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        rows = await _received(db, name)
        if rows:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"event {name} never consumed")


@pytest.fixture(scope="module")
async def pipeline(widgets_db, infra):
    nc = await bus.connect(infra.nats_url, "test-bus")
    js = nc.jetstream()
    await bus.ensure_stream(js, widgets_db.service)
    relay = bus.OutboxRelay(widgets_db, js, poll_seconds=0.2)
    consumer = bus.Consumer(widgets_db, js, [bus.Subscription(widgets_db.service, events.ContactChanged, _record)])
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    yield widgets_db, consumer
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await nc.close()


async def test_event_is_delivered_once_and_a_redelivery_is_not_applied(pipeline):
    db, consumer = pipeline
    event_id = await _change(db, "once-1")
    rows = await _wait_received(db, "once-1")
    meta = bus.EventMeta(event_id, TENANT, "portal.events.v1.ContactChanged", "", "", 1)
    sub = consumer.subscriptions[0]
    again = await consumer.apply(sub, events.ContactChanged(customer_number="once-1"), meta, {})
    await asyncio.sleep(0.3)
    assert len(rows) == 1
    assert again is False
    assert len(await _received(db, "once-1")) == 1


async def test_a_rolled_back_change_emits_nothing(pipeline):
    db, _ = pipeline
    with pytest.raises(RuntimeError), context.bound(context.CallContext(tenant_id=TENANT)):
        async with db.tenant() as conn:
            await bus.emit(conn, db.service, events.ContactChanged(customer_number="rolled-back"))
            raise RuntimeError("the change failed")
    await _change(db, "after-rollback")
    await _wait_received(db, "after-rollback")
    assert await _received(db, "rolled-back") == []


async def test_events_written_while_nats_is_down_arrive_exactly_once(pipeline, infra):
    if infra.nats is None:
        pytest.skip("needs the suite's own nats-server to stop it")
    db, _ = pipeline
    infra.nats.stop()
    try:
        names = [f"offline-{i}" for i in range(20)]
        for name in names:
            await _change(db, name)
        await asyncio.sleep(0.5)
        assert await _received(db, names[0]) == []
    finally:
        infra.nats.start()
    for name in names:
        assert len(await _wait_received(db, name, timeout=30)) == 1
    async with db.system() as conn:
        pending = await conn.scalar(
            sa.select(sa.func.count()).select_from(bus.outbox).where(bus.outbox.c.published_at.is_(None))
        )
    assert pending == 0


async def test_the_consumer_continues_the_trace_of_the_change(pipeline):
    db, _ = pipeline
    with telemetry.tracer("test").start_as_current_span("user action") as span:
        await _change(db, "traced")
        trace_id = f"{span.get_span_context().trace_id:032x}"
    rows = await _wait_received(db, "traced")
    assert rows[0].trace_id == trace_id


async def test_streams_keep_events_a_week_and_identitys_link_tokens_no_longer_than_the_links_live(infra):
    nc = await bus.connect(infra.nats_url, "test-bus-retention")
    try:
        js = nc.jetstream()
        ages = {}
        for service in ("retention-probe", "identity"):
            await bus.ensure_stream(js, service)
            ages[service] = (await js.stream_info(bus.stream_of(service))).config.max_age
        assert ages == {"retention-probe": 7 * 24 * 3600, "identity": 48 * 3600}
        await js.delete_stream(bus.stream_of("retention-probe"))
    finally:
        await nc.close()
