"""The embedded PostgreSQL and nats-server: real servers, data kept across restarts, free ports when busy."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import psutil
import pytest

from kit.embedded import EmbeddedError, EmbeddedNats, EmbeddedPostgres, free_port


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port some other server holds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port(21000)))
        sock.listen()
        yield sock


def _port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_postgres_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)
    try:
        url = pg.start()
        assert url == f"postgresql://postgres@127.0.0.1:{pg.port}/portal"
        await _execute(url, "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('Žluťoučký kůň')")
        pg.stop()
        with pytest.raises(OSError):
            await asyncpg.connect(url, timeout=2)

        assert pg.start() == url
        assert [r["note"] for r in await _fetch(url, "SELECT note FROM kept")] == ["Žluťoučký kůň"]
        # Unicode case mapping works whatever locales the OS has
        assert (await _fetch(url, "SELECT upper('žluťoučký') AS up"))[0]["up"] == "ŽLUŤOUČKÝ"
        pg.stop()

        # a later run (a new `portal up`) finds the same data on the port it remembered
        later = EmbeddedPostgres(tmp_path)
        try:
            assert later.start() == url
            assert len(await _fetch(url, "SELECT note FROM kept")) == 1
        finally:
            later.stop()
    finally:
        pg.stop()


async def test_postgres_moves_to_a_free_port_when_its_port_is_taken(tmp_path: Path, listener: socket.socket) -> None:
    busy = _port(listener)
    first = EmbeddedPostgres(tmp_path / "first", port=busy)
    try:
        first.start()
        assert first.port is not None and first.port > busy
        # a second server preferring the port the first one now holds goes further still
        second = EmbeddedPostgres(tmp_path / "second", port=first.port)
        try:
            second.start()
            assert second.port not in (busy, first.port)
            assert (await _fetch(second.url, "SELECT current_database() AS db"))[0]["db"] == "portal"
        finally:
            second.stop()
    finally:
        first.stop()


async def test_postgres_leaves_its_remembered_port_when_another_server_took_it(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path, port=free_port(22000))
    pg.start()
    remembered = pg.port
    pg.stop()
    assert remembered is not None
    with socket.socket() as thief:
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        thief.bind(("127.0.0.1", remembered))
        thief.listen()
        later = EmbeddedPostgres(tmp_path)
        try:
            later.start()
            assert later.port != remembered
            assert await _fetch(later.url, "SELECT 1 AS one")
        finally:
            later.stop()


def test_servers_left_running_by_a_killed_portal_are_replaced(tmp_path: Path) -> None:
    # a `portal up` killed with SIGKILL cannot stop its servers; the next start must not trip over them
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        from kit.embedded import EmbeddedNats, EmbeddedPostgres
        d = Path(sys.argv[1])
        print(EmbeddedPostgres(d).start(), EmbeddedNats(d).start(), flush=True)
        time.sleep(120)
    """)
    killed = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert killed.stdout is not None
    old_pg_url, _ = killed.stdout.readline().split()
    killed.kill()
    killed.wait()
    orphans = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or ())]
    assert len(orphans) >= 2

    pg, bus = EmbeddedPostgres(tmp_path), EmbeddedNats(tmp_path)
    try:
        assert pg.start() == old_pg_url
        bus.start()
    finally:
        bus.stop()
        pg.stop()
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in orphans)


def test_a_postgres_that_cannot_start_says_why_with_its_log(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)
    pg.start()
    pg.stop()
    (tmp_path / "postgres" / "PG_VERSION").write_text("9\n")
    with pytest.raises(EmbeddedError, match="incompatible") as failure:
        pg.start()
    assert "postgres.log" in str(failure.value)


async def test_nats_comes_back_on_the_same_port_with_its_streams(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path)
    url = server.start()
    client = None
    try:
        # a client that stays connected across the restart, as the services' clients do
        client = await nats.connect(url, reconnect_time_wait=0.1, max_reconnect_attempts=-1)
        js = client.jetstream()
        await js.add_stream(name="KEPT", subjects=["kept.>"])
        first = await js.publish("kept.one", b"before the restart")

        server.stop()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", server.port)
        assert server.start() == url

        second = await js.publish("kept.two", b"after the restart", timeout=10)
        assert second.seq == first.seq + 1
        assert (await js.get_msg("KEPT", first.seq)).data == b"before the restart"
        assert (await js.stream_info("KEPT")).state.messages == 2
    finally:
        if client is not None:
            await client.close()
        server.stop()


async def test_nats_takes_a_free_port_when_the_preferred_one_is_taken(tmp_path: Path, listener: socket.socket) -> None:
    server = EmbeddedNats(tmp_path, port=_port(listener))
    try:
        url = server.start()
        assert server.port != _port(listener)
        client = await nats.connect(url)
        await client.close()
    finally:
        server.stop()
