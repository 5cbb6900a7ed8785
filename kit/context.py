"""The call context: who acts, for which tenant and customer, carried in gRPC metadata and NATS headers."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

# subject kinds
USER = "user"
STAFF = "staff"
CLIENT = "client"
SYSTEM = "system"
ANONYMOUS = "anonymous"

_PREFIX = "x-portal-"
# in metadata, a grant that covers every supply point; absent means the same, so older callers keep working
_ALL = "*"


def _subset(value: str) -> frozenset[str] | None:
    return None if value == _ALL else frozenset(value.split())


@dataclass(frozen=True)
class CallContext:
    tenant_id: str = ""
    subject: str = ""
    subject_kind: str = ANONYMOUS
    # the customer number acted for (zákaznické číslo), when the caller acts for one
    customer_number: str = ""
    # every customer number the subject's grants cover (for choosing among them)
    customer_numbers: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()
    # OAuth client scopes when a third-party application calls, else empty
    scopes: frozenset[str] = frozenset()
    # the supply points of the acting-for customer the caller's grant is limited to (a delegate's subset);
    # None: all of them
    supply_point_ids: frozenset[str] | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    locale: str = ""
    client_address: str = ""
    channel: str = "portal"

    def with_(self, **changes: object) -> CallContext:
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_metadata(self) -> list[tuple[str, str]]:
        return [
            (f"{_PREFIX}tenant", self.tenant_id),
            (f"{_PREFIX}subject", self.subject),
            (f"{_PREFIX}subject-kind", self.subject_kind),
            (f"{_PREFIX}customer", self.customer_number),
            (f"{_PREFIX}customers", " ".join(sorted(self.customer_numbers))),
            (f"{_PREFIX}capabilities", " ".join(sorted(self.capabilities))),
            (f"{_PREFIX}scopes", " ".join(sorted(self.scopes))),
            (
                f"{_PREFIX}supply-points",
                _ALL if self.supply_point_ids is None else " ".join(sorted(self.supply_point_ids)),
            ),
            ("x-request-id", self.request_id),
            (f"{_PREFIX}locale", self.locale),
            (f"{_PREFIX}client-address", self.client_address),
            (f"{_PREFIX}channel", self.channel),
        ]

    @classmethod
    def from_metadata(cls, metadata: Iterable[tuple[str, str | bytes]] | None) -> CallContext:
        md: Mapping[str, str] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in (metadata or ())}

        def get(key: str) -> str:
            return md.get(f"{_PREFIX}{key}", "")

        return cls(
            tenant_id=get("tenant"),
            subject=get("subject"),
            subject_kind=get("subject-kind") or ANONYMOUS,
            customer_number=get("customer"),
            customer_numbers=frozenset(get("customers").split()),
            capabilities=frozenset(get("capabilities").split()),
            scopes=frozenset(get("scopes").split()),
            supply_point_ids=_subset(md.get(f"{_PREFIX}supply-points", _ALL)),
            request_id=md.get("x-request-id") or uuid.uuid4().hex,
            locale=get("locale"),
            client_address=get("client-address"),
            channel=get("channel") or "portal",
        )


_current: contextvars.ContextVar[CallContext] = contextvars.ContextVar("portal_call_context")


def current() -> CallContext:
    try:
        return _current.get()
    except LookupError:
        return CallContext()


def bind(ctx: CallContext) -> contextvars.Token[CallContext]:
    return _current.set(ctx)


def reset(token: contextvars.Token[CallContext]) -> None:
    _current.reset(token)


class bound:
    """`with bound(ctx):` runs a block under a call context (gateway handlers, consumers, tests)."""

    def __init__(self, ctx: CallContext) -> None:
        self._ctx = ctx
        self._token: contextvars.Token[CallContext] | None = None

    def __enter__(self) -> CallContext:
        self._token = _current.set(self._ctx)
        return self._ctx

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _current.reset(self._token)
