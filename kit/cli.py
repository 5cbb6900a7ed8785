"""`portal up`, `portal status`, `portal down`: the whole portal on one machine.

`up` starts PostgreSQL and nats-server (embedded, unless PORTAL_DATABASE_URL / PORTAL_NATS_URL point at
running ones), every service and the gateway, each on a free port, and keeps them running until Ctrl-C.
`portal hdo import FILE` hands an operator's HDO switching times or planned outages to the running hdo service.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from portal.hdo.v1 import hdo_pb2

from kit import context, demo, hdoimport, rpc
from kit.config import SERVICE_NAMES
from kit.embedded import EmbeddedError, EmbeddedNats, EmbeddedPostgres, free_port
from kit.errors import DomainError
from kit.supervisor import Health, ProcessSpec, Supervisor, read_json, supervisor_alive

# Every service `portal up` runs as `python -m services.<name>`. It is the list kit.config reads the
# PORTAL_<NAME>_ADDR variables for, so a new service is added in one place.
SERVICES: tuple[str, ...] = SERVICE_NAMES
# the demo tenants' host names; `*.localhost` resolves to loopback in browsers
DEMO_HOSTS = ("volta.localhost", "esco.localhost", "balkan.localhost")
FIRST_GRPC_PORT = 50051
DEFAULT_HTTP_PORT = 8000
NATS_PORT = 4222
STATE_FILE = "portal.json"

EXIT_UNHEALTHY = 1
EXIT_REFUSED = 2
EXIT_NOT_RUNNING = 3
EXIT_INTERRUPTED = 130
# changed codes `portal hdo import` names before it only counts the rest
HDO_CODES_SHOWN = 20


def default_data_dir() -> Path:
    return Path(os.environ.get("PORTAL_DATA_DIR") or ".data")


def addr_var(service: str) -> str:
    return f"PORTAL_{service.upper()}_ADDR"


def plan(
    *,
    database_url: str,
    nats_url: str,
    data_dir: Path,
    base_env: Mapping[str, str],
    services: Sequence[str] = SERVICES,
) -> tuple[list[ProcessSpec], int]:
    """The processes of the portal with the environment each gets, and the gateway's HTTP port."""
    taken: set[int] = set()
    grpc_ports: dict[str, int] = {}
    for offset, name in enumerate(services):
        grpc_ports[name] = free_port(FIRST_GRPC_PORT + offset, avoid=taken)
        taken.add(grpc_ports[name])
    preferred_http = int(base_env.get("PORTAL_HTTP_PORT") or DEFAULT_HTTP_PORT)
    http_port = free_port(preferred_http, avoid=taken)

    common = {
        **base_env,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_NATS_URL": nats_url,
        "PORTAL_DATA_DIR": str(data_dir),
        # services put the gateway's port into links they send (e-mails); the gateway listens on it
        "PORTAL_HTTP_PORT": str(http_port),
        "PYTHONUNBUFFERED": "1",
        **{addr_var(name): f"127.0.0.1:{port}" for name, port in grpc_ports.items()},
    }
    common.setdefault("PORTAL_DEMO", "1")
    specs = [
        ProcessSpec(
            name=name,
            argv=(sys.executable, "-m", f"services.{name}"),
            env={**common, "PORTAL_GRPC_PORT": str(port)},
            health=Health("grpc", f"127.0.0.1:{port}"),
        )
        for name, port in grpc_ports.items()
    ]
    specs.append(
        ProcessSpec(
            name="gateway",
            argv=(sys.executable, "-m", "gateway"),
            env=common,
            health=Health("http", f"http://127.0.0.1:{http_port}/healthz"),
            needs=tuple(services),
        )
    )
    return specs, http_port


def _tcp_target(url: str, default_port: int) -> str:
    first = url.split(",")[0]
    parts = urlsplit(first)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or default_port}"


