"""Events of the requests service. It publishes (see server.py and escalation.py), on the subjects
`requests.<snake_case name>`:

- RequestSubmitted — a request was filed through any channel, once per request (not on an idempotent retry);
- RequestStateChanged — a request moved to another state, with the action and its reason;
- RequestEscalated — an open request passed its deadline while it was the supplier's turn, once per request;
- RequestCommented — staff commented on a request for the customer to read (internal notes are not announced);
- CatalogEntryChanged — a tenant administrator changed a type of the catalog.

It consumes the immediate changes accounts applied (ContactChanged, AddressChanged, ContractChanged) and records
each as a request of the immediate kind, already resolved, so the customer's request history is complete. The
consumer applies each event once (by its id); the change's e-mail comes from notifications, not from here. It also
consumes PermissionMatrixChanged, to ask accounts for the changed matrix at once (`matrix_changes`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from portal.events.v1 import accounts_pb2 as account_events
from portal.events.v1 import billing_pb2 as billing_events
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import audit, changes, context
from kit.bus import EventMeta, Subscription
from kit.matrix import PermissionMatrices

from . import domain, steps, store
from .accounts import Accounts


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
        await audit.record(
            conn,
            "request",
            str(row.id),
            "recorded",
            None,
            {"type": request_type, **values},
            customer_number=e.customer_number,
        )


def matrix_changes(matrices: PermissionMatrices) -> Subscription:
    """A changed permission matrix is asked of accounts again at the next submission rather than a minute later."""

    async def on_matrix_changed(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        matrices.forget(meta.tenant_id)

    return Subscription("accounts", account_events.PermissionMatrixChanged, on_matrix_changed)


def settlement_answers(service: str, accounts: Accounts) -> list[Subscription]:
    """Billing's answer to an extraordinary settlement request: the request resolved when the invoice is issued
    (InvoiceIssued with its id), or handed back to the customer with what is missing (SettlementRefused)."""

    async def answer(conn: AsyncConnection, request_id: str, action: str, text: str) -> None:
        """`action` with `text` on an open request, work started first where it was not; `start` alone is staff
        taking the request over, with `text` as the note."""
        row = await store.get(conn, uuid.UUID(request_id), lock=True)
        if row is None or row.state not in domain.OPEN_STATES:
            return
        now = datetime.now(UTC)
        if row.state in domain.NOT_STARTED:
            row = await steps.take(conn, service, row, "start", domain.STAFF, text if action == "start" else "", now)
        if action != "start" and row.state == domain.IN_PROGRESS:
            await steps.take(conn, service, row, action, domain.STAFF, text, now)

    async def on_issued(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        if e.request_id:
            locale = await accounts.locale()
            text = domain.SETTLEMENT_ISSUED.get(locale, domain.SETTLEMENT_ISSUED["en"]).format(number=e.number)
            await answer(conn, e.request_id, "resolve", text)

    async def on_refused(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        locale = await accounts.locale()
        texts = domain.SETTLEMENT_REFUSED.get(e.reason)
        if texts is None:
            # not the customer's to fix: staff take it over from the queue
            await answer(
                conn, e.request_id, "start", domain.SETTLEMENT_FAILED.get(locale, domain.SETTLEMENT_FAILED["en"])
            )
            return
        day = e.params.get("day", "")
        await answer(conn, e.request_id, "ask_customer", texts.get(locale, texts["en"]).format(day=day))

    return [
        Subscription("billing", billing_events.InvoiceIssued, on_issued),
        Subscription("billing", billing_events.SettlementRefused, on_refused),
    ]


SUBSCRIPTIONS: list[Subscription] = [
    Subscription("accounts", account_events.ContactChanged, on_change),
    Subscription("accounts", account_events.AddressChanged, on_change),
    Subscription("accounts", account_events.ContractChanged, on_change),
]
