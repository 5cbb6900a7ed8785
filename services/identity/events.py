"""Events of the identity service: it publishes UserRegistered, EmailVerificationRequested, EmailVerified,
PasswordResetRequested, PasswordChanged, PersonalTokenCreated and PersonalTokenRevoked (see server.py) and consumes
none yet."""

from __future__ import annotations

from kit.bus import Subscription

SUBSCRIPTIONS: list[Subscription] = []
