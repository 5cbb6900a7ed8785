"""Target 2: the 250-point business's home page and first supply-point page cost ≤ 1.5× the household's.

Same method as bench.dashboard (32 signed-in sessions, closed loop) for four pages: the household's and the
business's `/dashboard` and first page of `/supply-points`. The cost ratio is business ÷ household of the mean
and the median latency (and household ÷ business of the throughput, which a closed loop makes the same thing).

    python -m bench.business [--duration 20] [--rounds 4] [--warmup 5] [--sessions 32] [--generator wrk|httpx]
                             [--no-record]
"""

from __future__ import annotations

import argparse

from kit import demo

from . import harness as h

TARGET_RATIO = 1.5
PAGES = (("/dashboard", "home page"), ("/supply-points", "first supply-point page"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.business", description=__doc__.split("\n\n")[0])
    h.load_args(parser)
    parser.add_argument("--rounds", type=int, default=4, help="turns the measured seconds are split into (default 4)")
    args = parser.parse_args()
    m = h.machine()
    jana = demo.customer("volta", demo.JANA)
    bakery = demo.customer("volta", demo.PEKARNY_A)
    business_points = sum(len(demo.supply_points("volta", n)) for n in (demo.PEKARNY_A, demo.PEKARNY_B))
    first_point = sorted(p.identifier for p in demo.supply_points("volta", demo.PEKARNY_A))[0]
    common = dict(generator=args.generator, connections=args.sessions, warmup=0)
    results: dict[tuple[str, str], h.Load] = {}
    with h.running_portal() as portal:
        print(f"signing in {args.sessions} sessions each of {h.HOUSEHOLD} and {h.BUSINESS} …", flush=True)
        household = h.sign_in(portal.base_url, h.HOUSEHOLD, args.sessions)
        business = h.sign_in(portal.base_url, h.BUSINESS, args.sessions)
        h.expect_page(portal.base_url, "/dashboard", household, jana.name)
        h.expect_page(portal.base_url, "/dashboard", business, bakery.name)
        h.expect_page(portal.base_url, "/supply-points", business, first_point)
        meter = h.CpuMeter(portal.pid, h.named_pids(portal.data_dir))
        users = (("household", household), ("business", business))
        for path, _ in PAGES:
            for _, cookies in users:
                h.load("warm-up", portal.base_url + path, cookies, **{**common, "seconds": args.warmup}, quiet=True)
        # household and business take turns in short rounds, so that what else the machine does at the time
        # weighs on both alike
        parts: dict[tuple[str, str], list[h.Load]] = {(path, who): [] for path, _ in PAGES for who, _ in users}
        for _ in range(args.rounds):
            for path, _ in PAGES:
                for who, cookies in users:
                    parts[path, who].append(
                        h.load(
                            f"{path}, {who}",
                            portal.base_url + path,
                            cookies,
                            meter=meter,
                            quiet=True,
                            **{**common, "seconds": args.duration / args.rounds},
                        )
                    )
        for (path, who), windows in parts.items():
            results[path, who] = h.merge(f"{path}, {who}", windows)
            h.report(results[path, who])
        h.expect_page(portal.base_url, "/dashboard", business, bakery.name)

    rows = []
    for path, title in PAGES:
        hh, biz = results[path, "household"], results[path, "business"]
        mean_ratio = biz.mean_ms / hh.mean_ms
        p50_ratio = biz.p50_ms / hh.p50_ms
        rate_ratio = hh.rate / biz.rate if biz.rate else float("inf")
        cpu_ratio = (biz.server_cpu / biz.ok) / (hh.server_cpu / hh.ok) if biz.ok and hh.ok else float("inf")
        ok = max(mean_ratio, p50_ratio) <= TARGET_RATIO and hh.failed == biz.failed == 0
        rows.append(
            f"| {title} (`{path}`) | {mean_ratio:.2f}× | {p50_ratio:.2f}× | {rate_ratio:.2f}× | {cpu_ratio:.2f}× "
            f"| {h.verdict(ok)} |"
        )
        print(
            f"{title}: business/household mean {mean_ratio:.2f}×, p50 {p50_ratio:.2f}×, throughput {rate_ratio:.2f}×, "
            f"CPU per page {cpu_ratio:.2f}× (target ≤ {TARGET_RATIO}): {'met' if ok else 'MISSED'}"
        )
    if args.no_record:
        return
    household_points = len(demo.supply_points("volta", demo.JANA))
    first_number_points = len(demo.supply_points("volta", demo.PEKARNY_A))
    target_header = f"target ≤ {TARGET_RATIO}× (mean and p50)"
    h.record(
        "business",
        f"""## 2. The 250-point business against the household

`{h.command_line()}` — {h.describe(m)}

Household `{h.HOUSEHOLD}` ({household_points} supply points) against business `{h.BUSINESS}`
({business_points} supply points under two customer numbers; its pages show the first one,
{bakery.customer_number}, with {first_number_points} points). Load generator `{args.generator}`, closed loop,
{args.sessions} connections over {args.sessions} signed-in sessions per user, {args.warmup:g} s warm-up per row,
then {args.duration:g} s measured per row in {args.rounds} rounds in which the four rows take turns (so that other
load on the machine weighs on household and business alike); only 200 pages count. "First supply-point page" is
the first page of the supply-point list (`/supply-points`, one page of rows).

{h.load_table([results[path, who] for path, _ in PAGES for who in ("household", "business")])}

| page | mean latency ratio | p50 ratio | throughput ratio | CPU per page ratio | {target_header} |
|---|---:|---:|---:|---:|---|
{chr(10).join(rows)}

CPU milliseconds per page by process in the same windows (see section 1 for the columns):

{h.cpu_table([results[path, who] for path, _ in PAGES for who in ("household", "business")], int(m["cores"]))}
""",
    )


if __name__ == "__main__":
    main()
