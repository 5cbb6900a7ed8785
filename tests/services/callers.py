"""Call contexts the service tests act under: a customer's user and a staff member of a brand."""

from __future__ import annotations

from kit import authz, context, demo


def as_user(
    tenant: demo.Tenant,
    number: str,
    capabilities: frozenset[str] = frozenset(authz.ALL_CAPABILITIES),
    supply_point_ids: frozenset[str] | None = None,
) -> context.bound:
    return context.bound(
        context.CallContext(
            tenant_id=str(tenant.id),
            subject=f"user-of-{number}",
            subject_kind=context.USER,
            customer_number=number,
            customer_numbers=frozenset({number}),
            capabilities=capabilities,
            supply_point_ids=supply_point_ids,
        )
    )


def as_staff(tenant: demo.Tenant, role: str = authz.CUSTOMER_SERVICE, subject: str = "agent-1") -> context.bound:
    """Staff carry their roles where customers carry capabilities (see gateway.principal.call_context)."""
    return context.bound(
        context.CallContext(
            tenant_id=str(tenant.id),
            subject=subject,
            subject_kind=context.STAFF,
            capabilities=frozenset({role}),
            channel="staff",
        )
    )
