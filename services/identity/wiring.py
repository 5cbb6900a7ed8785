"""How the identity service is put together; `python -m services.identity` runs it."""

from __future__ import annotations

from pathlib import Path

from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.identity.v1 import identity_pb2, identity_pb2_grpc

from kit import rpc
from kit.secrets import derive
from kit.service import Runtime, ServiceSpec, Wiring

from . import events, seed
from .oauth_flow import OAuthFlow
from .server import IdentityServicer


async def wire(rt: Runtime) -> Wiring:
    channel = rpc.channel(rt.settings.service_addr("accounts"), rt.settings.rpc_deadline_seconds)
    personal_token_key = derive(rt.settings, "identity.personal-tokens")
    oauth = OAuthFlow(rt.db, derive(rt.settings, "oauth.portal-web").hex(), personal_token_key)
    servicer = IdentityServicer(rt.db, AccountsServiceStub(channel), oauth, personal_token_key)
    return Wiring(
        servicers=[
            (
                identity_pb2_grpc.add_IdentityServiceServicer_to_server,
                servicer,
                identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
            )
        ],
        subscriptions=events.SUBSCRIPTIONS,
        on_stop=[channel.close],
    )


SPEC = ServiceSpec(
    name="identity",
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    seed=seed.seed,
)
