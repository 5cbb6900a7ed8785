"""The demo's invoicing history over real gRPC, PostgreSQL and NATS: a year of settlements and advances for every
demo customer, paid from bank statements, except the factory's electricity invoice of October 2026, which is overdue
and has its first reminder; making it again adds nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import asyncpg
import pytest
from portal.billing.v1 import billing_pb2 as pb
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub
from portal.common.v1 import common_pb2

from kit import demo, rpc
from kit.service import start
from services.accounts.wiring import SPEC as ACCOUNTS
from services.billing.wiring import SPEC

from ..conftest import free_port, own_database, service_settings
from .callers import as_user

ESCO = demo.tenant("esco")
FACTORY_ELECTRICITY = next(
    p
    for p in demo.supply_points("esco", demo.TOVARNA)
    if p.commodity == "electricity" and p.reading_schedule == "monthly"
)
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
            number = customer.customer_number
            with as_user(tenant, number):
                newest = await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=number))
                a_year_ago = await billing.ListInvoices(
                    pb.ListInvoicesRequest(customer_number=number, issued_to="2025-12-05")
                )
                paid = await billing.ListPayments(pb.ListPaymentsRequest(customer_number=number))
            assert newest.invoices[0].issue_date >= "2026-11-05", number
            assert a_year_ago.page.total_size, number
            assert paid.payments, number


async def test_the_factory_owes_its_october_electricity_and_has_a_reminder(history) -> None:
    billing, _ = history
    with as_user(ESCO, demo.TOVARNA):
        unpaid = await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=demo.TOVARNA, status="overdue"))
        balance = await billing.GetBalance(pb.GetBalanceRequest(customer_number=demo.TOVARNA))
        everything = await billing.ListInvoices(
            pb.ListInvoicesRequest(customer_number=demo.TOVARNA, page=common_pb2.PageRequest(page_size=100))
        )
    (invoice,) = unpaid.invoices
    assert (invoice.supply_point_id, invoice.period_to) == (str(FACTORY_ELECTRICITY.id), "2026-10-31")
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
