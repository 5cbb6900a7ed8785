"""Issue 4 target: request submission p99 ≤ 200 ms at 50 submissions/s.

    python -m bench.requests_submit [--rate 50] [--duration 60] [--warmup 5] [--no-record]

A portal of its own; the household customer makes a personal access token that may file requests, then this process
files breaker changes on her electricity supply point through the JSON API (`POST /api/v1/customers/{number}/requests`
with a fresh Idempotency-Key each) at a fixed rate, whether or not earlier ones have answered (an open loop, as
customers arrive). A submission's time runs from when it was due to be sent to its 201, so a generator or a portal
falling behind shows in the figures instead of lowering the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import time
import uuid
from urllib.parse import urlencode

import httpx

from kit import demo

from . import harness as h

TARGET_P99_MS = 200.0
SCOPES = ("requests:read", "requests:write", "breaker-change:request", "supply-points:read")
TOKEN = re.compile(r"ep_pat_[A-Za-z0-9_-]{43}")


def personal_token(base_url: str) -> str:
    """A token of the household customer's that may file requests, made on /profile/tokens."""
    (cookie,) = h.sign_in(base_url, h.HOUSEHOLD, 1)
    headers = {"Host": h.HOST, "Cookie": cookie}
    with httpx.Client(base_url=base_url, headers=headers, trust_env=False, timeout=60) as c:
        page = c.get("/profile/tokens")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        if not csrf:
            raise RuntimeError(f"no token form at /profile/tokens ({page.status_code})")
        fields = [("_csrf_token", csrf.group(1)), ("name", "bench"), ("expires_at", "30"), ("expires_on", "")]
        # each ticked box once, as a browser sends it
        body = urlencode([*fields, *(("scopes", s) for s in SCOPES)])
        made = c.post("/profile/tokens", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        found = TOKEN.search(made.text)
        if made.status_code != 200 or not found:
            raise RuntimeError(f"no token made: {made.status_code}")
        return found.group(0)


def submission() -> dict[str, object]:
    point = demo.supply_points("volta", demo.JANA)[0]
    return {
        "type": "breaker_change",
        "supply_point_id": str(point.id),
        "values": {"breaker_amps": "25", "phases": "3", "note": "bench"},
    }


async def open_loop(base_url: str, token: str, rate: float, seconds: float, label: str) -> h.Load:
    """`rate` submissions a second for `seconds`; each timed from when it was due."""
    path = f"/api/v1/customers/{demo.JANA}/requests"
    body = submission()
    hist: dict[int, int] = {}
    ok = failed = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    headers = {"Host": h.HOST, "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, trust_env=False, timeout=30, limits=limits
    ) as client:

        async def one(due: float) -> None:
            nonlocal ok, failed
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                resp = await client.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
            except httpx.HTTPError:
                failed += 1
                return
            if resp.status_code != 201:
                if not failed:
                    print(f"a submission failed: {resp.status_code} {resp.text[:300]}", flush=True)
                failed += 1
                return
            ok += 1
            bucket = int((time.perf_counter() - due) * 1000 / h.BUCKET_MS)
            hist[bucket] = hist.get(bucket, 0) + 1

        start = time.perf_counter() + 0.1
        count = int(rate * seconds)
        await asyncio.gather(*(one(start + i / rate) for i in range(count)))
    return h.Load(label, "httpx open loop", 0, seconds, ok, failed, tuple(sorted(hist.items())))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.requests_submit", description=__doc__.split("\n\n")[0])
    h.common_args(parser)
    parser.add_argument("--rate", type=float, default=50.0, help="submissions a second (default 50)")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds at the same rate (default 5)")
    args = parser.parse_args()
    m = h.machine()
    label = f"breaker change filed, {args.rate:g}/s"
    with h.running_portal() as portal:
        token = personal_token(portal.base_url)
        if args.warmup > 0:
            asyncio.run(open_loop(portal.base_url, token, args.rate, args.warmup, "warm-up"))
        meter = h.CpuMeter(portal.pid, h.named_pids(portal.data_dir))
        processes = meter.snapshot()
        busy, own = h._machine_busy(), time.process_time()
        result = asyncio.run(open_loop(portal.base_url, token, args.rate, args.duration, label))
        result = dataclasses.replace(
            result,
            cpu=tuple(meter.since(processes).items()),
            machine_cpu=h._machine_busy() - busy,
            generator_cpu=time.process_time() - own,
        )
    h.report(result)
    ok = result.failed == 0 and result.p99_ms <= TARGET_P99_MS
    verdict = "met" if ok else "MISSED"
    print(f"p99 {result.p99_ms:.1f} ms (target ≤ {TARGET_P99_MS:.0f}) with {result.failed} failed: {verdict}")
    if args.no_record:
        return
    h.record(
        "requests_submit",
        f"""## Requests: filing one through the API

`{h.command_line()}` — {h.describe(m)}

The household customer's personal access token files breaker changes on her electricity supply point through
`POST /api/v1/customers/{{number}}/requests` (each with its own Idempotency-Key: the gateway resolves the token with
identity, the requests service asks accounts for the supply point and the permission matrix, stores the request,
its timeline, audit entry and event in one transaction) at {args.rate:g} a second for {args.duration:g} s after
{args.warmup:g} s of warm-up, an open loop: each submission is timed from when it was due to its 201.

{h.load_table([result])}

{h.cpu_table([result], int(m.get("cores", "1") or 1))}

| target | measured | |
|---|---|---|
| submission p99 ≤ {TARGET_P99_MS:.0f} ms at {args.rate:g}/s | {result.p99_ms:.1f} ms ({result.failed} failed) \
| {h.verdict(ok)} |
""",
    )


if __name__ == "__main__":
    main()
