"""Events of the accounts service: it publishes ContactChanged (see server.py) and consumes none yet."""

from __future__ import annotations

from kit.bus import Subscription

SUBSCRIPTIONS: list[Subscription] = []
