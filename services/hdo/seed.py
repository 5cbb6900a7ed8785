"""Switching times of the demo HDO codes (kit/demo.py) for the Czech demo tenants; idempotent, runs on every demo
start. Two seasons per code, so the history of the last months shows the change between them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from kit import context, demo
from kit.service import Runtime

from . import domain, server

# code → (weekday windows, weekend-and-holiday windows) per season start
_SEASONS = {
    "2025-10-01": {
        "A3B7DP6": ("1:40-6:45; 15:00-18:05", "1:40-6:45; 15:00-18:05"),
        "A1B5DP6": ("0:00-6:00; 8:00-10:00; 12:00-14:00; 16:00-18:00; 20:00-24:00", "0:00-9:00; 11:00-24:00"),
        "A3B4DP2": ("0:00-5:35; 6:30-8:55; 9:54-15:16; 16:15-20:16; 21:15-24:00", "0:00-12:00; 13:00-24:00"),
        "A1B3DP6": ("1:10-5:11; 11:35-13:56; 22:10-23:51", "1:10-5:11; 11:35-13:56; 22:10-23:51"),
    },
    "2026-09-01": {
        "A3B7DP6": ("1:50-6:55; 15:10-18:15", "1:45-6:50; 15:10-18:15"),
        "A1B5DP6": ("0:00-5:30; 7:30-10:00; 12:00-14:30; 16:30-18:00; 19:30-24:00", "0:00-8:30; 10:30-24:00"),
        "A3B4DP2": ("0:00-5:20; 6:30-9:10; 10:00-15:00; 16:00-20:00; 21:00-24:00", "0:00-12:30; 13:30-24:00"),
        "A1B3DP6": ("0:50-4:51; 11:00-13:21; 21:40-23:59", "0:50-4:51; 11:00-13:21; 21:40-23:59"),
    },
}


def demo_csv(codes: set[str]) -> bytes:
    lines = [",".join(domain.CSV_HEADER)]
    seasons = sorted(_SEASONS)
    for i, start in enumerate(seasons):
        end = seasons[i + 1] if i + 1 < len(seasons) else ""
        for code, (weekdays, weekend) in sorted(_SEASONS[start].items()):
            if code in codes:
                lines.append(f"{code},{start},{end},mon-fri,{weekdays}")
                lines.append(f"{code},{start},{end},sat-sun+holidays,{weekend}")
    return "\n".join(lines).encode()


async def seed(rt: Runtime) -> None:
    for t in demo.tenants():
        codes = {p.hdo_code for p in demo.supply_points(t.slug) if p.hdo_code}
        if not codes or t.time_zone != domain.ZONE.key:
            continue
        content = demo_csv(codes)
        now = datetime.now(UTC)
        schedules = domain.parse_schedule(content, domain.CSV, valid_from=now.date())
        # the import and its audit record name the demo seed as who imported
        seeder = context.CallContext(
            tenant_id=str(t.id), subject="demo-seed", subject_kind=context.SYSTEM, channel="seed"
        )
        with context.bound(seeder):
            async with rt.db.tenant(t.id) as conn:
                await server.record_schedules(
                    conn,
                    rt.db.service,
                    schedules,
                    fmt=domain.CSV,
                    file_name="demo.csv",
                    file_hash=hashlib.sha256(content).hexdigest(),
                    now=now,
                    zone=domain.ZONE,
                )
