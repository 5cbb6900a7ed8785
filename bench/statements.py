"""Bank statement import, the pure part: a 100,000-line camt.053 statement parsed in a few seconds with flat memory,
and its payments matched against 100,000 open items in memory. The whole import with the database has ≤ 60 s; this
part should be a small fraction of it.

    python -m bench.statements [--lines 100000] [--no-record]

The statement and its ABO/GPC twin are written to a temporary directory: one payment per open item, most of them
exact, some partial, some overpaid, some with a symbol no item has, a few returned. Each measurement runs in a fresh
Python process (so that one's peak memory does not hide another's): the resident set once the modules are imported,
and its peak during the work.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psutil

from services.billing import payments, statements

from . import harness as h

TARGET_IMPORT_S = 60.0
# "a small fraction" of the import's 60 s: parsing and matching 100,000 lines may take a tenth of it
TARGET_PURE_S = 6.0
DAY = date(2026, 11, 30)
FIRST_SYMBOL = 2026000000
MiB = 1 << 20

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>BENCH-1</MsgId><CreDtTm>2026-11-30T22:00:00+01:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>BENCH-2026-11-30</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>2026-11-30T22:00:00+01:00</CreDtTm>
   <Acct><Id><IBAN>CZ6508000000192000145399</IBAN></Id><Ccy>CZK</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CZK">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <Dt><Dt>2026-11-29</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CZK">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <Dt><Dt>2026-11-30</Dt></Dt></Bal>
"""
ENTRY = """   <Ntry><Amt Ccy="CZK">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd><RvslInd>{rev}</RvslInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-11-30</Dt></BookgDt><ValDt><Dt>2026-11-30</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef>
    <BkTxCd><Prtry><Cd>10000405000</Cd><Issr>CBA</Issr></Prtry></BkTxCd>
    <NtryDtls><TxDtls><Refs><EndToEndId>VS{vs}/SS/KS0308</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>Zákazník {n}</Nm></Dbtr><DbtrAcct><Id><Othr><Id>19-2000145399</Id></Othr></Id></DbtrAcct>
     </RltdPties><RltdAgts><DbtrAgt><FinInstnId><Othr><Id>0800</Id></Othr></FinInstnId></DbtrAgt></RltdAgts>
     <RmtInf><Ustrd>Záloha {n}</Ustrd><Strd><CdtrRefInf><Ref>{vs}</Ref></CdtrRefInf></Strd></RmtInf>
    </TxDtls></NtryDtls></Ntry>
"""
TAIL = """  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def item_amount(n: int) -> Decimal:
    return Decimal(500 + n % 2500)


def payment_of(n: int) -> tuple[Decimal, int, bool]:
    """What line `n` pays, to which symbol, and whether it is a returned payment: 90 % exact, 4 % partial, 3 %
    overpaid, 2 % an unknown symbol, 1 % a payment returned (of the line before it)."""
    due = item_amount(n)
    kind = n % 100
    if kind < 90:
        return due, FIRST_SYMBOL + n, False
    if kind < 94:
        return due - 100, FIRST_SYMBOL + n, False
    if kind < 97:
        return due + 250, FIRST_SYMBOL + n, False
    if kind < 99:
        return due, 9000000000 + n, False
    return payment_of(n - 1)[0], payment_of(n - 1)[1], True


def closing_balance(lines: int) -> Decimal:
    """The statement's closing balance from an opening one of zero."""
    return sum((-a if returned else a for a, _, returned in map(payment_of, range(lines))), Decimal(0))


def write_camt(path: Path, lines: int) -> int:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD.format(closing=closing_balance(lines)))
        for n in range(lines):
            amount, vs, returned = payment_of(n)
            cd, rev = ("DBIT", "true") if returned else ("CRDT", "false")
            out.write(ENTRY.format(amount=amount, cd=cd, rev=rev, ref=f"B{n:09d}", vs=vs, n=n))
        out.write(TAIL)
    return path.stat().st_size


def write_abo(path: Path, lines: int) -> int:
    records = []
    closing = closing_balance(lines)
    for n in range(lines):
        amount, vs, returned = payment_of(n)
        records.append(
            f"0750000192000145399{'0000000123456789'}{n:<13d}{int(amount * 100):012d}{'5' if returned else '2'}"
            f"{vs:010d}0001000308{0:010d}301126{'Zakaznik ' + str(n):<20.20}00203301126"
        )
    header = (
        f"0740000192000145399{'VOLTA BENCH':<20}291126{0:014d}+{int(closing * 100):014d}+{0:014d}0{0:014d}0"
        f"001301126{'':14}"
    )
    path.write_text("\r\n".join([header, *records]) + "\r\n", encoding="cp1250")
    return path.stat().st_size


