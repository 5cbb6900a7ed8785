"""Finding a supply point the way the services authorise it, for pages and API calls that name one by id."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from portal.accounts.v1 import accounts_pb2

from kit import context
from kit.errors import DomainError

from .principal import Principal
from .services import Services


async def find(
    services: Services,
    principal: Principal,
    numbers: Iterable[str],
    supply_point_id: str,
    context_for: Callable[[str], context.CallContext],
) -> tuple[accounts_pb2.SupplyPoint, str]:
    """The supply point and the customer number it was found under.

    Accounts decides whether the caller may read it (grant ∩ contract policy); a point outside a delegate's subset
    is as unknown as a stranger's. The API and the calendar feed name no customer number, so they pass all of the
    user's: one call each until the point's owner answers."""
    for number in numbers:
        try:
            with context.bound(context_for(number)):
                resp = await services.accounts.GetSupplyPoint(
                    accounts_pb2.GetSupplyPointRequest(supply_point_id=supply_point_id[:64])
                )
        except DomainError as err:
            if err.reason != "not_found":
                raise
            continue
        return resp.supply_point, number
    raise DomainError("not_found")