def up(data_dir: Path) -> int:
    data_dir = data_dir.absolute()
    state_file = data_dir / STATE_FILE
    previous = read_json(state_file)
    if previous is not None and supervisor_alive(previous):
        pid = previous["supervisor"]["pid"]
        print(f"portal already runs from {data_dir} (pid {pid}); `portal down` stops it", file=sys.stderr)
        return EXIT_UNHEALTHY
    data_dir.mkdir(parents=True, exist_ok=True)
    # until the supervisor takes the signals over, SIGTERM and SIGHUP stop a half-started portal like Ctrl-C
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)

    pg = None if os.environ.get("PORTAL_DATABASE_URL") else EmbeddedPostgres(data_dir)
    nats = None if os.environ.get("PORTAL_NATS_URL") else EmbeddedNats(data_dir, port=NATS_PORT)
    try:
        database_url = pg.start() if pg else os.environ["PORTAL_DATABASE_URL"]
        nats_url = nats.start() if nats else os.environ["PORTAL_NATS_URL"]
        specs, http_port = plan(database_url=database_url, nats_url=nats_url, data_dir=data_dir, base_env=os.environ)
        urls = [f"http://{host}:{http_port}/" for host in DEMO_HOSTS]
        state: dict[str, Any] = {
            "data_dir": str(data_dir),
            "urls": urls,
            "postgres": {"url": database_url, "embedded": pg is not None},
            "nats": {"url": nats_url, "embedded": nats is not None},
        }
        if nats is not None:
            state["nats"]["monitor"] = nats.monitor_url
        asyncio.run(_supervise(specs, state_file, state))
    except EmbeddedError as err:
        print(f"portal: {err}", file=sys.stderr)
        return EXIT_UNHEALTHY
    except KeyboardInterrupt:
        print("portal: interrupted while starting", file=sys.stderr)
    finally:
        if nats is not None:
            nats.stop()
        if pg is not None:
            pg.stop()
    if nats is not None or pg is not None:
        print("portal: embedded servers stopped; data kept in", data_dir)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _supervise(specs: list[ProcessSpec], state_file: Path, state: dict[str, Any]) -> None:
    def announce(supervisor: Supervisor) -> None:
        supervisor.say("ready — " + " ".join(state["urls"]))
        supervisor.say(f"  postgres  {state['postgres']['url']}")
        supervisor.say(f"  nats      {state['nats']['url']}")
        for spec in specs:
            supervisor.say(f"  {spec.name:<9} {spec.health.target}")
        supervisor.say("Ctrl-C stops everything")

    supervisor = Supervisor(specs, state_file=state_file, state=state, on_ready=announce)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, supervisor.stop)
    await supervisor.run()


def status(data_dir: Path) -> int:
    state_file = data_dir.absolute() / STATE_FILE
    state = read_json(state_file)
    if state is None:
        print(f"portal is not running ({state_file} not found)")
        return EXIT_NOT_RUNNING
    if not supervisor_alive(state):
        print(f"portal is not running (the supervisor recorded in {state_file} is gone)")
        return EXIT_NOT_RUNNING
    rows = asyncio.run(_check_all(state))
    width = max(len(name) for name, *_ in rows)
    for name, ok, pid, where in rows:
        pid_text = f"pid {pid}" if pid else ""
        print(f"{name:<{width}}  {'healthy' if ok else 'UNHEALTHY':<9}  {pid_text:<10}  {where}")
    healthy = all(ok for _, ok, _, _ in rows)
    if healthy and state.get("urls"):
        print("ready — " + " ".join(state["urls"]))
    return 0 if healthy else EXIT_UNHEALTHY


async def _check_all(state: Mapping[str, Any]) -> list[tuple[str, bool, int | None, str]]:
    checks: list[tuple[str, Health, int | None, str]] = []
    if "postgres" in state:
        url = state["postgres"]["url"]
        checks.append(("postgres", Health("tcp", _tcp_target(url, 5432)), None, url))
    if "nats" in state:
        url = state["nats"]["url"]
        checks.append(("nats", Health("tcp", _tcp_target(url, 4222)), None, url))
    for name, proc in (state.get("processes") or {}).items():
        health = Health.from_json(proc["health"])
        checks.append((name, health, proc.get("pid"), health.target))
    results = await asyncio.gather(*(health.check() for _, health, _, _ in checks))
    return [
        (name, ok and (pid is not None or health.kind == "tcp"), pid, where)
        for (name, health, pid, where), ok in zip(checks, results, strict=True)
    ]


