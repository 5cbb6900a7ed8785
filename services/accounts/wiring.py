"""How the accounts service is put together; `python -m services.accounts` runs it."""

from __future__ import annotations

from pathlib import Path

from portal.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from kit.secrets import derive
from kit.service import Runtime, ServiceSpec, Wiring

from . import events, seed
from .server import AccountsServicer


async def wire(rt: Runtime) -> Wiring:
    servicer = AccountsServicer(rt.db, derive(rt.settings, "accounts.authorization-code"))
    return Wiring(
        servicers=[
            (
                accounts_pb2_grpc.add_AccountsServiceServicer_to_server,
                servicer,
                accounts_pb2.DESCRIPTOR.services_by_name["AccountsService"].full_name,
            )
        ],
        subscriptions=events.SUBSCRIPTIONS,
    )


SPEC = ServiceSpec(
    name="accounts",
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    seed=seed.seed,
)
