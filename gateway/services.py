"""gRPC clients of the services the gateway asks; one channel each, shared by all requests."""

from __future__ import annotations

from portal.accounts.v1.accounts_pb2_grpc import AccountsServiceStub
from portal.billing.v1.billing_pb2_grpc import BillingServiceStub
from portal.hdo.v1.hdo_pb2_grpc import HdoServiceStub
from portal.identity.v1.identity_pb2_grpc import IdentityServiceStub
from portal.notifications.v1.notifications_pb2_grpc import NotificationsServiceStub
from portal.requests.v1.requests_pb2_grpc import RequestsServiceStub

from kit import rpc
from kit.config import Settings


class Services:
    def __init__(self, settings: Settings) -> None:
        deadline = settings.rpc_deadline_seconds
        self._channels = [
            accounts := rpc.channel(settings.service_addr("accounts"), deadline),
            identity := rpc.channel(settings.service_addr("identity"), deadline),
            notifications := rpc.channel(settings.service_addr("notifications"), deadline),
            hdo := rpc.channel(settings.service_addr("hdo"), deadline),
            billing := rpc.channel(settings.service_addr("billing"), deadline),
            requests := rpc.channel(settings.service_addr("requests"), deadline),
        ]
        self.accounts = AccountsServiceStub(accounts)
        self.identity = IdentityServiceStub(identity)
        self.notifications = NotificationsServiceStub(notifications)
        self.hdo = HdoServiceStub(hdo)
        self.billing = BillingServiceStub(billing)
        self.requests = RequestsServiceStub(requests)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
