"""Issue 3 target: the bill run issues ≥ 100 complete invoices per second on this machine — settlement, PDF with the
QR code, seal, ISDOC, stored, event written for publishing.

    python -m bench.billing [--months 12] [--no-record]

A portal of its own (the harness leaves out the demo's invoicing history) settles volta's demo supply points as the
CLI does, batch after batch through `BillingService.RunBilling`: the yearly-read points for 2025, then the
monthly-read ones month by month. The figure is the invoices issued over the wall time of the runs; the outbox is
counted to show every invoice's InvoiceIssued was written with it.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg
from portal.billing.v1 import billing_pb2 as pb
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub

from kit import cli, context, demo, rpc
from kit.supervisor import read_json

from . import harness as h

TARGET_PER_SECOND = 100.0


async def run(address: str, tenant_id: str, periods: list[str]) -> list[tuple[str, int, float]]:
    """(period, invoices issued, seconds) of each run, called to its end as `portal billing run` does."""
    system = context.CallContext(tenant_id=tenant_id, subject="bench", subject_kind=context.SYSTEM, channel="cli")
    found = []
    async with rpc.channel(address, deadline_seconds=600) as channel:
        stub = BillingServiceStub(channel)
        with context.bound(system):
            for period in periods:
                began = time.perf_counter()
                while not (progress := await stub.RunBilling(pb.RunBillingRequest(period=period))).finished:
                    pass
                found.append((period, progress.issued, time.perf_counter() - began))
    return found


async def outbox(database_url: str, tenant_id: str) -> tuple[int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        invoices = await conn.fetchval("SELECT count(*) FROM billing.invoices WHERE tenant_id = $1", tenant_id)
        events = await conn.fetchval(
            "SELECT count(*) FROM billing.outbox WHERE tenant_id = $1 AND event_type LIKE '%InvoiceIssued'", tenant_id
        )
        return invoices, events
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.billing", description=__doc__.split("\n\n")[0])
    h.common_args(parser)
    parser.add_argument("--months", type=int, default=12, help="monthly runs after the yearly one (default 12)")
    args = parser.parse_args()
    m = h.machine()
    tenant_id = str(demo.tenant("volta").id)
    periods = ["2025"] + [f"{2025 + (10 + i) // 12}-{(10 + i) % 12 + 1:02d}" for i in range(args.months)]
    with h.running_portal() as portal:
        state = read_json(portal.data_dir.absolute() / cli.STATE_FILE) or {}
        address = cli.service_address("billing", portal.data_dir) or ""
        runs = asyncio.run(run(address, tenant_id, periods))
        invoices, events = asyncio.run(outbox(state["postgres"]["url"], tenant_id))
    issued = sum(n for _, n, _ in runs)
    seconds = sum(s for _, _, s in runs)
    rate = issued / seconds if seconds else 0.0
    for period, n, s in runs:
        print(f"{period}: {n} invoices in {s:.1f} s")
    ok = rate >= TARGET_PER_SECOND
    print(
        f"{issued} invoices in {seconds:.1f} s: {rate:.0f} per second (target ≥ {TARGET_PER_SECOND:.0f}): "
        f"{'met' if ok else 'MISSED'}; {invoices} stored, {events} InvoiceIssued in the outbox"
    )
    if args.no_record:
        return
    measured = f"{rate:.0f} per second ({issued} in {seconds:.1f} s)"
    table = "\n".join(f"| {period} | {n} | {s:.1f} | {n / s if s else 0:.0f} |" for period, n, s in runs)
    h.record(
        "billing",
        f"""## Billing: the bill run

`{h.command_line()}` — {h.describe(m)}

volta's demo supply points settled by `BillingService.RunBilling` called to the end of each run as
`portal billing run` does: the yearly-read points for 2025, then the monthly-read ones month by month. Each invoice
is a settlement from the readings, price lists and paid advances, a PDF with the QR code sealed with the brand's
certificate (PAdES), the ISDOC attached and stored beside it, and InvoiceIssued in the outbox, in one transaction.
Documents are drawn in worker processes, one per core.

| period | invoices | seconds | per second |
|---|---:|---:|---:|
{table}

{invoices} invoices stored, {events} InvoiceIssued events written.

| target | measured | |
|---|---|---|
| ≥ {TARGET_PER_SECOND:.0f} complete invoices per second | {measured} | {h.verdict(ok)} |
""",
    )


if __name__ == "__main__":
    main()
