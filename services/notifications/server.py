"""gRPC surface of the notifications service."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from portal.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from portal.notifications.v1 import notifications_pb2 as pb
from portal.notifications.v1 import notifications_pb2_grpc

from kit import audit, context, guard
from kit.authz import ACCESS_MANAGE
from kit.db import Database
from kit.errors import DomainError

from . import domain, store
from .tenants import TenantDirectory


def _ts(value: Any) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _preferences(number: str, kinds: dict[str, frozenset[str]], phone: str, sms_available: bool) -> pb.Preferences:
    return pb.Preferences(
        customer_number=number,
        kinds=[pb.KindPreference(kind=k, channels=[c for c in domain.CHANNELS if c in kinds[k]]) for k in domain.KINDS],
        phone=phone,
        sms_available=sms_available,
    )


def _logged(kinds: dict[str, frozenset[str]]) -> dict[str, Any]:
    return {kind: sorted(channels) for kind, channels in kinds.items()}


class NotificationsServicer(notifications_pb2_grpc.NotificationsServiceServicer):
    def __init__(
        self,
        db: Database,
        accounts: accounts_pb2_grpc.AccountsServiceStub,
        tenants: TenantDirectory,
        *,
        sms_available: bool,
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.tenants = tenants
        self.sms_available = sms_available

    async def _phone(self, number: str) -> str:
        """The number SMS to the customer go to, from the contact data accounts holds (asked as the caller)."""
        resp = await self.accounts.GetCustomer(accounts_pb2.GetCustomerRequest(customer_number=number))
        tenant = await self.tenants.get(context.current().tenant_id)
        return domain.sms_number(resp.customer.phone, tenant.country)

    async def GetPreferences(self, request: pb.GetPreferencesRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        phone = await self._phone(number)
        async with self.db.tenant() as conn:
            chosen = await store.chosen_channels(conn, [number])
        kinds = domain.with_defaults(chosen.get(number, {}))
        return pb.GetPreferencesResponse(preferences=_preferences(number, kinds, phone, self.sms_available))

    async def SetPreferences(self, request: pb.SetPreferencesRequest, rpc: grpc.aio.ServicerContext) -> Any:
        number = guard.customer_number(request.customer_number)
        # where the customer's notices go is the customer's own decision: access:manage is the capability only the
        # owner holds (never delegated, never an OAuth scope), staff pass as for every change
        guard.capability(ACCESS_MANAGE)
        phone = await self._phone(number)
        wanted = {
            k.kind: domain.choose(k.kind, k.channels, phone=phone, sms_available=self.sms_available)
            for k in request.kinds
        }
        async with self.db.tenant() as conn:
            chosen = await store.chosen_channels(conn, [number])
            before = domain.with_defaults(chosen.get(number, {}))
            after = {**before, **wanted}
            if after != before:
                await store.choose_channels(conn, number, wanted)
                changed = sorted(k for k in wanted if before[k] != after[k])
                await audit.record(
                    conn,
                    "notification_preferences",
                    number,
                    "preferences.changed",
                    _logged({k: before[k] for k in changed}),
                    _logged({k: after[k] for k in changed}),
                    customer_number=number,
                )
        return pb.SetPreferencesResponse(preferences=_preferences(number, after, phone, self.sms_available))

    async def ListAudit(self, request: pb.ListAuditRequest, rpc: grpc.aio.ServicerContext) -> Any:
        return await audit.list_audit(self.db, request, pb.ListAuditResponse)

    async def ListDeliveries(self, request: pb.ListDeliveriesRequest, rpc: grpc.aio.ServicerContext) -> Any:
        # the delivery log is a staff and operations view
        guard.staff_or_system()
        limit = request.limit or 50
        if not 0 < limit <= 500:
            raise DomainError("limit.invalid", field="limit")
        async with self.db.tenant() as conn:
            rows = await store.recent(conn, request.recipient.strip().lower(), limit)
        return pb.ListDeliveriesResponse(
            deliveries=[
                pb.Delivery(
                    id=str(r.id),
                    event_id=str(r.event_id),
                    channel=r.channel,
                    recipient=r.recipient,
                    template=r.template,
                    status=r.status,
                    attempts=r.attempts,
                    last_error=r.last_error,
                    created_at=_ts(r.created_at),
                    sent_at=_ts(r.sent_at),
                )
                for r in rows
            ]
        )
