"""The demo's invoicing history, made the way a supplier makes it: the advances of the first year paid, the bill
runs of 2025 (yearly settlements and the monthly ones from November 2025), their invoices and the next year's
advances paid from a bank statement, the bill runs of 2026, and those invoices paid too — all but the factory's
(tovarna@esco.example) electricity invoice of October 2026, which stays unpaid and overdue and gets its reminder. So a
newcomer signing in sees a lived-in account: settlements with overpayments (Jana's advances were generous) and
underpayments, paid advances, and one debt.

It runs in the background once the portal is up (it needs accounts serving), when demo data and
PORTAL_DEMO_INVOICES are on; every step is idempotent, so a restart adds only what is missing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

from kit import context, demo
from kit.db import Database
from kit.errors import DomainError

from . import importing, seed, store
from .invoicing import Invoicing
from .reminding import Reminders

log = logging.getLogger("billing.history")


def _month(first: date) -> tuple[str, date]:
    """A monthly run of the month starting `first`, issued on the 5th of the month after."""
    after = date(first.year + first.month // 12, first.month % 12 + 1, 5)
    return f"{first:%Y-%m}", after


# (period, issue day) of the bill runs: the yearly settlements read by November 2025 and the monthly ones of
# November 2025 to September 2026; then October 2026's and the yearly ones read by November 2026
YEAR_ONE = (("2025", date(2025, 11, 5)),) + tuple(
    _month(date(2025 + (10 + m) // 12, (10 + m) % 12 + 1, 1)) for m in range(11)
)
YEAR_TWO = (_month(date(2026, 10, 1)), ("2026", date(2026, 11, 5)))
# payments come in a few days before they are due
EARLY_DAYS = 3
# the invoice left unpaid: the factory's monthly electricity of October 2026
UNPAID_POINT = next(
    p
    for p in demo.supply_points("esco", demo.TOVARNA)
    if p.commodity == "electricity" and p.reading_schedule == "monthly"
)
UNPAID_FROM = date(2026, 10, 31)
ACCOUNTS_WAIT_SECONDS = 120.0


class DemoHistory:
    def __init__(self, db: Database, invoicing: Invoicing, reminders: Reminders) -> None:
        self.db = db
        self.invoicing = invoicing
        self.reminders = reminders

    async def run(self) -> None:
        try:
            for tenant in demo.tenants():
                ctx = context.CallContext(
                    tenant_id=str(tenant.id), subject="billing:demo", subject_kind=context.SYSTEM, channel="seed"
                )
                with context.bound(ctx):
                    await self._accounts_serving()
                    await seed.past_advances(self.db, tenant)
                    await self._pay_due_by(tenant, date(2025, 11, 1))
                    await self._bill(YEAR_ONE)
                    await self._pay_due_by(tenant, date(2026, 11, 1))
                    await self._bill(YEAR_TWO)
                    await self._pay_due_by(tenant, date(2026, 12, 1))
            await self.reminders.send_due()
            log.info("demo history: done")
        except Exception:
            log.exception("demo history: stopped")

    async def _accounts_serving(self) -> None:
        deadline = asyncio.get_running_loop().time() + ACCOUNTS_WAIT_SECONDS
        while True:
            try:
                await self.invoicing.terms()
                return
            except DomainError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(1.0)

    async def _bill(self, runs: tuple[tuple[str, date], ...]) -> None:
        for period, issued_on in runs:
            while not (await self.invoicing.run_batch(period, issued_on)).finished_at:
                pass

    async def _pay_due_by(self, tenant: demo.Tenant, day: date) -> None:
        """Pays in full what fell due before `day`, from one statement line per item, a few days early."""
        async with self.db.tenant() as conn:
            items = [importing.open_item(r) for r in await store.overdue_items(conn, day)]
            unpaid = {
                store.INVOICE_ITEM + str(i) for i in await store.invoices_of_point(conn, UNPAID_POINT.id, UNPAID_FROM)
            }
            lines = [
                importing.demo_line(
                    f"demo-{item.id}",
                    item.due_on - timedelta(days=EARLY_DAYS),
                    item.outstanding,
                    item.currency,
                    item.variable_symbol,
                )
                for item in items
                if item.id not in unpaid
            ]
            await importing.import_lines(conn, self.db.service, tenant.collection_iban, lines)
