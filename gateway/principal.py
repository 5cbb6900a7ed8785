"""Who is calling, and the call context the gateway sends to services on their behalf.

The gateway never decides alone: it computes the grant side of "grant ∩ contract policy" from the user's live
grants (identity) and the OAuth scopes, puts it in the call context, and the services re-check it together with
their contract policy.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from portal.accounts.v1 import accounts_pb2
from portal.identity.v1 import identity_pb2

from kit import authz, context
from kit.errors import DomainError


@dataclass(frozen=True)
class Principal:
    user: identity_pb2.User
    grants: tuple[authz.Grant, ...]
    client_id: str = ""
    # None: a first-party session, not restricted by scopes
    scopes: frozenset[str] | None = None
    customer_numbers: tuple[str, ...] = field(default=())

    @property
    def is_staff(self) -> bool:
        return self.user.kind == "staff"


def principal_of(resolved: identity_pb2.ResolveAccessTokenResponse, first_party: bool) -> Principal:
    grants = tuple(
        authz.Grant(
            customer_number=g.customer_number,
            role=g.role,
            capabilities=frozenset(g.capabilities),
            supply_point_ids=frozenset(g.supply_point_ids) or None,
            expires_at=g.expires_at.ToDatetime(tzinfo=UTC) if g.HasField("expires_at") else None,
        )
        for g in resolved.grants
    )
    now = datetime.now(UTC)
    return Principal(
        user=resolved.user,
        grants=grants,
        client_id=resolved.client_id,
        scopes=None if first_party else frozenset(resolved.scopes),
        customer_numbers=tuple(sorted(authz.visible_customer_numbers(grants, now))),
    )


class PrincipalCache:
    """Web sessions' resolved access tokens, kept for a few seconds so a page does not cost a call to identity.

    A page view asks identity at most once per `ttl` seconds per session: a revoked session, a changed password or a
    withdrawn grant reaches the pages within that time (sign-out on this gateway drops the entry at once). Keys are
    the tenant and a hash of the token, so a session replayed on another brand's host is never served from here."""

    def __init__(self, ttl: float, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, bytes], tuple[float, Principal]] = {}

    @staticmethod
    def _key(tenant_id: str, token: str) -> tuple[str, bytes]:
        return tenant_id, hashlib.sha256(token.encode()).digest()

    def get(self, tenant_id: str, token: str) -> Principal | None:
        key = self._key(tenant_id, token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, tenant_id: str, token: str, principal: Principal, expires_at: datetime | None = None) -> None:
        if self.ttl <= 0:
            return
        lifetime = self.ttl
        if expires_at is not None:
            lifetime = min(lifetime, (expires_at - datetime.now(UTC)).total_seconds())
        if lifetime <= 0:
            return
        while len(self._entries) >= self.max_entries:
            # the oldest insertion first: dicts keep insertion order
            del self._entries[next(iter(self._entries))]
        self._entries[self._key(tenant_id, token)] = (time.monotonic() + lifetime, principal)

    def drop(self, tenant_id: str, token: str) -> None:
        self._entries.pop(self._key(tenant_id, token), None)


def granted_supply_points(principal: Principal, customer_number: str) -> list[str]:
    """The supply points of `customer_number` a delegate's grant is limited to, for ListSupplyPoints'
    `supply_point_ids`; empty when the grants cover them all (owners, unrestricted delegates, staff)."""
    if principal.is_staff:
        return []
    ids = authz.visible_supply_point_ids(principal.grants, customer_number, datetime.now(UTC))
    if ids is None:
        return []
    if not ids:
        # no live grant at all: an empty filter would mean "every supply point"
        raise DomainError("not_found")
    return sorted(ids)


def require_supply_point(principal: Principal, customer_number: str, supply_point_id: str) -> None:
    """A supply point outside a delegate's subset is as unknown as a stranger's."""
    granted = granted_supply_points(principal, customer_number)
    if granted and supply_point_id not in granted:
        raise DomainError("not_found")


def call_context(
    tenant: accounts_pb2.Tenant,
    principal: Principal | None,
    *,
    customer_number: str = "",
    locale: str = "",
    client_address: str = "",
    request_id: str = "",
) -> context.CallContext:
    base = context.CallContext(tenant_id=tenant.id, locale=locale, client_address=client_address, channel="portal")
    if request_id:
        base = base.with_(request_id=request_id)
    if principal is None:
        return base
    if principal.is_staff:
        return base.with_(
            subject=principal.user.id,
            subject_kind=context.STAFF,
            capabilities=frozenset(principal.user.staff_roles),
        )
    if customer_number and customer_number not in principal.customer_numbers:
        # the services take the acting-for number on trust, so only one of the user's own live grants goes
        # there; any other is as unknown as a number that does not exist
        raise DomainError("not_found")
    capabilities = frozenset()
    if customer_number:
        # customer level (no supply point, no contract type): the grant and the scopes; services add the policy
        capabilities = authz.effective_capabilities(
            principal.grants, customer_number, None, None, {}, datetime.now(UTC), scopes=principal.scopes
        )
    return base.with_(
        subject=principal.user.id if principal.scopes is None else f"{principal.client_id}:{principal.user.id}",
        subject_kind=context.USER if principal.scopes is None else context.CLIENT,
        customer_number=customer_number,
        customer_numbers=frozenset(principal.customer_numbers),
        capabilities=capabilities,
        scopes=principal.scopes or frozenset(),
    )