def open_items(count: int) -> list[payments.OpenItem]:
    return [
        payments.OpenItem(
            id=f"i{n}",
            kind=payments.ADVANCE,
            variable_symbol=str(FIRST_SYMBOL + n),
            customer_number=str(1000000000 + n // 3),
            outstanding=item_amount(n),
            due_on=DAY - timedelta(days=n % 40),
            currency="CZK",
        )
        for n in range(count)
    ]


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _peak() -> int:
    """This process's peak resident set. Not `ru_maxrss`: across fork and exec that keeps the parent's peak."""
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def parse_only(path: str) -> dict[str, float]:
    """Every line read and summed, none kept: what streaming costs."""
    base = _rss()
    began, cpu = time.perf_counter(), time.process_time()
    with open(path, "rb") as source:
        statement, lines = statements.read(source)
        count, total = 0, Decimal(0)
        for line in lines:
            count += 1
            total += line.amount
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    assert statement.opening_balance + total == statement.closing_balance
    return {"seconds": seconds, "cpu": cpu, "lines": count, "base": base, "peak": _peak()}


def parse_and_match(path: str, items: int) -> dict[str, float]:
    """The statement matched against `items` open items held in memory, outcomes counted."""
    base = _rss()
    began = time.perf_counter()
    held = open_items(items)
    built = time.perf_counter() - began
    began, cpu = time.perf_counter(), time.process_time()
    outcomes: dict[str, int] = {}
    with open(path, "rb") as source:
        _, lines = statements.read(source)
        for p in payments.match_all(lines, held):
            outcomes[p.outcome] = outcomes.get(p.outcome, 0) + 1
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "items_s": built, "base": base, "peak": _peak(), **outcomes}


def fresh(fn, *args) -> dict[str, float]:  # noqa: ANN001 - a module-level function and its arguments
    """`fn(*args)` in a new Python process, so that its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1) as pool:
        return pool.submit(fn, *args).result()


def mib(n: float) -> str:
    return f"{n / MiB:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__.split("\n\n")[0])
    h.common_args(parser)
    parser.add_argument("--lines", type=int, default=100_000, help="statement lines and open items (default 100000)")
    args = parser.parse_args()
    m = h.machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-statements-") as tmp:
        camt, abo = Path(tmp) / "statement.xml", Path(tmp) / "statement.gpc"
        sizes = {"camt.053": write_camt(camt, args.lines), "ABO/GPC": write_abo(abo, args.lines)}
        print(f"{args.lines} lines: camt.053 {mib(sizes['camt.053'])} MiB, ABO/GPC {mib(sizes['ABO/GPC'])} MiB")
        results = {}
        for label, path in (("camt.053", camt), ("ABO/GPC", abo)):
            parse = fresh(parse_only, str(path))
            both = fresh(parse_and_match, str(path), args.lines)
            results[label] = (parse, both)
            counts = ", ".join(f"{k} {v}" for k, v in both.items() if k in set(payments.Outcome))
            print(
                f"{label}: parse {parse['seconds']:.2f} s ({parse['cpu']:.2f} CPU-s), peak RSS "
                f"+{mib(parse['peak'] - parse['base'])} MiB over {mib(parse['base'])} MiB; parse + match against "
                f"{args.lines} items {both['seconds']:.2f} s ({both['cpu']:.2f} CPU-s; items built in "
                f"{both['items_s']:.2f} s), peak RSS +{mib(both['peak'] - both['base'])} MiB; {counts}"
            )
            rows.append(
                f"| {label} | {mib(sizes[label])} | {parse['seconds']:.2f} | {parse['cpu']:.2f} | "
                f"{mib(parse['peak'] - parse['base'])} | {both['seconds']:.2f} | {both['cpu']:.2f} | "
                f"{mib(both['peak'] - both['base'])} |"
            )
    worst = max(both["seconds"] for _, both in results.values())
    ok = worst <= TARGET_PURE_S
    print(
        f"worst parse + match {worst:.2f} s (target ≤ {TARGET_PURE_S:.0f} s of the import's {TARGET_IMPORT_S:.0f}): "
        f"{'met' if ok else 'MISSED'}"
    )
    if args.no_record:
        return
    table = "\n".join(rows)
    h.record(
        "statements",
        f"""## Bank statements: parsing and matching

`{h.command_line()}` — {h.describe(m)}

One statement of {args.lines:,} incoming payments (90 % exact, 4 % partial, 3 % overpaid, 2 % unknown symbol, 1 %
returned) in each format, written to a temporary directory, read from the file by `services.billing.statements`
and matched by `services.billing.payments.match_all` against {args.lines:,} open items held in memory. No database:
this is the pure part of the import. Each measurement in a fresh Python process; memory is the growth of the peak
resident set over the process once its modules are imported (the items held for matching included). CPU seconds
beside the wall-clock ones: on a shared machine the wall clock says as much about the neighbours.

| format | file MiB | parse s | CPU-s | peak +MiB | parse + match s | CPU-s | peak +MiB |
|---|---:|---:|---:|---:|---:|---:|---:|
{table}

| target | measured | |
|---|---|---|
| parse + match ≤ {TARGET_PURE_S:.0f} s (import ≤ {TARGET_IMPORT_S:.0f} s) | {worst:.2f} s | {h.verdict(ok)} |
""",
    )


if __name__ == "__main__":
    main()
