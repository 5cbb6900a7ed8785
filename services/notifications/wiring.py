"""How the notifications service is put together; `python -m services.notifications` runs it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from portal.accounts.v1 import accounts_pb2_grpc
from portal.identity.v1 import identity_pb2_grpc
from portal.notifications.v1 import notifications_pb2, notifications_pb2_grpc

from kit import rpc
from kit.service import Runtime, ServiceSpec, Wiring

from . import events
from .outages import OutageNotices, Reminders
from .sender import Sender
from .server import NotificationsServicer
from .tenants import TenantDirectory


async def wire(rt: Runtime) -> Wiring:
    channel = rpc.channel(rt.settings.service_addr("accounts"), rt.settings.rpc_deadline_seconds)
    accounts = accounts_pb2_grpc.AccountsServiceStub(channel)
    identity_channel = rpc.channel(rt.settings.service_addr("identity"), rt.settings.rpc_deadline_seconds)
    identity = identity_pb2_grpc.IdentityServiceStub(identity_channel)
    tenants = TenantDirectory(accounts)
    sender = Sender(rt.settings, rt.db, tenants)
    outages = OutageNotices(tenants, accounts, sender.wake.set)
    reminders = Reminders(rt.db, outages, timedelta(hours=rt.settings.outage_reminder_hours))
    return Wiring(
        servicers=[
            (
                notifications_pb2_grpc.add_NotificationsServiceServicer_to_server,
                NotificationsServicer(rt.db, accounts, tenants, sms_available=sender.sms is not None),
                notifications_pb2.DESCRIPTOR.services_by_name["NotificationsService"].full_name,
            )
        ],
        subscriptions=events.subscriptions(rt.settings, tenants, sender.wake.set, outages, accounts, identity),
        background=[sender.run, reminders.run],
        on_stop=[channel.close, identity_channel.close, sender.close],
    )


SPEC = ServiceSpec(
    name="notifications",
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    publishes=False,
)
