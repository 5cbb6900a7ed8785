from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kit.db import Database
from kit.migrations import migrate

MIGRATIONS = Path(__file__).parent / "widgets_migrations"


@pytest.fixture(scope="session")
async def widgets_db(infra) -> AsyncIterator[Database]:
    service = f"widgets_{uuid.uuid4().hex[:6]}"
    await migrate(infra.admin_url, service, MIGRATIONS)
    db = Database(infra.admin_url, service, pool_size=4)
    try:
        yield db
    finally:
        await db.close()
