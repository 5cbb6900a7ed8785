"""Events of the requests service. It publishes (see server.py and escalation.py), on the subjects
`requests.<snake_case name>`:

- RequestSubmitted — a request was filed through any channel, once per request (not on an idempotent retry);
- RequestStateChanged — a request moved to another state, with the action and its reason;
- RequestEscalated — an open request passed its deadline while it was the supplier's turn, once per request.

It consumes none yet.
"""

from __future__ import annotations

from kit.bus import Subscription

SUBSCRIPTIONS: list[Subscription] = []
