"""How the billing service is put together; `python -m services.billing` runs it."""

from __future__ import annotations

from pathlib import Path

from portal.accounts.v1 import accounts_pb2_grpc
from portal.billing.v1 import billing_pb2, billing_pb2_grpc

from kit import rpc
from kit.service import Runtime, ServiceSpec, Wiring

from . import events, seed
from .accounts import Accounts
from .history import DemoHistory
from .invoicing import Invoicing
from .reminding import Reminders
from .rendering import Renderer
from .server import BillingServicer


async def wire(rt: Runtime) -> Wiring:
    channel = rpc.channel(rt.settings.service_addr("accounts"), rt.settings.rpc_deadline_seconds)
    accounts = Accounts(accounts_pb2_grpc.AccountsServiceStub(channel))
    renderer = Renderer(rt.settings.data_dir / "signing", rt.settings.render_workers)
    invoicing = Invoicing(rt.db, accounts, renderer)
    reminders = Reminders(rt.db, accounts)
    background = [reminders.run]
    if rt.settings.demo and rt.settings.demo_invoices:
        background.append(DemoHistory(rt.db, invoicing, reminders).run)
    return Wiring(
        servicers=[
            (
                billing_pb2_grpc.add_BillingServiceServicer_to_server,
                BillingServicer(rt.db, accounts, invoicing),
                billing_pb2.DESCRIPTOR.services_by_name["BillingService"].full_name,
            )
        ],
        subscriptions=events.subscriptions(invoicing),
        background=background,
        on_stop=[channel.close, renderer.close],
    )


SPEC = ServiceSpec(
    name="billing",
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    seed=seed.seed,
)
