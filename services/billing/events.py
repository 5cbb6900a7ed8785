"""Events of the billing service. It publishes (see server.py, invoicing.py, importing.py, reminding.py), on the
subjects `billing.<snake_case name>`:

- ReadingAccepted — a meter reading was stored (from the operator, the customer or an estimate), once per reading;
  a retried submission with the same idempotency key publishes nothing. The demo seed's readings publish nothing.
- InvoiceIssued — an invoice was issued with its documents (by a bill run, or for a request: `request_id`);
- PaymentReceived — a statement line was matched (or left for staff), once per line;
- ReminderIssued — a reminder of an overdue invoice or advance went out, once per level;
- SettlementRefused — an extraordinary settlement a request asked for could not be issued, with the reason.

It consumes RequestSubmitted: an extraordinary settlement (mimořádné vyúčtování) filed in any channel is settled to
the actual reading on the day asked for and issued at once; the requests service resolves the request when
InvoiceIssued with its id arrives, or hands it back to the customer on SettlementRefused.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from portal.events.v1 import billing_pb2 as events
from portal.events.v1 import requests_pb2 as request_events
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import bus
from kit.bus import EventMeta, Subscription
from kit.errors import DomainError

from .invoicing import Invoicing

EXTRAORDINARY_SETTLEMENT = "extraordinary_settlement"


def subscriptions(invoicing: Invoicing) -> list[Subscription]:
    async def on_request(conn: AsyncConnection, e: Any, meta: EventMeta) -> None:
        if e.type != EXTRAORDINARY_SETTLEMENT:
            return
        try:
            day = date.fromisoformat(e.values.get("reading_day", ""))
            await invoicing.settle_on_request(e.request_id, e.supply_point_id, e.customer_number, day)
        except (DomainError, ValueError) as err:
            reason = err.reason if isinstance(err, DomainError) else "settlement.reading_day_invalid"
            params = err.params if isinstance(err, DomainError) else {}
            await bus.emit(
                conn,
                invoicing.db.service,
                events.SettlementRefused(
                    request_id=e.request_id,
                    customer_number=e.customer_number,
                    supply_point_id=e.supply_point_id,
                    reason=reason,
                    params=params,
                ),
            )

    return [Subscription("requests", request_events.RequestSubmitted, on_request)]
