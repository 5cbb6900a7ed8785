"""Events of the identity service: it publishes UserRegistered, EmailVerificationRequested, EmailVerified,
PasswordResetRequested and PasswordChanged (see server.py) and consumes none yet."""

from __future__ import annotations

from kit.bus import Subscription

SUBSCRIPTIONS: list[Subscription] = []
