"""Target 1: the logged-in home page (`/dashboard`) sustains ≥ 300 pages/s with p99 ≤ 100 ms at 32 concurrent
sessions, the whole stack and the load generator on one machine; also as a ratio to a bare Litestar endpoint
measured in the same run with the same load generator.

    python -m bench.dashboard [--duration 20] [--warmup 5] [--sessions 32] [--generator wrk|httpx] [--no-record]
"""

from __future__ import annotations

import argparse

from kit import demo

from . import harness as h

TARGET_RATE = 300.0
TARGET_P99_MS = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n\n")[0])
    h.load_args(parser)
    args = parser.parse_args()
    m = h.machine()
    jana = demo.customer("volta", demo.JANA)
    with h.running_portal() as portal, h.hello_server() as (hello_url, hello_pid):
        print(f"signing in {args.sessions} sessions of {h.HOUSEHOLD} …", flush=True)
        cookies = h.sign_in(portal.base_url, h.HOUSEHOLD, args.sessions)
        h.expect_page(portal.base_url, "/dashboard", cookies, jana.name)
        common = dict(generator=args.generator, connections=args.sessions, seconds=args.duration, warmup=args.warmup)
        bare = h.load(
            "bare Litestar hello (own uvicorn)",
            hello_url,
            [],
            meter=h.CpuMeter(hello_pid, {hello_pid: "bare"}),
            **common,
        )
        page = h.load(
            "/dashboard, household",
            portal.base_url + "/dashboard",
            cookies,
            meter=h.CpuMeter(portal.pid, h.named_pids(portal.data_dir)),
            **common,
        )
        # the sessions are still signed in: nothing was measured against the sign-in page
        h.expect_page(portal.base_url, "/dashboard", cookies, jana.name)

    cores = int(m["cores"])
    rate_ok = page.rate >= TARGET_RATE and page.failed == 0
    p99_ok = page.p99_ms <= TARGET_P99_MS
    ratio = page.rate / bare.rate if bare.rate else 0.0
    cost = 1 / ratio if ratio else 0.0
    print(f"dashboard {page.rate:.1f} pages/s (target ≥ {TARGET_RATE:.0f}): {'met' if rate_ok else 'MISSED'}")
    print(f"dashboard p99 {page.p99_ms:.1f} ms (target ≤ {TARGET_P99_MS:.0f}): {'met' if p99_ok else 'MISSED'}")
    print(f"dashboard / bare Litestar throughput: {ratio:.3f} ({1 / ratio if ratio else 0:.1f}× slower)")
    print(f"CPU ceiling at this cost per page on {cores} cores: {page.ceiling(cores):.0f} pages/s")
    if args.no_record:
        return
    h.record(
        "dashboard",
        f"""## 1. Logged-in home page throughput

`{h.command_line()}` — {h.describe(m)}

Load generator: `{page.generator}`, closed loop, {page.connections} connections, each request carrying one of
{args.sessions} separately signed-in sessions of the household `{h.HOUSEHOLD}` (`Host: {h.HOST}`), {args.warmup:g} s
warm-up then {args.duration:g} s measured per row; only 200 pages count. The bare row is a one-line Litestar handler
in its own uvicorn process (`bench/hello.py`, same server settings as the gateway) measured in the same run.

{h.load_table([bare, page])}

| target | measured | |
|---|---|---|
| ≥ {TARGET_RATE:.0f} pages/s | {page.rate:.1f} pages/s | {h.verdict(rate_ok)} |
| p99 ≤ {TARGET_P99_MS:.0f} ms | {page.p99_ms:.1f} ms | {h.verdict(p99_ok)} |
| ratio to bare Litestar (throughput) | {ratio:.3f} — the page costs {cost:.1f}× the bare handler | |

Where the CPU went in the measured window, in CPU milliseconds per page (psutil, per process; `postgresql` is the
postmaster and all its backends). "Ceiling" is {cores} cores divided by the CPU per page of the measured processes
plus the load generator — what this build could reach if nothing else ran on the machine. "Other programs" is CPU
the machine spent outside the measured processes and the generator during the window (on a shared machine, other
people's work; it makes the measured pages/s lower than the ceiling).

{h.cpu_table([bare, page], cores)}
""",
    )


if __name__ == "__main__":
    main()
