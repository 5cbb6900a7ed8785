"""Bank statements imported: each line matched to invoices and advances by the pure rules of payments.py, stored
with its allocations, what the items have had paid moved, reminders of items paid in full closed, and
PaymentReceived announced — all of one statement in one transaction, so a statement is in whole or not at all.

A line is known by its account and the bank's reference: importing the same statement again (or an overlapping one)
stores nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.events.v1 import billing_pb2 as events
from sqlalchemy.ext.asyncio import AsyncConnection

from kit import bus

from . import payments, statements, store


@dataclass(frozen=True)
class Imported:
    lines: int
    matched: int
    queued: int
    duplicates: int


def open_item(row: Any) -> payments.OpenItem:
    return payments.OpenItem(
        id=row.item,
        kind=row.kind,
        variable_symbol=row.variable_symbol,
        customer_number=row.customer_number,
        outstanding=row.outstanding,
        due_on=row.due_date,
        currency=row.currency,
    )


def payment_row(p: payments.Payment, line: statements.StatementLine) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "direction": "in" if line.is_credit else "out",
        "reference": p.ref,
        "booked_on": p.booked_on,
        "amount": p.amount,
        "currency": p.currency,
        "variable_symbol": p.variable_symbol,
        "counterparty_account": p.counterparty_account,
        "counterparty_name": line.counterparty_name,
        "message": line.remittance,
        "customer_number": p.customer_number or None,
        "status": store.PAYMENT_STATUS[p.outcome],
        "unallocated": p.unallocated,
        "allocations": [(a.item_id, a.amount, a.settled) for a in p.allocations],
    }


def announced(row: dict[str, Any]) -> events.PaymentReceived:
    paid = [item for item, _, _ in row["allocations"]]
    return events.PaymentReceived(
        payment_id=str(row["id"]),
        customer_number=row["customer_number"] or "",
        amount=str(row["amount"]),
        currency=row["currency"],
        variable_symbol=row["variable_symbol"],
        status=row["status"],
        invoice_ids=[i.removeprefix(store.INVOICE_ITEM) for i in paid if i.startswith(store.INVOICE_ITEM)],
        advance_ids=[i.removeprefix(store.ADVANCE_ITEM) for i in paid if i.startswith(store.ADVANCE_ITEM)],
    )


async def import_lines(
    conn: AsyncConnection, service: str, account: str, lines: Sequence[statements.StatementLine]
) -> Imported:
    """Matches and stores the lines of one account's statement in the caller's transaction."""
    known = await store.known_references(conn, account, [line.ref for line in lines])
    fresh = [line for line in lines if line.ref not in known]
    symbols = sorted({statements.symbol(line.variable_symbol) for line in fresh} - {""})
    items = [open_item(r) for r in await store.items_with_symbols(conn, symbols)]
    by_ref = {line.ref: line for line in fresh}
    rows = [
        payment_row(p, by_ref[p.ref])
        for p in payments.match_all(fresh, items)
        if p.outcome != payments.Outcome.NOT_PAYMENT
    ]
    await store.record_payments(conn, account, rows)
    await bus.emit_many(conn, service, [announced(r) for r in rows])
    queued = sum(r["status"] in store.QUEUED for r in rows)
    return Imported(lines=len(lines), matched=len(rows) - queued, queued=queued, duplicates=len(lines) - len(fresh))


def demo_line(ref: str, booked_on: date, amount: Any, currency: str, variable_symbol: str) -> statements.StatementLine:
    """A credit as a bank statement would carry it, for the demo's history of payments."""
    return statements.StatementLine(
        ref=ref,
        booked_on=booked_on,
        value_on=booked_on,
        amount=amount,
        currency=currency,
        direction=statements.CREDIT,
        reversal=False,
        variable_symbol=variable_symbol,
        specific_symbol="",
        constant_symbol="",
        counterparty_account="",
        counterparty_name="",
        end_to_end_id="",
        remittance="",
    )
