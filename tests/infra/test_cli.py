"""The supervisor behind `portal up`, run with small throwaway processes instead of the real services, and
`portal status` against what it records."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import psutil

from kit import cli
from kit.embedded import free_port
from kit.supervisor import Backoff, Health, ProcessSpec, Supervisor

# A stand-in service: the standard gRPC health service on PORTAL_GRPC_PORT, JSON lines on stdout, a graceful
# stop on SIGTERM. Knobs: CRASH_ONCE (exit 3 the first time, leaving that marker file), SERVING_FILE (serving
# only while the file exists), IGNORE_TERM (ignores SIGTERM), STOPPED_FILE (written on a graceful stop).
CHILD = r"""
import asyncio, json, os, signal, sys
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def main() -> None:
    marker = os.environ.get("CRASH_ONCE")
    if marker and not Path(marker).exists():
        Path(marker).write_text("crashed")
        print(json.dumps({"msg": "crashing on purpose"}), flush=True)
        sys.exit(3)
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port("127.0.0.1:" + os.environ["PORTAL_GRPC_PORT"])
    await server.start()
    print(json.dumps({"msg": "listening", "port": os.environ["PORTAL_GRPC_PORT"]}), flush=True)
    stop = asyncio.Event()
    if os.environ.get("IGNORE_TERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    serving_file = os.environ.get("SERVING_FILE")
    while not stop.is_set():
        serving = not serving_file or Path(serving_file).exists()
        await servicer.set("", SERVING if serving else NOT_SERVING)
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except asyncio.TimeoutError:
            pass
    await server.stop(None)
    if os.environ.get("STOPPED_FILE"):
        Path(os.environ["STOPPED_FILE"]).write_text("stopped gracefully")


asyncio.run(main())
"""


def child(name: str, **env: str) -> ProcessSpec:
    port = free_port()
    return ProcessSpec(
        name=name,
        argv=(sys.executable, "-c", CHILD),
        env={**os.environ, "PORTAL_GRPC_PORT": str(port), **env},
        health=Health("grpc", f"127.0.0.1:{port}"),
    )


def web(name: str, folder: Path, needs: tuple[str, ...]) -> ProcessSpec:
    port = free_port()
    return ProcessSpec(
        name=name,
        argv=(
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(folder),
        ),
        env=dict(os.environ),
        health=Health("http", f"http://127.0.0.1:{port}/"),
        needs=needs,
    )


@asynccontextmanager
async def supervising(supervisor: Supervisor) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(supervisor.run())
    try:
        yield task
    finally:
        supervisor.stop()
        await asyncio.wait_for(task, 30)


async def eventually(condition: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def lines(out: io.StringIO, name: str) -> list[str]:
    """What `name` printed, without the `name | ` prefix the supervisor puts before each line."""
    split = (line.partition(" | ") for line in out.getvalue().splitlines())
    return [text for who, _, text in split if who.strip() == name]


async def test_children_start_in_order_report_ready_and_stop_gracefully(tmp_path: Path) -> None:
    out = io.StringIO()
    announced: list[Supervisor] = []
    supervisor = Supervisor(
        [
            child("service", STOPPED_FILE=str(tmp_path / "stopped")),
            web("gateway", tmp_path, needs=("service",)),
        ],
        out=out,
        state_file=tmp_path / "portal.json",
        on_ready=announced.append,
    )
    async with supervising(supervisor) as run:
        await asyncio.wait_for(supervisor.ready.wait(), 20)
        pids = {name: supervisor.pid(name) for name in ("service", "gateway")}
        state = json.loads((tmp_path / "portal.json").read_text())
        assert state["ready"] is True
        assert {name: p["pid"] for name, p in state["processes"].items()} == pids
    assert run.done() and run.exception() is None
    assert announced == [supervisor]

    portal = lines(out, "portal")
    # the gateway waits for the service it needs
    assert portal.index(f"service is healthy (pid {pids['service']})") < portal.index(
        f"gateway started (pid {pids['gateway']})"
    )
    assert portal[-1] == "all processes stopped"
    # each child's output comes through under its name
    assert any(json.loads(line)["msg"] == "listening" for line in lines(out, "service"))
    assert (tmp_path / "stopped").read_text() == "stopped gracefully"
    assert not any(psutil.pid_exists(pid) for pid in pids.values() if pid)
    assert not (tmp_path / "portal.json").exists()


async def test_a_crashed_child_is_restarted_with_growing_backoff(tmp_path: Path) -> None:
    out = io.StringIO()
    supervisor = Supervisor(
        [child("service", CRASH_ONCE=str(tmp_path / "crashed"))],
        out=out,
        backoff=Backoff(initial=0.1, factor=3.0),
    )
    async with supervising(supervisor):
        await asyncio.wait_for(supervisor.ready.wait(), 20)
        assert supervisor.restarts("service") == 1
        assert "service exited with code 3; restarting in 0.1s" in lines(out, "portal")

        first = supervisor.pid("service")
        assert first is not None
        psutil.Process(first).kill()
        await eventually(lambda: supervisor.pid("service") not in (None, first) and supervisor.healthy("service"))
        assert supervisor.restarts("service") == 2
        assert "service exited with code -9; restarting in 0.3s" in lines(out, "portal")


async def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    out = io.StringIO()
    supervisor = Supervisor([child("stubborn", IGNORE_TERM="1")], out=out, stop_grace=0.5)
    async with supervising(supervisor):
        await asyncio.wait_for(supervisor.ready.wait(), 20)
        pid = supervisor.pid("stubborn")
        started = time.monotonic()
    assert time.monotonic() - started < 10
    assert "stubborn did not stop within 0.5s; killing it" in lines(out, "portal")
    assert pid is not None and not psutil.pid_exists(pid)


async def portal_status(data_dir: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kit.cli",
        "status",
        "--data-dir",
        str(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def test_portal_status_exits_zero_only_while_everything_is_healthy(tmp_path: Path) -> None:
    code, output = await portal_status(tmp_path)
    assert code == cli.EXIT_NOT_RUNNING, output
    assert "not running" in output

    with socket.socket() as database:  # stands in for PostgreSQL: status checks that its port answers
        database.bind(("127.0.0.1", 0))
        database.listen()
        db_url = f"postgresql://postgres@127.0.0.1:{database.getsockname()[1]}/portal"
        urls = ["http://volta.localhost:8000/"]
        supervisor = Supervisor(
            [child("service"), child("late", SERVING_FILE=str(tmp_path / "serving"))],
            out=io.StringIO(),
            state_file=tmp_path / cli.STATE_FILE,
            state={"urls": urls, "postgres": {"url": db_url, "embedded": True}},
        )
        async with supervising(supervisor):
            await eventually(lambda: supervisor.healthy("service"))
            code, output = await portal_status(tmp_path)
            assert code == cli.EXIT_UNHEALTHY, output
            assert _row(output, "late").split()[1] == "UNHEALTHY"
            assert _row(output, "service").split()[1:3] == ["healthy", "pid"]

            (tmp_path / "serving").touch()
            await asyncio.wait_for(supervisor.ready.wait(), 20)
            code, output = await portal_status(tmp_path)
            assert code == 0, output
            assert _row(output, "postgres").split()[1] == "healthy"
            assert "ready — http://volta.localhost:8000/" in output

    code, output = await portal_status(tmp_path)
    assert code == cli.EXIT_NOT_RUNNING, output


async def test_portal_status_ignores_a_state_file_left_by_a_killed_portal(tmp_path: Path) -> None:
    gone = psutil.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    state = {"supervisor": {"pid": gone.pid, "started": 0.0}, "processes": {}}
    (tmp_path / cli.STATE_FILE).write_text(json.dumps(state))
    code, output = await portal_status(tmp_path)
    assert code == cli.EXIT_NOT_RUNNING, output


def _row(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.split()[:1] == [name])


def test_every_process_gets_the_environment_contract(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", free_port(23000)))
        busy.listen()
        preferred_http = busy.getsockname()[1]
        base: Mapping[str, str] = {"PATH": "/usr/bin", "PORTAL_HTTP_PORT": str(preferred_http)}
        specs, http_port = cli.plan(
            database_url="postgresql://db/portal",
            nats_url="nats://bus:4222",
            data_dir=tmp_path,
            base_env=base,
        )
    assert http_port != preferred_http
    by_name = {spec.name: spec for spec in specs}
    assert list(by_name) == [*cli.SERVICES, "gateway"]
    addrs = {name: by_name[name].env[cli.addr_var(name)] for name in cli.SERVICES}
    assert len(set(addrs.values())) == len(cli.SERVICES)
    for spec in specs:
        env = spec.env
        assert env["PATH"] == "/usr/bin"
        assert env["PORTAL_DATABASE_URL"] == "postgresql://db/portal"
        assert env["PORTAL_NATS_URL"] == "nats://bus:4222"
        assert env["PORTAL_DATA_DIR"] == str(tmp_path)
        assert env["PORTAL_DEMO"] == "1"
        assert env["PORTAL_HTTP_PORT"] == str(http_port)
        assert all(env[cli.addr_var(name)] == addr for name, addr in addrs.items())
    for name in cli.SERVICES:
        spec = by_name[name]
        assert spec.argv[1:] == ("-m", f"services.{name}")
        assert addrs[name] == f"127.0.0.1:{spec.env['PORTAL_GRPC_PORT']}"
        assert spec.health == Health("grpc", addrs[name])
    gateway = by_name["gateway"]
    assert gateway.argv[1:] == ("-m", "gateway")
    assert gateway.health == Health("http", f"http://127.0.0.1:{http_port}/healthz")
    assert set(gateway.needs) == set(cli.SERVICES)
