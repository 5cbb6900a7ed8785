"""Target 4: all processes together stay under 1.5 GiB resident when idle.

Starts a portal, lets it idle, and sums the resident set (RSS) of the `portal up` supervisor and every process under
it: PostgreSQL (postmaster and all its backends and workers), nats-server, the services and the gateway. RSS counts
shared pages (PostgreSQL's shared buffers, shared libraries) once per process, so the sum overstates what the portal
really holds; the proportional set size (PSS) is printed beside it. Then it runs 10 s of `/dashboard` load and
measures the idle portal again, to show what serving leaves behind.

    python -m bench.memory [--idle 10] [--no-record]
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections import defaultdict

import psutil

from kit import demo

from . import harness as h

TARGET_BYTES = 1.5 * h.GiB
ORDER = ("supervisor", "postgresql", "nats-server", "accounts", "identity", "notifications", "gateway")


def measure(portal: h.Portal) -> dict[str, tuple[int, int, int]]:
    """Per kind of process: (how many, RSS bytes, PSS bytes)."""
    names = h.named_pids(portal.data_dir)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in h.tree(portal.pid):
        try:
            info = p.memory_full_info()
            kind = h.process_kind(p, names)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        row = sums[kind]
        row[0] += 1
        row[1] += info.rss
        row[2] += getattr(info, "pss", info.rss)
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}


def total(sample: dict[str, tuple[int, int, int]]) -> tuple[int, int, int]:
    return (sum(v[0] for v in sample.values()), sum(v[1] for v in sample.values()), sum(v[2] for v in sample.values()))


def mib(n: int) -> str:
    return f"{n / (1 << 20):.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    h.common_args(parser)
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds before measuring (default 10)")
    args = parser.parse_args()
    m = h.machine()
    with h.running_portal() as portal:
        time.sleep(args.idle)
        idle = measure(portal)
        print(f"idle after start: {mib(total(idle)[1])} MiB RSS, {mib(total(idle)[2])} MiB PSS", flush=True)
        cookies = h.sign_in(portal.base_url, h.HOUSEHOLD, 32)
        h.expect_page(portal.base_url, "/dashboard", cookies, demo.customer("volta", demo.JANA).name)
        gen = "wrk" if shutil.which("wrk") else "httpx"
        h.load(
            "/dashboard, household",
            portal.base_url + "/dashboard",
            cookies,
            generator=gen,
            connections=32,
            seconds=10,
            warmup=0,
        )
        time.sleep(args.idle)
        after = measure(portal)
        print(f"idle after load:  {mib(total(after)[1])} MiB RSS, {mib(total(after)[2])} MiB PSS", flush=True)

    kinds = [k for k in ORDER if k in idle or k in after] + sorted((set(idle) | set(after)) - set(ORDER))
    worst = max(total(idle)[1], total(after)[1])
    ok = worst < TARGET_BYTES
    print(
        f"sum RSS {mib(total(idle)[1])} MiB idle, {mib(total(after)[1])} MiB idle after load "
        f"(target < {mib(int(TARGET_BYTES))} MiB): {'met' if ok else 'MISSED'}"
    )
    rows = []
    for k in kinds:
        n, rss, pss = idle.get(k, (0, 0, 0))
        _, rss2, pss2 = after.get(k, (0, 0, 0))
        rows.append(f"| {k} | {n} | {mib(rss)} | {mib(pss)} | {mib(rss2)} | {mib(pss2)} |")
    n, rss, pss = total(idle)
    _, rss2, pss2 = total(after)
    rows.append(f"| **all** | {n} | **{mib(rss)}** | {mib(pss)} | **{mib(rss2)}** | {mib(pss2)} |")
    print("process, count, RSS/PSS MiB idle, RSS/PSS MiB idle after load:")
    for row in rows:
        print("  " + row.replace("*", "").strip("| ").replace(" | ", "  "))
    if args.no_record:
        return
    h.record(
        "memory",
        f"""## 4. Resident memory when idle

`{h.command_line()}` — {h.describe(m)}

Sum over the `portal up` process and every process under it (psutil), {args.idle:g} s after `ready`, and again
{args.idle:g} s after 10 s of `/dashboard` load from 32 signed-in sessions. RSS counts shared pages once per process
(PostgreSQL's shared buffers are in every backend), so it overstates; PSS splits shared pages between processes.

| process | count | RSS MiB idle | PSS MiB idle | RSS MiB idle after load | PSS MiB idle after load |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

| target | measured | |
|---|---|---|
| sum RSS < 1.5 GiB (1536 MiB) idle | {mib(rss)} MiB after start, {mib(rss2)} MiB after load | {h.verdict(ok)} |
""",
    )


if __name__ == "__main__":
    main()
