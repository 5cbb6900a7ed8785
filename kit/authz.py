"""Authorisation: what a principal may do = its access grant ∩ the tenant's policy for the contract type.

One function (`effective_capabilities`) decides it, so the gateway (showing and hiding) and the services
(re-checking every change) cannot drift apart. Everything here fails closed: an unknown role, an unknown
contract type, an expired grant or a supply point outside a delegate's subset yields no capability at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

SUPPLY_POINTS_READ = "supply_points:read"
CONTRACTS_READ = "contracts:read"
INVOICES_READ = "invoices:read"
PAYMENTS_READ = "payments:read"
CONSUMPTION_READ = "consumption:read"
READINGS_WRITE = "readings:write"
REQUESTS_READ = "requests:read"
REQUESTS_WRITE = "requests:write"
CONTACT_WRITE = "contact:write"
PAYMENT_METHOD_WRITE = "payment_method:write"
BANK_ACCOUNT_WRITE = "bank_account:write"
# záloha
ADVANCE_WRITE = "advance:write"
E_INVOICE_WRITE = "e_invoice:write"
# jistič; a distribution matter, so only contracts that include distribution allow it
BREAKER_CHANGE_REQUEST = "breaker_change:request"
# distribuční sazba; likewise
TARIFF_CHANGE_REQUEST = "tariff_change:request"
ACCESS_MANAGE = "access:manage"

ALL_CAPABILITIES: tuple[str, ...] = (
    SUPPLY_POINTS_READ,
    CONTRACTS_READ,
    INVOICES_READ,
    PAYMENTS_READ,
    CONSUMPTION_READ,
    READINGS_WRITE,
    REQUESTS_READ,
    REQUESTS_WRITE,
    CONTACT_WRITE,
    PAYMENT_METHOD_WRITE,
    BANK_ACCOUNT_WRITE,
    ADVANCE_WRITE,
    E_INVOICE_WRITE,
    BREAKER_CHANGE_REQUEST,
    TARIFF_CHANGE_REQUEST,
    ACCESS_MANAGE,
)
_ALL = frozenset(ALL_CAPABILITIES)

# capabilities of the customer as a whole rather than of one supply point
CUSTOMER_LEVEL: frozenset[str] = frozenset({CONTACT_WRITE, ACCESS_MANAGE})
# what the permission matrix decides per contract type, in the order the staff console shows it
PER_CONTRACT: tuple[str, ...] = tuple(c for c in ALL_CAPABILITIES if c not in CUSTOMER_LEVEL)
# what every contract type keeps whatever the tenant edits: without them a customer could not see the supply point
# or contract at all, not even to file a request about it
TO_VIEW_OWN_DATA: frozenset[str] = frozenset({SUPPLY_POINTS_READ, CONTRACTS_READ})

OWNER = "owner"
DELEGATE = "delegate"
ROLES = (OWNER, DELEGATE)

# only the owner decides who else gets in: a delegate cannot widen its own access or pass it on
_NEVER_DELEGATED = frozenset({ACCESS_MANAGE})

# OAuth scope names (hyphens, the usual scope style) of the capabilities a third-party application may
# be given; managing access is not among them, for the same reason it is never delegated
SCOPE_CAPABILITIES: Mapping[str, str] = {c.replace("_", "-"): c for c in ALL_CAPABILITIES if c not in _NEVER_DELEGATED}

# contract type → the capabilities the tenant allows on supply points under such a contract
PermissionMatrix = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Grant:
    """Access of one user to one customer number (zákaznické číslo)."""

    customer_number: str
    role: str
    capabilities: frozenset[str] = frozenset()
    # None: every supply point of the customer number
    supply_point_ids: frozenset[str] | None = None
    # exclusive; None: until revoked. Timezone-aware.
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        # callers build grants from lists and protobuf repeated fields; keep them hashable and immutable
        object.__setattr__(self, "capabilities", frozenset(self.capabilities))
        if self.supply_point_ids is not None:
            object.__setattr__(self, "supply_point_ids", frozenset(self.supply_point_ids))

    def is_live(self, now: datetime) -> bool:
        return self.role in ROLES and (self.expires_at is None or now < self.expires_at)

    def covers(self, supply_point_id: str | None) -> bool:
        if supply_point_id is None or self.role == OWNER or self.supply_point_ids is None:
            return True
        return supply_point_id in self.supply_point_ids

    def granted(self) -> frozenset[str]:
        if self.role == OWNER:
            return _ALL
        if self.role == DELEGATE:
            return (self.capabilities & _ALL) - _NEVER_DELEGATED
        return frozenset()


def scope_capabilities(scopes: Iterable[str]) -> frozenset[str]:
    """The capabilities OAuth scopes stand for; identity scopes (openid, email, …) stand for none."""
    return frozenset(SCOPE_CAPABILITIES[s] for s in scopes if s in SCOPE_CAPABILITIES)


def scope_of(capability: str) -> str:
    return capability.replace("_", "-")


def effective_capabilities(
    grants: Iterable[Grant],
    customer_number: str,
    supply_point_id: str | None,
    contract_type: str | None,
    matrix: PermissionMatrix,
    now: datetime,
    *,
    scopes: Iterable[str] | None = None,
) -> frozenset[str]:
    """What the holder of `grants` may do for `customer_number`, on one supply point or (None) the customer.

    - owner: every capability; delegate: what the owner granted, never `access:manage`, only on its supply
      points and only before `expires_at`; several live grants add up;
    - `scopes` (an OAuth client's consented scopes) restrict further when given;
    - on a supply point the tenant's matrix for its contract type applies: unknown type, nothing.
      A supply point without a contract type gets nothing either, rather than skipping the policy.
    - with neither supply point nor contract type (customer level: contact data, access) the grant alone
      counts.
    """
    allowed: frozenset[str] = frozenset()
    for grant in grants:
        if grant.customer_number == customer_number and grant.is_live(now) and grant.covers(supply_point_id):
            allowed |= grant.granted()
    if not allowed:
        return allowed
    if scopes is not None:
        allowed &= scope_capabilities(scopes)
    if contract_type is not None:
        allowed &= matrix.get(contract_type, frozenset())
    elif supply_point_id is not None:
        return frozenset()
    return allowed


def can(
    capability: str,
    grants: Iterable[Grant],
    customer_number: str,
    supply_point_id: str | None,
    contract_type: str | None,
    matrix: PermissionMatrix,
    now: datetime,
    *,
    scopes: Iterable[str] | None = None,
) -> bool:
    return capability in effective_capabilities(
        grants, customer_number, supply_point_id, contract_type, matrix, now, scopes=scopes
    )


def live_grants(grants: Iterable[Grant], now: datetime) -> tuple[Grant, ...]:
    return tuple(g for g in grants if g.is_live(now))


def visible_customer_numbers(grants: Iterable[Grant], now: datetime) -> frozenset[str]:
    """The customer numbers a user may switch between: those with a live grant."""
    return frozenset(g.customer_number for g in grants if g.is_live(now))


def visible_supply_point_ids(grants: Iterable[Grant], customer_number: str, now: datetime) -> frozenset[str] | None:
    """The supply points of `customer_number` the grants cover: None = all, empty = none."""
    ids: set[str] = set()
    found = False
    for grant in grants:
        if grant.customer_number != customer_number or not grant.is_live(now):
            continue
        if grant.role == OWNER or grant.supply_point_ids is None:
            return None
        found = True
        ids |= grant.supply_point_ids
    return frozenset(ids) if found else frozenset()


# --- staff ------------------------------------------------------------------------------------------------
# Staff act for the tenant, not for a customer: their call context carries their roles, and what the roles allow
# is decided here for the gateway (which console sections to show) and the services (which calls to take) alike.

CUSTOMER_SERVICE = "customer_service"
TENANT_ADMIN = "tenant_admin"
STAFF_ROLES = (CUSTOMER_SERVICE, TENANT_ADMIN)

# every planned outage of the tenant, which callers ask the customer line about
OUTAGES_READ = "outages:read"
# switching times and planned outages change what every customer of the tenant sees, so administrators only
HDO_IMPORT = "hdo:import"
# the queue of customers' requests: filing on a customer's behalf, assigning, moving, commenting
REQUESTS_WORK = "requests:work"
# searching the tenant's customers and seeing one with its supply points, contracts and requests
CUSTOMERS_READ = "customers:read"
# the services' audit trails: who changed what, including other staff, so administrators only
AUDIT_READ = "audit:read"
# the request catalog and the permission matrix: what every customer of the tenant may do, so administrators only
CATALOG_EDIT = "catalog:edit"
# issuing the tenant's invoices and importing its bank statements move money, so administrators only
BILLING_RUN = "billing:run"
PAYMENTS_IMPORT = "payments:import"

_STAFF_CAPABILITIES: Mapping[str, frozenset[str]] = {
    CUSTOMER_SERVICE: frozenset({OUTAGES_READ, REQUESTS_WORK, CUSTOMERS_READ}),
    TENANT_ADMIN: frozenset(
        {
            OUTAGES_READ,
            HDO_IMPORT,
            REQUESTS_WORK,
            CUSTOMERS_READ,
            AUDIT_READ,
            CATALOG_EDIT,
            BILLING_RUN,
            PAYMENTS_IMPORT,
        }
    ),
}


def staff_capabilities(roles: Iterable[str]) -> frozenset[str]:
    """What staff holding `roles` may do; an unknown role adds nothing."""
    return frozenset().union(*(_STAFF_CAPABILITIES.get(r, frozenset()) for r in roles))
