"""The common fields of gRPC messages as services read and write them: ids, days and instants. A malformed id reads
as an unknown one (`not_found`, so ids cannot be probed); a malformed day is `date.invalid` on its field."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from kit.errors import DomainError


def parse_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DomainError("not_found", field=field) from None


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("date.invalid", field=field) from None


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts
