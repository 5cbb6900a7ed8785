"""gRPC surface of the notifications service."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from portal.notifications.v1 import notifications_pb2 as pb
from portal.notifications.v1 import notifications_pb2_grpc

from kit import guard
from kit.db import Database
from kit.errors import DomainError

from . import store


def _ts(value: Any) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


class NotificationsServicer(notifications_pb2_grpc.NotificationsServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

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
