"""The call context across gRPC metadata, and the guards services apply with it."""

from __future__ import annotations

import pytest

from kit import context, guard
from kit.errors import DomainError

DELEGATE = context.CallContext(
    tenant_id="t",
    subject="u",
    subject_kind=context.USER,
    customer_number="1002000180",
    customer_numbers=frozenset({"1002000180"}),
    capabilities=frozenset({"supply_points:read"}),
    supply_point_ids=frozenset({"p1", "p2"}),
)


@pytest.mark.parametrize("subset", [None, frozenset(), frozenset({"p1"}), frozenset({"p1", "p2", "p3"})])
def test_the_supply_point_subset_survives_metadata(subset):
    sent = DELEGATE.with_(supply_point_ids=subset)
    assert context.CallContext.from_metadata(sent.to_metadata()).supply_point_ids == subset


def test_a_caller_that_says_nothing_of_a_subset_may_see_all():
    metadata = [(k, v) for k, v in DELEGATE.to_metadata() if k != "x-portal-supply-points"]
    assert context.CallContext.from_metadata(metadata).supply_point_ids is None


def test_a_delegate_is_held_to_the_subset():
    with context.bound(DELEGATE):
        guard.supply_point("p1")
        with pytest.raises(DomainError) as err:
            guard.supply_point("p9")
        assert err.value.reason == "not_found"
        assert guard.supply_points([]) == ["p1", "p2"]
        assert guard.supply_points(["p2", "p9"]) == ["p2"]
        # nothing in common is an empty list, never "no filter"
        assert guard.supply_points(["p9"]) == []


@pytest.mark.parametrize(
    "ctx",
    [
        DELEGATE.with_(supply_point_ids=None),
        DELEGATE.with_(subject_kind=context.STAFF),
        DELEGATE.with_(subject_kind=context.SYSTEM),
    ],
    ids=["owner", "staff", "system"],
)
def test_owners_staff_and_the_system_are_not_limited(ctx):
    with context.bound(ctx):
        guard.supply_point("p9")
        assert guard.supply_points([]) is None
        assert guard.supply_points(["p9"]) == ["p9"]
