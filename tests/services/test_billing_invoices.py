"""Invoices issued by the bill run over real gRPC, PostgreSQL and NATS, with the accounts service it asks about
supply points: every due point of the demo settled once, the totals recomputed here from the readings and the lines'
own figures, a second run issuing nothing, signed documents that verify, and who may see which invoice."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import subprocess
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import asyncpg
import pytest
from lxml import etree
from portal.billing.v1 import billing_pb2 as pb
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub
from portal.common.v1 import common_pb2

from kit import authz, context, demo, rpc
from kit.errors import DomainError
from kit.service import start
from services.accounts.wiring import SPEC as ACCOUNTS
from services.billing.wiring import SPEC

from ..conftest import free_port, own_database, service_settings
from .callers import as_staff, as_user

VOLTA, BALKAN = demo.tenant("volta"), demo.tenant("balkan")
JANA_ELECTRICITY, JANA_GAS = demo.supply_points("volta", demo.JANA)
CENT = Decimal("0.01")
ISDOC_XSD = Path(__file__).resolve().parents[1] / "fixtures" / "isdoc-6.0.2" / "isdoc-invoice-6.0.2.xsd"


@pytest.fixture(scope="module")
def infra(infra):
    return own_database(infra)


@pytest.fixture(scope="module")
async def billing(infra, tmp_path_factory):
    settings = service_settings(infra, tmp_path_factory.mktemp("invoices"))
    accounts = await start(ACCOUNTS, dataclasses.replace(settings, grpc_port=free_port()))
    service = await start(
        SPEC,
        dataclasses.replace(settings, grpc_port=free_port(), service_addrs={"accounts": accounts.address}),
    )
    channel = rpc.channel(service.address, deadline_seconds=120)
    yield BillingServiceStub(channel)
    await channel.close()
    await service.stop()
    await accounts.stop()


def as_system(tenant: demo.Tenant) -> context.bound:
    return context.bound(context.CallContext(tenant_id=str(tenant.id), subject="test", subject_kind=context.SYSTEM))


async def run_to_end(billing: BillingServiceStub, tenant: demo.Tenant, period: str, issue_date: str):
    calls = []
    with as_system(tenant):
        while True:
            progress = await billing.RunBilling(pb.RunBillingRequest(period=period, issue_date=issue_date))
            calls.append(progress)
            if progress.finished:
                return calls


async def rows(infra, sql: str, *args):
    conn = await asyncpg.connect(infra.admin_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def issued(billing, infra):
    calls = await run_to_end(billing, VOLTA, "2025", "2025-11-05")
    return calls, await rows(infra, "SELECT * FROM billing.invoices WHERE tenant_id = $1", VOLTA.id)


async def test_a_yearly_run_settles_every_yearly_point_once(issued) -> None:
    calls, invoices = issued
    yearly = [p for p in demo.supply_points("volta") if p.reading_schedule == "yearly"]
    assert len(calls) >= 2  # 253 points in batches of 200
    last = calls[-1]
    assert last.points == len(demo.supply_points("volta"))
    assert last.total == last.points
    assert (last.issued, last.failed, list(last.problems)) == (len(yearly), 0, [])
    assert sorted(r["supply_point_id"] for r in invoices) == sorted(p.id for p in yearly)
    assert {(r["period_from"].isoformat(), r["period_to"].isoformat()) for r in invoices} == {
        ("2024-11-01", "2025-10-31")
    }
    assert len({r["number"] for r in invoices}) == len(invoices)
    assert all(r["number"].startswith("2025") and r["variable_symbol"] == r["number"] for r in invoices)


async def test_totals_add_up_from_the_readings_and_the_lines(issued, infra) -> None:
    _, invoices = issued
    readings = await rows(
        infra,
        "SELECT r.supply_point_id, r.read_on, v.register, v.value FROM billing.readings r"
        " JOIN billing.reading_values v ON v.reading_id = r.id WHERE r.tenant_id = $1",
        VOLTA.id,
    )
    meter = {(r["supply_point_id"], r["read_on"].isoformat(), r["register"]): r["value"] for r in readings}
    checked = 0
    for invoice in invoices:
        s = json.loads(invoice["settlement"])
        by_rate: dict[str, Decimal] = defaultdict(Decimal)
        for line in s["lines"]:
            base = (Decimal(line["quantity"]) * Decimal(line["unit_price"])).quantize(CENT, ROUND_HALF_UP)
            assert abs(base - Decimal(line["base"])) <= CENT, line
            by_rate[line["vat_rate"]] += Decimal(line["base"])
        vat = sum(((b * Decimal(rate)).quantize(CENT, ROUND_HALF_UP) for rate, b in by_rate.items()), Decimal(0))
        total = sum(by_rate.values(), Decimal(0)) + vat
        assert total == invoice["total"]
        due = (total - invoice["advances"]).quantize(Decimal(1), ROUND_HALF_UP)
        assert due == invoice["amount_due"]
        if invoice["commodity"] == "electricity":
            point = invoice["supply_point_id"]
            for register, kwh in s["consumption"].items():
                measured = meter[(point, "2025-11-01", register)] - meter[(point, "2024-11-01", register)]
                assert Decimal(kwh) == measured
                mwh = sum(Decimal(line["quantity"]) for line in s["lines"] if line["code"] == f"energy.{register}")
                assert mwh * 1000 == measured
            checked += 1
    assert checked > 100


async def test_a_second_run_issues_nothing(issued, billing, infra) -> None:
    _, before = issued
    calls = await run_to_end(billing, VOLTA, "2025", "2025-11-06")
    assert (calls[-1].issued, calls[-1].failed) == (0, 0)
    after = await rows(infra, "SELECT id FROM billing.invoices WHERE tenant_id = $1", VOLTA.id)
    assert len(after) == len(before)


async def test_invoice_issued_events_go_out_once_per_invoice(issued, infra) -> None:
    _, invoices = issued
    events = await rows(
        infra,
        "SELECT count(*) AS n FROM billing.outbox WHERE tenant_id = $1 AND event_type LIKE '%InvoiceIssued'",
        VOLTA.id,
    )
    assert events[0]["n"] == len(invoices)


async def test_the_pdf_is_signed_and_the_isdoc_valid(issued, billing, tmp_path) -> None:
    _, invoices = issued
    mine = next(r for r in invoices if r["supply_point_id"] == JANA_ELECTRICITY.id)
    with as_user(VOLTA, JANA_ELECTRICITY.customer_number):
        pdf = await billing.GetInvoiceDocument(pb.GetInvoiceDocumentRequest(invoice_id=str(mine["id"])))
        isdoc = await billing.GetInvoiceDocument(
            pb.GetInvoiceDocumentRequest(invoice_id=str(mine["id"]), format=pb.DOCUMENT_FORMAT_ISDOC)
        )
    assert pdf.content_type == "application/pdf" and pdf.filename == f"{mine['number']}.pdf"
    schema = etree.XMLSchema(etree.parse(str(ISDOC_XSD)))
    assert schema.validate(etree.fromstring(isdoc.content)), schema.error_log
    if shutil.which("pdfsig") is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf.content)
    out = (await asyncio.to_thread(subprocess.run, ["pdfsig", str(path)], capture_output=True, text=True)).stdout
    assert "Signature is Valid" in out and "Total document signed" in out, out


async def test_customers_see_their_own_invoices_only(issued, billing) -> None:
    _, invoices = issued
    jana = JANA_ELECTRICITY.customer_number
    with as_user(VOLTA, jana):
        listed = await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=jana))
        assert {i.supply_point_id for i in listed.invoices} <= {str(JANA_ELECTRICITY.id), str(JANA_GAS.id)}
        assert listed.page.total_size == len([r for r in invoices if r["customer_number"] == jana])
        other = next(r for r in invoices if r["customer_number"] != jana)
        with pytest.raises(DomainError) as refused:
            await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=str(other["id"])))
        assert refused.value.reason == "not_found"
    with as_user(VOLTA, jana, capabilities=frozenset({authz.SUPPLY_POINTS_READ})):
        with pytest.raises(DomainError) as refused:
            await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=jana))
        assert refused.value.reason == "forbidden"
    mine = next(r for r in invoices if r["customer_number"] == jana)
    with as_user(BALKAN, demo.IVAN):
        with pytest.raises(DomainError) as refused:
            await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=str(mine["id"])))
        assert refused.value.reason == "not_found"


async def test_the_list_filters_by_number_amount_and_status(issued, billing) -> None:
    _, invoices = issued
    business = max(
        {r["customer_number"] for r in invoices}, key=lambda n: sum(r["customer_number"] == n for r in invoices)
    )
    theirs = [r for r in invoices if r["customer_number"] == business]
    target = theirs[0]
    with as_user(VOLTA, business):
        by_number = await billing.ListInvoices(
            pb.ListInvoicesRequest(customer_number=business, number=target["number"])
        )
        assert [i.number for i in by_number.invoices] == [target["number"]]
        amount = f"{target['amount_due']:.2f}".replace(".", ",")
        by_amount = await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=business, amount=amount))
        assert target["number"] in {i.number for i in by_amount.invoices}
        unpaid = await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=business, status="unpaid"))
        assert unpaid.page.total_size == sum(r["amount_due"] > 0 for r in theirs)
        seen, token = [], ""
        while True:
            page = await billing.ListInvoices(
                pb.ListInvoicesRequest(
                    customer_number=business, page=common_pb2.PageRequest(page_size=7, page_token=token)
                )
            )
            seen += [i.id for i in page.invoices]
            token = page.page.next_page_token
            if not token:
                break
        assert sorted(seen) == sorted(str(r["id"]) for r in theirs)
        for wrong, reason in (("12a", "invoice.number_invalid"), ("1,2,3", "invoice.amount_invalid")):
            field = "number" if reason.endswith("number_invalid") else "amount"
            with pytest.raises(DomainError) as refused:
                await billing.ListInvoices(pb.ListInvoicesRequest(customer_number=business, **{field: wrong}))
            assert refused.value.reason == reason


async def test_bill_runs_are_for_administrators(billing) -> None:
    with as_staff(VOLTA, authz.CUSTOMER_SERVICE):
        with pytest.raises(DomainError) as refused:
            await billing.RunBilling(pb.RunBillingRequest(period="2025"))
        assert refused.value.reason == "forbidden"
    with as_user(VOLTA, demo.JANA):
        with pytest.raises(DomainError) as refused:
            await billing.RunBilling(pb.RunBillingRequest(period="2025"))
        assert refused.value.reason == "forbidden"
    with as_staff(VOLTA, authz.TENANT_ADMIN):
        with pytest.raises(DomainError) as refused:
            await billing.RunBilling(pb.RunBillingRequest(period="2025-13"))
        assert refused.value.reason == "bill_run.period_invalid"


# --- payments -----------------------------------------------------------------------------------------------

ENTRY = """<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef>
<BkTxCd><Prtry><Cd>10000405000</Cd><Issr>CBA</Issr></Prtry></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
<RmtInf><Strd><CdtrRefInf><Ref>{symbol}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"""


def camt(iban: str, entries: list[tuple[str, str, str]], day: str = "2025-11-20") -> bytes:
    """A camt.053.001.02 statement of `iban` with credits (reference, amount, variable symbol)."""
    body = "".join(
        ENTRY.format(currency="CZK", amount=amount, day=day, ref=ref, symbol=symbol) for ref, amount, symbol in entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>TEST-{day}</MsgId><CreDtTm>{day}T22:00:00+01:00</CreDtTm></GrpHdr>
<Stmt><Id>TEST-{day}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{day}T22:00:00+01:00</CreDtTm>
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>CZK</Ccy></Acct>{body}</Stmt></BkToCstmrStmt></Document>""".encode()