def down(data_dir: Path, wait: float = 60.0) -> int:
    state = read_json(data_dir.absolute() / STATE_FILE)
    if state is None or not supervisor_alive(state):
        print("portal is not running")
        return 0
    pid = int(state["supervisor"]["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while supervisor_alive(state):
        if time.monotonic() > deadline:
            print(f"portal (pid {pid}) is still stopping after {wait:.0f}s", file=sys.stderr)
            return EXIT_UNHEALTHY
        time.sleep(0.2)
    print("portal stopped")
    return 0


def service_address(service: str, data_dir: Path) -> str | None:
    """PORTAL_<NAME>_ADDR, else where the portal `portal up` runs from `data_dir` serves it."""
    if os.environ.get(addr_var(service)):
        return os.environ[addr_var(service)]
    state = read_json(data_dir.absolute() / STATE_FILE)
    if state is None or not supervisor_alive(state):
        return None
    process = (state.get("processes") or {}).get(service)
    return Health.from_json(process["health"]).target if process else None


def tenant_id(value: str) -> str | None:
    """A tenant id as given, or the id of a demo tenant by its slug."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        pass
    try:
        return str(demo.tenant(value).id)
    except KeyError:
        return None


async def _hdo_import(address: str, tenant: str, path: Path, content: bytes, fmt: str, valid_from: str) -> str:
    from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub

    ctx = context.CallContext(tenant_id=tenant, subject="portal-cli", subject_kind=context.SYSTEM, channel="cli")
    async with rpc.channel(address, deadline_seconds=120) as channel:
        with context.bound(ctx):
            done = await hdoimport.send(
                HdoServiceStub(channel), content, fmt=fmt, valid_from=valid_from, file_name=path.name
            )
    if isinstance(done, hdo_pb2.ImportOutagesResponse):
        return (
            f"{done.outages} outages: {done.planned} planned, {done.changed} changed, "
            f"{done.cancelled} cancelled, {done.unchanged} unchanged"
        )
    if not done.changed_codes:
        return f"{done.format}: {done.codes} codes, nothing changed (the same data was imported before)"
    changed = list(done.changed_codes)
    more = f" and {len(changed) - HDO_CODES_SHOWN} more" if len(changed) > HDO_CODES_SHOWN else ""
    shown = " ".join(changed[:HDO_CODES_SHOWN])
    return f"{done.format}: {done.codes} codes, new switching times for {shown}{more}"


def _target(service: str, tenant: str, data_dir: Path) -> tuple[str, str] | int:
    """Where the running `service` listens and the tenant's id, or the exit code after saying why not."""
    address = service_address(service, data_dir)
    if address is None:
        print(f"portal: no running {service} service (start `portal up` or set {addr_var(service)})", file=sys.stderr)
        return EXIT_NOT_RUNNING
    resolved = tenant_id(tenant)
    if resolved is None:
        print(f"portal: unknown tenant {tenant!r}; give its id or a demo slug", file=sys.stderr)
        return EXIT_REFUSED
    return address, resolved


def _import_file(
    service: str, path: Path, tenant: str, data_dir: Path, send: Callable[[str, str, bytes], Awaitable[str]]
) -> int:
    """Reads `path` and hands it to `send(address, tenant id, content)`; prints its answer or the refusal."""
    target = _target(service, tenant, data_dir)
    if isinstance(target, int):
        return target
    try:
        content = path.read_bytes()
    except OSError as err:
        print(f"portal: cannot read {path}: {err.strerror}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        print(asyncio.run(send(*target, content)))
    except DomainError as err:
        where = " ".join(f"{k}={v}" for k, v in sorted(err.params.items()))
        print(f"portal: {path.name} refused, nothing imported: {err.reason} {where}".rstrip(), file=sys.stderr)
        return EXIT_REFUSED
    return 0


def hdo_import(path: Path, *, tenant: str, fmt: str, valid_from: str, data_dir: Path) -> int:
    return _import_file(
        "hdo",
        path,
        tenant,
        data_dir,
        lambda address, t, content: _hdo_import(address, t, path, content, fmt, valid_from),
    )


def _progress_bar(done: int, points: int, issued: int, failed: int, width: int = 30) -> str:
    """A line that redraws itself: how far through the tenant's supply points the run is, issued and failed."""
    filled = width * done // points if points else width
    return (
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{points} supply points, {issued} invoiced, {failed} failed"
    )


async def _bill_run(address: str, tenant: str, period: str, issue_date: str, out: Any) -> int:
    from portal.billing.v1 import billing_pb2
    from portal.billing.v1.billing_pb2_grpc import BillingServiceStub

    ctx = context.CallContext(tenant_id=tenant, subject="portal-cli", subject_kind=context.SYSTEM, channel="cli")
    async with rpc.channel(address, deadline_seconds=300) as channel:
        stub = BillingServiceStub(channel)
        with context.bound(ctx):
            while True:
                progress = await stub.RunBilling(billing_pb2.RunBillingRequest(period=period, issue_date=issue_date))
                out.write(_progress_bar(progress.total, progress.points, progress.issued, progress.failed))
                out.flush()
                if progress.finished:
                    break
    out.write("\n")
    print(
        f"period {period}: {progress.issued} invoices issued, {progress.skipped} supply points not due or settled "
        f"before, {progress.failed} could not be settled"
    )
    for problem in progress.problems:
        print(f"  {problem}")
    return EXIT_REFUSED if progress.failed else 0


async def _statement_import(address: str, tenant: str, path: Path, content: bytes) -> str:
    from portal.billing.v1 import billing_pb2
    from portal.billing.v1.billing_pb2_grpc import BillingServiceStub

    ctx = context.CallContext(tenant_id=tenant, subject="portal-cli", subject_kind=context.SYSTEM, channel="cli")
    async with rpc.channel(address, deadline_seconds=600) as channel:
        with context.bound(ctx):
            done = await BillingServiceStub(channel).ImportStatement(
                billing_pb2.ImportStatementRequest(content=content, filename=path.name)
            )
    return (
        f"{path.name}: {done.lines} lines, {done.matched} paid invoices or advances, {done.queued} left for staff, "
        f"{done.duplicates} imported before"
    )


def statement_import(path: Path, *, tenant: str, data_dir: Path) -> int:
    return _import_file(
        "billing", path, tenant, data_dir, lambda address, t, content: _statement_import(address, t, path, content)
    )


def billing_run(*, tenant: str, period: str, issue_date: str, data_dir: Path) -> int:
    target = _target("billing", tenant, data_dir)
    if isinstance(target, int):
        return target
    try:
        return asyncio.run(_bill_run(*target, period, issue_date, sys.stdout))
    except KeyboardInterrupt:
        print("\nportal: stopped; run the same command again to go on where it stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DomainError as err:
        where = " ".join(f"{k}={v}" for k, v in sorted(err.params.items()))
        print(f"\nportal: bill run refused: {err.reason} {where}".rstrip(), file=sys.stderr)
        return EXIT_REFUSED


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="portal", description="Run the energy portal on this machine.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("up", "start PostgreSQL, NATS, every service and the gateway; Ctrl-C stops them"),
        ("status", "check every component of a running portal; exit 0 only when all are healthy"),
        ("down", "stop a portal started by `portal up` in another terminal"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument(
            "--data-dir",
            type=Path,
            default=default_data_dir(),
            help="where data, logs and the state file live (default: $PORTAL_DATA_DIR or ./.data)",
        )
    hdo = commands.add_parser("hdo", help="HDO switching times and planned outages")
    hdo_commands = hdo.add_subparsers(dest="hdo_command", required=True)
    text = "import an operator's HDO switching times or planned outages into the running portal"
    hdo_file = hdo_commands.add_parser("import", help=text, description=text)
    hdo_file.add_argument("file", type=Path)
    hdo_file.add_argument(
        "--tenant", default=demo.tenants()[0].slug, help="tenant id or demo slug (default: %(default)s)"
    )
    hdo_file.add_argument(
        "--format",
        default="",
        choices=hdoimport.FORMATS,
        help="default: recognised from the content",
    )
    hdo_file.add_argument("--valid-from", default="", help="YYYY-MM-DD, for formats without validity (cez-graphql)")
    hdo_file.add_argument("--data-dir", type=Path, default=default_data_dir(), help="of the running portal")
    billing = commands.add_parser("billing", help="invoices")
    billing_commands = billing.add_subparsers(dest="billing_command", required=True)
    text = (
        "settle every supply point due in a period and issue its invoice; stopped (Ctrl-C) and started again, "
        "it goes on where it stopped and never issues an invoice twice"
    )
    run = billing_commands.add_parser("run", help=text, description=text)
    run.add_argument("--tenant", default=demo.tenants()[0].slug, help="tenant id or demo slug (default: %(default)s)")
    run.add_argument("--period", required=True, help="YYYY for yearly settlements, YYYY-MM for monthly ones")
    run.add_argument("--issue-date", default="", help="YYYY-MM-DD (default: today)")
    run.add_argument("--data-dir", type=Path, default=default_data_dir(), help="of the running portal")
    text = "import a bank statement (camt.053 or ABO/GPC) and match its payments to invoices and advances"
    statement = billing_commands.add_parser("import", help=text, description=text)
    statement.add_argument("file", type=Path)
    statement.add_argument(
        "--tenant", default=demo.tenants()[0].slug, help="tenant id or demo slug (default: %(default)s)"
    )
    statement.add_argument("--data-dir", type=Path, default=default_data_dir(), help="of the running portal")
    args = parser.parse_args(argv)
    if args.command == "billing" and args.billing_command == "import":
        return statement_import(args.file, tenant=args.tenant, data_dir=args.data_dir)
    if args.command == "billing":
        return billing_run(tenant=args.tenant, period=args.period, issue_date=args.issue_date, data_dir=args.data_dir)
    if args.command == "hdo":
        return hdo_import(
            args.file, tenant=args.tenant, fmt=args.format, valid_from=args.valid_from, data_dir=args.data_dir
        )
    if args.command == "up":
        return up(args.data_dir)
    if args.command == "status":
        return status(args.data_dir)
    return down(args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
