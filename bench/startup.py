"""Target 3: `portal up` is ready in ≤ 20 s on an existing data directory.

Starts `portal up --data-dir DIR` on a new temporary directory once (creating the database cluster, migrating and
seeding the demo data), stops it, then starts it again `--runs` times on that directory. Each figure is the time from
spawning `portal up` to its `ready` line; the portal is stopped after each.

    python -m bench.startup [--runs 3] [--no-record]
"""

from __future__ import annotations

import argparse
import statistics

from . import harness as h

TARGET_SECONDS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    h.common_args(parser)
    parser.add_argument("--runs", type=int, default=3, help="starts on the existing directory (default 3)")
    args = parser.parse_args()
    m = h.machine()
    with h.temp_data_dir() as data_dir:
        portal = h.Portal(data_dir)
        first = portal.start()
        portal.stop()
        print(f"first start (new directory, seeding): {first:.2f} s", flush=True)
        again: list[float] = []
        for run in range(1, args.runs + 1):
            portal = h.Portal(data_dir)
            try:
                again.append(portal.start())
            finally:
                portal.stop()
            print(f"start {run} on the existing directory: {again[-1]:.2f} s", flush=True)

    worst = max(again)
    median = statistics.median(again)
    ok = worst <= TARGET_SECONDS
    verdict = h.verdict(ok)
    print(f"worst {worst:.2f} s, median {median:.2f} s (target ≤ {TARGET_SECONDS:.0f} s): {'met' if ok else 'MISSED'}")
    if args.no_record:
        return
    h.record(
        "startup",
        f"""## 3. `portal up` on an existing data directory

`{h.command_line()}` — {h.describe(m)}

Time from spawning `portal up --data-dir DIR` to its `ready` line (PostgreSQL and nats-server embedded, every service
and the gateway healthy). The first start creates the directory; the others reuse it.

| start | seconds to `ready` |
|---|---:|
| first, new directory (initdb, migrations, demo data) | {first:.2f} |
{chr(10).join(f"| {i}, existing directory | {s:.2f} |" for i, s in enumerate(again, 1))}

| target | measured | |
|---|---|---|
| ready ≤ {TARGET_SECONDS:.0f} s on an existing directory | worst {worst:.2f} s, median {median:.2f} s | {verdict} |
""",
    )


if __name__ == "__main__":
    main()