async def test_a_statement_pays_invoices_queues_the_rest_and_imports_once(issued, billing, infra) -> None:
    _, invoices = issued
    due = sorted((r for r in invoices if r["amount_due"] > 1), key=lambda r: r["number"])
    exact, partly, over = due[0], due[1], due[2]
    statement = camt(
        VOLTA.collection_iban,
        [
            ("T-1", f"{exact['amount_due']:.2f}", exact["variable_symbol"]),
            ("T-2", "1.00", partly["variable_symbol"]),
            ("T-3", f"{over['amount_due'] + 100:.2f}", over["variable_symbol"]),
            ("T-4", "500.00", "9999999999"),
        ],
    )
    with as_staff(VOLTA, authz.TENANT_ADMIN):
        done = await billing.ImportStatement(pb.ImportStatementRequest(content=statement, filename="day.xml"))
        assert (done.lines, done.matched, done.queued, done.duplicates) == (4, 1, 3, 0)
        again = await billing.ImportStatement(pb.ImportStatementRequest(content=statement, filename="day.xml"))
        assert (again.lines, again.matched, again.queued, again.duplicates) == (4, 0, 0, 4)
    settled = {
        r["number"]: (r["settled"], r["amount_due"])
        for r in await rows(
            infra, "SELECT number, settled, amount_due FROM billing.invoices WHERE tenant_id = $1", VOLTA.id
        )
    }
    assert settled[exact["number"]] == (exact["amount_due"], exact["amount_due"])
    assert settled[partly["number"]][0] == Decimal("1.00")
    assert settled[over["number"]][0] == over["amount_due"]
    stored = await rows(
        infra,
        "SELECT reference, status, unallocated FROM billing.payments WHERE tenant_id = $1 ORDER BY reference",
        VOLTA.id,
    )
    assert [(r["reference"], r["status"], r["unallocated"]) for r in stored] == [
        ("T-1", "matched", Decimal("0.00")),
        ("T-2", "partial", Decimal("0.00")),
        ("T-3", "overpaid", Decimal("100.00")),
        ("T-4", "unmatched", Decimal("500.00")),
    ]
    with as_user(VOLTA, exact["customer_number"]):
        shown = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=str(exact["id"])))
        assert (shown.invoice.status, shown.invoice.payment_string) == ("paid", "")
        paid = await billing.ListPayments(pb.ListPaymentsRequest(customer_number=exact["customer_number"]))
        assert exact["number"] in [item for p in paid.payments for item in p.paid_items]
    with as_user(VOLTA, partly["customer_number"]):
        shown = await billing.GetInvoice(pb.GetInvoiceRequest(invoice_id=str(partly["id"])))
        assert shown.invoice.status == "partially_paid"
        assert f"AM:{partly['amount_due'] - 1:.2f}" in shown.invoice.payment_string


async def test_statements_are_for_administrators_and_bad_files_change_nothing(billing, infra) -> None:
    before = await rows(infra, "SELECT count(*) AS n FROM billing.payments")
    with as_staff(VOLTA, authz.CUSTOMER_SERVICE):
        with pytest.raises(DomainError) as refused:
            await billing.ImportStatement(pb.ImportStatementRequest(content=camt(VOLTA.collection_iban, [])))
        assert refused.value.reason == "forbidden"
    with as_staff(VOLTA, authz.TENANT_ADMIN):
        for content in (b"not a statement", camt(VOLTA.collection_iban, [("X", "12,5", "1")]).replace(b"</Stmt>", b"")):
            with pytest.raises(DomainError) as refused:
                await billing.ImportStatement(pb.ImportStatementRequest(content=content))
            assert refused.value.reason.startswith("statement.")
    after = await rows(infra, "SELECT count(*) AS n FROM billing.payments")
    assert after[0]["n"] == before[0]["n"]
