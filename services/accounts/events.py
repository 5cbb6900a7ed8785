"""Events of the accounts service: it publishes the immediate changes it applies (see server.py) — ContactChanged,
AddressChanged and ContractChanged (payment, advance, e-invoice) — and PermissionMatrixChanged when a tenant
administrator edits the matrix; it consumes none yet."""

from __future__ import annotations

from kit.bus import Subscription

SUBSCRIPTIONS: list[Subscription] = []
