"""Events of the billing service. It publishes (see server.py), on the subjects `billing.<snake_case name>`:

- ReadingAccepted — a meter reading was stored (from the operator, the customer or an estimate), once per reading;
  a retried submission with the same idempotency key publishes nothing. The demo seed's readings publish nothing.

It consumes none yet.
"""

from __future__ import annotations

from kit.bus import Subscription

SUBSCRIPTIONS: list[Subscription] = []
