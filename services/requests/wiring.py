"""How the requests service is put together; `python -m services.requests` runs it."""

from __future__ import annotations

from pathlib import Path

from portal.accounts.v1 import accounts_pb2_grpc
from portal.requests.v1 import requests_pb2, requests_pb2_grpc

from kit import rpc
from kit.service import Runtime, ServiceSpec, Wiring

from . import events, seed
from .accounts import Accounts
from .escalation import Escalations
from .server import RequestsServicer


async def wire(rt: Runtime) -> Wiring:
    channel = rpc.channel(rt.settings.service_addr("accounts"), rt.settings.rpc_deadline_seconds)
    accounts = Accounts(accounts_pb2_grpc.AccountsServiceStub(channel))
    return Wiring(
        servicers=[
            (
                requests_pb2_grpc.add_RequestsServiceServicer_to_server,
                RequestsServicer(rt.db, accounts),
                requests_pb2.DESCRIPTOR.services_by_name["RequestsService"].full_name,
            )
        ],
        subscriptions=[
            *events.SUBSCRIPTIONS,
            events.matrix_changes(accounts.matrices),
            *events.settlement_answers(rt.db.service, accounts),
        ],
        background=[Escalations(rt.db).run],
        on_stop=[channel.close],
    )


SPEC = ServiceSpec(
    name="requests",
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    seed=seed.seed,
)
