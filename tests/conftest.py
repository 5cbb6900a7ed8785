"""Real infrastructure for the whole suite: PostgreSQL and nats-server (embedded unless
PORTAL_TEST_DATABASE_URL / PORTAL_TEST_NATS_URL point at running ones) and a local SMTP server."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email
import json
import os
import re
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kit import telemetry
from kit.config import Settings

SPANS = InMemorySpanExporter()
telemetry.setup("tests", extra=SimpleSpanProcessor(SPANS))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Infra:
    admin_url: str
    nats_url: str
    nats: object | None = None  # the EmbeddedNats, when the suite runs its own (tests stop and start it)


def service_settings(infra: Infra, data_dir: Path, **changes: Any) -> Settings:
    """Settings of services the tests start: the suite's PostgreSQL and NATS, demo data, a fixed master secret."""
    base = Settings(
        database_url=infra.admin_url,
        nats_url=infra.nats_url,
        data_dir=data_dir,
        demo=True,
        secret_key="test-master-secret",
        # the demo's invoicing history is for modules that ask for it: it costs every other stack a bill run
        demo_invoices=False,
        render_workers=1,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    data = tmp_path_factory.mktemp("infra")
    pg = nats = None
    base_url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not base_url:
        from kit.embedded import EmbeddedPostgres

        pg = EmbeddedPostgres(data)
        base_url = pg.start()
    nats_url = os.environ.get("PORTAL_TEST_NATS_URL")
    if not nats_url:
        from kit.embedded import EmbeddedNats

        nats = EmbeddedNats(data)
        nats_url = nats.start()
    # a fresh database per run, so a rerun against a shared server starts clean
    db_name = f"portal_test_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(base_url, db_name))
    admin_url = base_url.rsplit("/", 1)[0] + "/" + db_name
    try:
        yield Infra(admin_url=admin_url, nats_url=nats_url, nats=nats)
    finally:
        if nats is not None:
            nats.stop()
        if pg is not None:
            pg.stop()


def own_database(infra: Infra) -> Infra:
    """The same servers with a fresh database, for a module whose expectations other tests' writes would upset."""
    name = f"portal_test_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(infra.admin_url, name))
    return dataclasses.replace(infra, admin_url=infra.admin_url.rsplit("/", 1)[0] + "/" + name)


async def _create_database(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@dataclass
class Mailbox:
    """Messages received by the test SMTP server."""

    messages: list[EmailMessage] = field(default_factory=list)
    port: int = 0

    async def wait_for(self, to: str, timeout: float = 15.0, subject_contains: str = "") -> EmailMessage:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for msg in self.messages:
                if to.lower() in str(msg["To"]).lower() and subject_contains in str(msg["Subject"]):
                    return msg
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no e-mail to {to} within {timeout}s; got {[m['To'] for m in self.messages]}")
            await asyncio.sleep(0.1)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = email.message_from_bytes(envelope.content, _class=EmailMessage, policy=email.policy.default)
        self.box.messages.append(msg)
        return "250 OK"


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class SmsGateway:
    """A real HTTP server answering like Twilio's Messages API: Basic auth with the account and token, form fields
    To, From and Body, 201 with a message sid. `script` holds, per number, the statuses to answer before
    accepting (500: try again later, 400: refused)."""

    account: str = "AC" + "0" * 30 + "01"
    token: str = "test-sms-token"
    sender: str = "+420700100200"
    port: int = 0
    messages: list[dict[str, str]] = field(default_factory=list)
    # every request that reached the messages endpoint, with the status it got
    attempts: list[tuple[str, int]] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, number: str, containing: str = "") -> list[dict[str, str]]:
        return [m for m in self.messages if m["To"] == number and containing in m["Body"]]

    async def wait_for(self, number: str, containing: str = "", timeout: float = 15.0) -> dict[str, str]:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.to(number, containing):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no SMS to {number} with {containing!r} within {timeout}s")
            await asyncio.sleep(0.1)
        return self.to(number, containing)[0]


def _sms_handler(gateway: SmsGateway) -> type[BaseHTTPRequestHandler]:
    expected_auth = "Basic " + base64.b64encode(f"{gateway.account}:{gateway.token}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if self.path != f"/2010-04-01/Accounts/{gateway.account}/Messages.json":
                return self.answer(404, {"code": 20404, "message": "The requested resource was not found"})
            if self.headers.get("Authorization") != expected_auth:
                return self.answer(401, {"code": 20003, "message": "Authenticate"})
            if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                return self.answer(400, {"code": 20001, "message": "Form-encoded body expected"})
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            to = form.get("To", "")
            if not re.fullmatch(r"\+[1-9][0-9]{6,14}", to):
                status, problem = 400, {"code": 21211, "message": f"The 'To' number {to} is not a valid phone number."}
            elif form.get("From") != gateway.sender or not form.get("Body"):
                status, problem = 400, {"code": 21602, "message": "Message body and a valid From are required"}
            else:
                scripted = gateway.script.get(to, [])
                status = scripted.pop(0) if scripted else 201
                problem = {"code": 21610 if status < 500 else 20500, "message": f"scripted {status}"}
            gateway.attempts.append((to, status))
            if status != 201:
                return self.answer(status, problem)
            gateway.messages.append(form)
            return self.answer(201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued", "to": to})

    return Handler


@pytest.fixture(scope="session")
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _sms_handler(gateway))
    gateway.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    SPANS.clear()
    return SPANS


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    """The whole portal running in this test process: every service on its own gRPC port and the gateway on HTTP."""

    settings: object
    services: dict
    http_port: int

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.http_port}{path}"

    def address(self, service: str) -> str:
        return self.services[service].address


@pytest.fixture(scope="session")
async def stack(
    infra: Infra, mailbox: Mailbox, sms_gateway: SmsGateway, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    import uvicorn

    from gateway.app import create_app
    from kit.config import SERVICE_NAMES
    from kit.service import start
    from services.accounts.wiring import SPEC as ACCOUNTS
    from services.billing.wiring import SPEC as BILLING
    from services.hdo.wiring import SPEC as HDO
    from services.identity.wiring import SPEC as IDENTITY
    from services.notifications.wiring import SPEC as NOTIFICATIONS
    from services.requests.wiring import SPEC as REQUESTS

    ports = {name: free_port() for name in SERVICE_NAMES}
    http_port = free_port()
    settings = service_settings(
        infra,
        tmp_path_factory.mktemp("portal-data"),
        service_addrs={name: f"127.0.0.1:{port}" for name, port in ports.items()},
        http_port=http_port,
        public_port=http_port,
        smtp_port=mailbox.port,
        smtp_from="portal@energy-portal.test",
        sms_url=sms_gateway.url,
        sms_account=sms_gateway.account,
        sms_token=sms_gateway.token,
        sms_sender=sms_gateway.sender,
    )
    running = {}
    for spec in (ACCOUNTS, IDENTITY, NOTIFICATIONS, HDO, BILLING, REQUESTS):
        running[spec.name] = await start(spec, dataclasses.replace(settings, grpc_port=ports[spec.name]))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=http_port, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    try:
        yield Stack(settings=settings, services=running, http_port=http_port)
    finally:
        server.should_exit = True
        await serving
        for svc in reversed(list(running.values())):
            await svc.stop()
