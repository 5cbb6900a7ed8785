"""Checks every service makes against the call context before it reads or changes a customer's data.

The gateway puts the acting-for customer number and the capabilities of the caller's access grant into the call
context; a service re-checks them, and intersects with its own contract policy (`kit.authz`), so a call that skips
the gateway gets no further than one through it. Refusals of data the caller may not see are `not_found`, so ids
cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable

from kit import authz, context
from kit.errors import DomainError

# kinds that act for one customer number at a time
_CUSTOMER_SIDE = (context.USER, context.CLIENT)


def customer_numbers(requested: Iterable[str]) -> list[str]:
    """The customer numbers the caller may read, out of those requested (empty request: the acting-for one)."""
    ctx = context.current()
    wanted = [n for n in requested if n]
    if ctx.subject_kind in (context.SYSTEM, context.STAFF):
        if not wanted:
            raise DomainError("customer_number.required", field="customer_number")
        return wanted
    if ctx.subject_kind in _CUSTOMER_SIDE and ctx.customer_number:
        if all(n == ctx.customer_number for n in wanted):
            return [ctx.customer_number]
    raise DomainError("not_found")


def granted_customer_numbers(requested: Iterable[str]) -> list[str]:
    """Of the requested customer numbers, those the caller's grants cover (all requested for staff)."""
    ctx = context.current()
    wanted = [n for n in requested if n]
    if ctx.subject_kind in (context.SYSTEM, context.STAFF):
        return wanted
    return [n for n in wanted if n in ctx.customer_numbers]


def customer_number(requested: str) -> str:
    return customer_numbers([requested])[0]


def owns(row_customer_number: str) -> None:
    """A row found by id must belong to the customer the caller acts for."""
    ctx = context.current()
    if ctx.subject_kind in (context.SYSTEM, context.STAFF):
        return
    if ctx.subject_kind in _CUSTOMER_SIDE and ctx.customer_number == row_customer_number:
        return
    raise DomainError("not_found")


def supply_point_subset() -> frozenset[str] | None:
    """The supply points a delegate's grant is limited to; None when the caller may see them all."""
    ctx = context.current()
    return ctx.supply_point_ids if ctx.subject_kind in _CUSTOMER_SIDE else None


def supply_point(supply_point_id: str) -> None:
    """A supply point outside a delegate's subset is as unknown as a stranger's."""
    subset = supply_point_subset()
    if subset is not None and supply_point_id not in subset:
        raise DomainError("not_found")


def supply_points(requested: Iterable[str]) -> list[str] | None:
    """The supply points a list may show: those requested (None: no filter asked), narrowed to a delegate's subset.
    An empty list means none at all, not "no filter"."""
    wanted = [i for i in requested if i]
    subset = supply_point_subset()
    if subset is None:
        return wanted or None
    return sorted(subset.intersection(wanted) if wanted else subset)


def capability(name: str, policy: frozenset[str] | None = None) -> None:
    """The caller's grant must carry `name`, and the contract policy (when given) must allow it."""
    ctx = context.current()
    if ctx.subject_kind == context.SYSTEM:
        return
    if ctx.subject_kind != context.STAFF and name not in ctx.capabilities:
        raise DomainError("forbidden")
    if policy is not None and name not in policy:
        raise DomainError("forbidden")


def staff_or_system() -> None:
    """Calls no customer may make: operations views and searches across customers."""
    if context.current().subject_kind not in (context.STAFF, context.SYSTEM):
        raise DomainError("forbidden")


def staff_capability(name: str) -> None:
    """Staff whose roles give `name` (`kit.authz.staff_capabilities`), or the system; nobody else."""
    ctx = context.current()
    if ctx.subject_kind == context.SYSTEM:
        return
    if ctx.subject_kind != context.STAFF or name not in authz.staff_capabilities(ctx.capabilities):
        raise DomainError("forbidden")
