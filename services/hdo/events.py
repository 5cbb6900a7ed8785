"""Events of the hdo service. It publishes (see server.py), on the subjects `hdo.<snake_case name>`:

- ScheduleChanged — an import gave a code new switching times;
- OutagePlanned, OutageChanged, OutageCancelled — once per change of a planned outage, however often the same
  data is imported; each carries the whole notice (id, version, state, times, reason, EANs and address areas).

It consumes none.
"""

from __future__ import annotations

from kit.bus import Subscription

SUBSCRIPTIONS: list[Subscription] = []
