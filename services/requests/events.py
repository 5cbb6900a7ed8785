"""Events of the requests service. It publishes (see server.py and escalation.py), on the subjects
`requests.<snake_case name>`:

- RequestSubmitted — a request was filed through any channel, once per request (not on an idempotent retry);
- RequestStateChanged — a request moved to another state, with the action and its reason;
- RequestEscalated — an open request passed its deadline while it was the supplier's turn, once per request.

It consumes the immediate changes accounts applied (ContactChanged, AddressChanged, ContractChanged) and records
each as a request of the immediate kind, already resolved, so the customer's request history is complete. The
consumer applies each event once (by its id); the change's e-mail comes from notifications, not from here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from portal.events.v1 import accounts_pb2 as account_events
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import audit, changes, context
from kit.bus import EventMeta, Subscription

from . import domain, store


async def on_change(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
    described = changes.describe(e)
    if described is None:
        return
    request_type, values = described
    supply_point_id = min(getattr(e, "supply_point_ids", ()), default="")
    contract_id = getattr(e, "contract_id", "")
    now = datetime.now(UTC)
    # the timeline and the audit name whoever made the change, not this consumer
    actor = context.current().with_(subject_kind=e.actor_kind or context.SYSTEM, subject=e.changed_by)
    with context.bound(actor):
        row = await store.add(
            conn,
            customer_number=e.customer_number,
            supply_point_id=uuid.UUID(supply_point_id) if supply_point_id else None,
            contract_id=uuid.UUID(contract_id) if contract_id else None,
            contract_type="",
            request_type=request_type,
            channel=e.channel if e.channel in domain.CHANNELS else domain.PORTAL,
            payload=values,
            deadline_at=now,
            created_by=f"{e.actor_kind}:{e.changed_by}",
            idempotency_key=f"event:{meta.event_id}",
            now=now,
            state=domain.RESOLVED,
        )
        if row is None:
            return
        await store.add_event(conn, row.id, domain.APPLIED, now, to_state=domain.RESOLVED)
        await audit.record(conn, "request", str(row.id), "recorded", None, {"type": request_type, **values})


SUBSCRIPTIONS: list[Subscription] = [
    Subscription("accounts", account_events.ContactChanged, on_change),
    Subscription("accounts", account_events.AddressChanged, on_change),
    Subscription("accounts", account_events.ContractChanged, on_change),
]
