"""Authorisation = grant ∩ contract policy: every role × expiry × supply-point subset × matrix combination."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit import authz
from kit.authz import Grant

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CUSTOMER = "1001234567"
OTHER = "1009999999"
POINT = "sp-1"
ELSEWHERE = "sp-2"
ALL = frozenset(authz.ALL_CAPABILITIES)
READ_ONLY = frozenset({authz.SUPPLY_POINTS_READ, authz.INVOICES_READ, authz.CONSUMPTION_READ})
DELEGATED = frozenset(
    {
        authz.SUPPLY_POINTS_READ,
        authz.INVOICES_READ,
        authz.READINGS_WRITE,
        authz.BREAKER_CHANGE_REQUEST,
        authz.CONTACT_WRITE,
        authz.ACCESS_MANAGE,
    }
)
MATRIX = {
    "bundled": ALL,
    "supply_only": ALL - {authz.BREAKER_CHANGE_REQUEST, authz.TARIFF_CHANGE_REQUEST},
    "read_only": READ_ONLY,
    "nothing": frozenset(),
}

EXPIRIES = {
    "never": None,
    "future": NOW + timedelta(days=1),
    "past": NOW - timedelta(seconds=1),
    "now": NOW,
}
SUBSETS = {
    "all": None,
    "includes": frozenset({POINT}),
    "excludes": frozenset({ELSEWHERE}),
    "empty": frozenset(),
}
# (supply point, contract type): customer level, or a supply point under a contract type
TARGETS = {
    "customer": (None, None),
    "bundled": (POINT, "bundled"),
    "supply_only": (POINT, "supply_only"),
    "read_only": (POINT, "read_only"),
    "nothing": (POINT, "nothing"),
    "unknown_type": (POINT, "heat"),
    "no_type": (POINT, None),
}
SCOPES = {"none": None, "some": frozenset({"openid", "supply-points:read", "invoices:read", "access:manage"})}


def expected(role: str, expiry: str, subset: str, target: str, scopes: str) -> frozenset[str]:
    """The rule restated independently of the implementation, branch by branch."""
    if role not in ("owner", "delegate"):
        return frozenset()
    if expiry in ("past", "now"):
        return frozenset()
    point, contract_type = TARGETS[target]
    if role == "owner":
        caps = ALL
    else:
        if point is not None and subset in ("excludes", "empty"):
            return frozenset()
        caps = DELEGATED - {authz.ACCESS_MANAGE}
    if scopes == "some":
        caps &= {authz.SUPPLY_POINTS_READ, authz.INVOICES_READ}
    if point is None and contract_type is None:
        return caps
    if contract_type is None:
        return frozenset()
    return caps & MATRIX.get(contract_type, frozenset())


@pytest.mark.parametrize(
    ("role", "expiry", "subset", "target", "scopes"),
    list(itertools.product(["owner", "delegate", "stranger"], EXPIRIES, SUBSETS, TARGETS, SCOPES)),
)
def test_every_combination(role: str, expiry: str, subset: str, target: str, scopes: str) -> None:
    grant = Grant(CUSTOMER, role, DELEGATED, SUBSETS[subset], EXPIRIES[expiry])
    point, contract_type = TARGETS[target]
    got = authz.effective_capabilities([grant], CUSTOMER, point, contract_type, MATRIX, NOW, scopes=SCOPES[scopes])
    assert got == expected(role, expiry, subset, target, scopes)
    # another customer's number never benefits from this grant
    assert authz.effective_capabilities([grant], OTHER, point, contract_type, MATRIX, NOW) == frozenset()


def test_owner_gets_everything_on_a_bundled_contract() -> None:
    owner = Grant(CUSTOMER, authz.OWNER)
    assert authz.effective_capabilities([owner], CUSTOMER, POINT, "bundled", MATRIX, NOW) == ALL
    assert authz.effective_capabilities([owner], CUSTOMER, None, None, MATRIX, NOW) == ALL


def test_supply_only_forbids_distribution_requests_even_to_the_owner() -> None:
    owner = Grant(CUSTOMER, authz.OWNER)
    for cap in (authz.BREAKER_CHANGE_REQUEST, authz.TARIFF_CHANGE_REQUEST):
        assert authz.can(cap, [owner], CUSTOMER, POINT, "bundled", MATRIX, NOW)
        assert not authz.can(cap, [owner], CUSTOMER, POINT, "supply_only", MATRIX, NOW)


def test_delegate_never_manages_access() -> None:
    delegate = Grant(CUSTOMER, authz.DELEGATE, ALL)
    assert not authz.can(authz.ACCESS_MANAGE, [delegate], CUSTOMER, None, None, MATRIX, NOW)
    assert authz.can(authz.CONTACT_WRITE, [delegate], CUSTOMER, None, None, MATRIX, NOW)


def test_grants_add_up() -> None:
    reads = Grant(CUSTOMER, authz.DELEGATE, {authz.INVOICES_READ}, {POINT})
    writes = Grant(CUSTOMER, authz.DELEGATE, {authz.READINGS_WRITE}, None, NOW + timedelta(hours=1))
    expired = Grant(CUSTOMER, authz.DELEGATE, {authz.ADVANCE_WRITE}, None, NOW - timedelta(hours=1))
    grants = [reads, writes, expired]
    assert authz.effective_capabilities(grants, CUSTOMER, POINT, "bundled", MATRIX, NOW) == {
        authz.INVOICES_READ,
        authz.READINGS_WRITE,
    }
    assert authz.effective_capabilities(grants, CUSTOMER, ELSEWHERE, "bundled", MATRIX, NOW) == {authz.READINGS_WRITE}


def test_unknown_capability_names_in_a_grant_are_ignored() -> None:
    delegate = Grant(CUSTOMER, authz.DELEGATE, {"everything:*", authz.INVOICES_READ})
    assert authz.effective_capabilities([delegate], CUSTOMER, None, None, MATRIX, NOW) == {authz.INVOICES_READ}


def test_scope_names() -> None:
    assert authz.scope_of(authz.SUPPLY_POINTS_READ) == "supply-points:read"
    assert authz.scope_capabilities(["openid", "offline_access", "supply-points:read", "contracts:read"]) == {
        authz.SUPPLY_POINTS_READ,
        authz.CONTRACTS_READ,
    }
    # capability spelling is not a scope, and access management is not for third-party applications
    assert authz.scope_capabilities(["supply_points:read", "access:manage"]) == frozenset()


def test_grant_accepts_plain_collections() -> None:
    grant = Grant(CUSTOMER, authz.DELEGATE, [authz.INVOICES_READ], [POINT])  # type: ignore[arg-type]
    assert grant.capabilities == frozenset({authz.INVOICES_READ})
    assert grant.supply_point_ids == frozenset({POINT})
    hash(grant)


def test_visible_customer_numbers() -> None:
    grants = [
        Grant("100001", authz.OWNER),
        Grant("100002", authz.DELEGATE, {authz.INVOICES_READ}, None, NOW + timedelta(days=3)),
        Grant("100003", authz.DELEGATE, {authz.INVOICES_READ}, None, NOW - timedelta(days=3)),
        Grant("100004", "auditor"),
    ]
    assert authz.visible_customer_numbers(grants, NOW) == {"100001", "100002"}
    assert authz.live_grants(grants, NOW) == tuple(grants[:2])


def test_visible_supply_point_ids() -> None:
    subset = Grant(CUSTOMER, authz.DELEGATE, {authz.INVOICES_READ}, {POINT})
    other = Grant(CUSTOMER, authz.DELEGATE, {authz.INVOICES_READ}, {ELSEWHERE}, NOW - timedelta(days=1))
    assert authz.visible_supply_point_ids([subset, other], CUSTOMER, NOW) == {POINT}
    assert authz.visible_supply_point_ids([subset, Grant(CUSTOMER, authz.OWNER)], CUSTOMER, NOW) is None
    assert authz.visible_supply_point_ids([subset], OTHER, NOW) == frozenset()


def test_all_capabilities_are_distinct_and_well_formed() -> None:
    assert len(set(authz.ALL_CAPABILITIES)) == len(authz.ALL_CAPABILITIES) == 16
    assert all(":" in c for c in authz.ALL_CAPABILITIES)


# --- properties over arbitrary grant lists -------------------------------------------------------------

caps = st.frozensets(st.sampled_from(authz.ALL_CAPABILITIES))
grants_st = st.lists(
    st.builds(
        Grant,
        customer_number=st.sampled_from([CUSTOMER, OTHER]),
        role=st.sampled_from(["owner", "delegate", "other"]),
        capabilities=caps,
        supply_point_ids=st.none() | st.frozensets(st.sampled_from([POINT, ELSEWHERE])),
        expires_at=st.none() | st.sampled_from(list(EXPIRIES.values())),
    ),
    max_size=4,
)
matrices = st.dictionaries(st.sampled_from(["bundled", "supply_only"]), caps)
targets = st.sampled_from(list(TARGETS.values()))
scopes_st = st.none() | st.frozensets(st.sampled_from([*authz.SCOPE_CAPABILITIES, "openid", "email"]))


@given(grants_st, targets, matrices, scopes_st)
def test_never_more_than_grant_policy_or_scopes_allow(grants, target, matrix, scopes) -> None:
    point, contract_type = target
    got = authz.effective_capabilities(grants, CUSTOMER, point, contract_type, matrix, NOW, scopes=scopes)
    assert got <= ALL
    live = [g for g in grants if g.customer_number == CUSTOMER and g.is_live(NOW)]
    if not live:
        assert got == frozenset()
    if contract_type is not None:
        assert got <= matrix.get(contract_type, frozenset())
    if scopes is not None:
        assert got <= authz.scope_capabilities(scopes)
    if authz.ACCESS_MANAGE in got:
        assert any(g.role == authz.OWNER for g in live)


@given(grants_st, grants_st, targets, matrices)
def test_more_grants_never_take_anything_away(first, second, target, matrix) -> None:
    point, contract_type = target
    alone = authz.effective_capabilities(first, CUSTOMER, point, contract_type, matrix, NOW)
    both = authz.effective_capabilities(first + second, CUSTOMER, point, contract_type, matrix, NOW)
    assert alone <= both


@given(grants_st, targets, matrices, st.sampled_from(authz.ALL_CAPABILITIES))
def test_can_agrees_with_effective_capabilities(grants, target, matrix, capability) -> None:
    point, contract_type = target
    assert authz.can(capability, grants, CUSTOMER, point, contract_type, matrix, NOW) == (
        capability in authz.effective_capabilities(grants, CUSTOMER, point, contract_type, matrix, NOW)
    )


def test_staff_roles_give_console_capabilities_and_unknown_roles_nothing():
    assert authz.staff_capabilities([authz.TENANT_ADMIN]) == {
        authz.HDO_IMPORT,
        authz.OUTAGES_READ,
        authz.REQUESTS_WORK,
        authz.CUSTOMERS_READ,
        authz.AUDIT_READ,
        authz.CATALOG_EDIT,
        authz.BILLING_RUN,
        authz.PAYMENTS_IMPORT,
    }
    # the audit trail shows other staff members' work, so customer service does not read it; what customers may do
    # (the request catalog, the permission matrix) is the administrators' to change
    assert authz.staff_capabilities([authz.CUSTOMER_SERVICE]) == {
        authz.OUTAGES_READ,
        authz.REQUESTS_WORK,
        authz.CUSTOMERS_READ,
    }
    assert authz.staff_capabilities(["owner", "auditor"]) == frozenset()
    assert authz.staff_capabilities([]) == frozenset()
