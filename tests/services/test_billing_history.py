"""The demo's invoicing history over real gRPC, PostgreSQL and NATS: a year of settlements and advances for every
demo customer, paid from bank statements, except Jana's electricity settlement of 2026, which is overdue and has
its first reminder; a restart adds nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import asyncpg
import pytest
from portal.billing.v1 import billing_pb2 as pb
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub

from kit import demo, rpc
from kit.service import start
from services.accounts.wiring import SPEC as ACCOUNTS
from services.billing.wiring import SPEC

from ..conftest import free_port, own_database, service_settings
from .callers import as_user

VOLTA = demo.tenant("volta")
JANA_ELECTRICITY = next(p for p in demo.supply_points("volta", demo.JANA) if p.commodity == "electricity")
DONE_WITHIN_SECONDS = 400


@pytest.fixture(scope="module")
def infra(infra):
    return own_database(infra)


async def count(infra, sql: str, *args) -> int:
    conn = await asyncpg.connect(infra.admin_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def history(infra, tmp_path_factory):
    """The services started with the demo history on, until its reminder is out."""
    settings = dataclasses.replace(
        service_settings(infra, tmp_path_factory.mktemp("history")), demo_invoices=True, render_workers=2
    )
    accounts = await start(ACCOUNTS, dataclasses.replace(settings, grpc_port=free_port()))
    billing = await start(
        SPEC, dataclasses.replace(settings, grpc_port=free_port(), service_addrs={"accounts": accounts.address})
    )
    deadline = time.monotonic() + DONE_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if await count(infra, "SELECT count(*) FROM billing.reminders"):
            break
        await asyncio.sleep(2)
    channel = rpc.channel(billing.address)
    yield BillingServiceStub(channel), billing
    await channel.close()
    await billing.stop()
    await accounts.stop()


async def test_every_demo_customer_has_a_year_of_invoices_and_payments(history, infra) -> None:
    billing, _ = history
    for tenant in demo.tenants():
        for customer in demo.customers(tenant.slug):
            if not demo.supply_points(tenant.slug, customer.customer_number):
                continue
            with as_user(tenant, customer.customer_number):
                listed = await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=customer.customer_number))
                paid = await billing.ListPayments(pb.ListPaymentsRequest(customer_number=customer.customer_number))
            issued = sorted(i.issue_date for i in listed.invoices)
            assert issued and issued[0] <= "2025-12-05" and issued[-1] >= "2026-11-05", customer.customer_number
            assert paid.payments, customer.customer_number


async def test_jana_owes_her_electricity_settlement_and_has_a_reminder(history) -> None:
    billing, _ = history
    with as_user(VOLTA, demo.JANA):
        unpaid = await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=demo.JANA, status="overdue"))
        balance = await billing.GetBalance(pb.GetBalanceRequest(customer_number=demo.JANA))
        everything = await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=demo.JANA))
    (invoice,) = unpaid.invoices
    assert (invoice.supply_point_id, invoice.period_to) == (str(JANA_ELECTRICITY.id), "2026-10-31")
    assert invoice.payment_string.startswith("SPD*1.0*")
    others = [i for i in everything.invoices if i.id != invoice.id]
    assert all(i.status in ("paid", "refund_due", "settled") for i in others)
    assert [(r.level, r.invoice_number) for r in balance.reminders] == [(1, invoice.number)]
    assert balance.overdue.amount == invoice.outstanding.amount


async def test_making_it_again_adds_nothing(history, infra) -> None:
    """What a restart does: the history made once more, to its end."""
    _, billing = history
    tables = ("invoices", "payments", "allocations", "reminders", "advances")
    before = [await count(infra, f"SELECT count(*) FROM billing.{table}") for table in tables]
    (make,) = [
        job for job in billing.wiring.background if getattr(job, "__self__", None).__class__.__name__ == "DemoHistory"
    ]
    await make()
    assert [await count(infra, f"SELECT count(*) FROM billing.{table}") for table in tables] == before
