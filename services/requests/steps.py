"""One step of a processed request's state machine with everything that goes with it — the new state, the
timeline line, RequestStateChanged and the audit record — in the caller's transaction. The servicer takes steps
for customers and staff; the billing consumer takes them for the system (an extraordinary settlement issued)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from portal.events.v1 import requests_pb2 as events
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import audit, bus, context

from . import domain, store


def snapshot(row: sa.Row) -> dict[str, Any]:
    return {"state": row.state, "assignee": row.assignee, "deadline_at": row.deadline_at.isoformat()}


async def take(
    conn: AsyncConnection, service: str, row: sa.Row, action: str, by: str, reason: str, now: datetime
) -> sa.Row:
    """`action` taken by `by` (customer or staff) on the locked request `row`; refused as domain.transition
    refuses. Answers the request as it is after."""
    target = domain.transition(row.state, action, by, reason)
    after = await store.update(conn, row.id, now, state=target)
    await store.add_event(conn, row.id, action, now, from_state=row.state, to_state=target, text=reason.strip())
    await bus.emit(
        conn,
        service,
        events.RequestStateChanged(
            request_id=str(row.id),
            customer_number=row.customer_number,
            type=row.type,
            action=action,
            from_state=row.state,
            to_state=target,
            reason=reason.strip(),
            actor_kind=context.current().subject_kind,
        ),
    )
    await audit.record(
        conn,
        "request",
        str(row.id),
        action,
        snapshot(row),
        {**snapshot(after), "reason": reason.strip()},
        customer_number=row.customer_number,
    )
    return after
