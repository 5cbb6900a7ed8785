"""Who is calling, and the call context the gateway sends to services on their behalf.

The gateway never decides alone: it computes the grant side of "grant ∩ contract policy" from the user's live
grants (identity) and the OAuth scopes, puts it in the call context, and the services re-check it together with
their contract policy.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
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


@dataclass(frozen=True)
class _Kept:
    principal: Principal
    # from here on the next page view has identity check the token again, in the background
    renew_at: float
    # from here on it is not served at all
    expires_at: float


class PrincipalCache:
    """Web sessions' resolved access tokens, so that page views do not wait for identity.

    An entry is served for at most `ttl` seconds. Somewhere in its first half (at random, so that sessions begun
    together do not all come due together) the next page view starts one check with identity in the background and is
    served meanwhile; the answer renews the entry or, for a revoked or expired token, removes it. A revoked session,
    a changed password or a withdrawn grant thus reaches the pages within `ttl` at worst, and sign-out on this gateway
    drops the entry at once. Keys are the tenant and a hash of the token, so a session replayed on another brand's
    host is never served from here."""

    def __init__(self, ttl: float, max_entries: int = 20_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[tuple[str, bytes], _Kept] = {}
        self._renewing: set[tuple[str, bytes]] = set()

    @staticmethod
    def _key(tenant_id: str, token: str) -> tuple[str, bytes]:
        return tenant_id, hashlib.sha256(token.encode()).digest()

    def get(self, tenant_id: str, token: str) -> tuple[Principal | None, bool]:
        """The kept principal, and whether the caller should have it renewed (told to one caller at a time)."""
        key = self._key(tenant_id, token)
        kept = self._entries.get(key)
        if kept is None:
            return None, False
        now = self.clock()
        if kept.expires_at <= now:
            self.drop(tenant_id, token)
            return None, False
        if kept.renew_at <= now and key not in self._renewing:
            self._renewing.add(key)
            return kept.principal, True
        return kept.principal, False

    def put(self, tenant_id: str, token: str, principal: Principal, token_expires_at: datetime | None = None) -> None:
        key = self._key(tenant_id, token)
        self._renewing.discard(key)
        lifetime = self.ttl
        if token_expires_at is not None:
            lifetime = min(lifetime, (token_expires_at - datetime.now(UTC)).total_seconds())
        if lifetime <= 0:
            self._entries.pop(key, None)
            return
        while len(self._entries) >= self.max_entries:
            # the oldest insertion first: dicts keep insertion order
            oldest = next(iter(self._entries))
            del self._entries[oldest]
            self._renewing.discard(oldest)
        now = self.clock()
        self._entries[key] = _Kept(principal, now + self.ttl * random.uniform(0.5, 0.9), now + lifetime)

    def renewal_failed(self, tenant_id: str, token: str) -> None:
        """Identity could not be asked: a later page view tries again while the entry lasts."""
        self._renewing.discard(self._key(tenant_id, token))

    def drop(self, tenant_id: str, token: str) -> None:
        key = self._key(tenant_id, token)
        self._entries.pop(key, None)
        self._renewing.discard(key)


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
    subset = None
    if customer_number:
        now = datetime.now(UTC)
        # customer level (no supply point, no contract type): the grant and the scopes; services add the policy
        capabilities = authz.effective_capabilities(
            principal.grants, customer_number, None, None, {}, now, scopes=principal.scopes
        )
        # a delegate's subset goes along, so that every service refuses the other supply points by itself
        subset = authz.visible_supply_point_ids(principal.grants, customer_number, now)
    return base.with_(
        subject=principal.user.id if principal.scopes is None else f"{principal.client_id}:{principal.user.id}",
        subject_kind=context.USER if principal.scopes is None else context.CLIENT,
        customer_number=customer_number,
        customer_numbers=frozenset(principal.customer_numbers),
        capabilities=capabilities,
        scopes=principal.scopes or frozenset(),
        supply_point_ids=subset,
    )
