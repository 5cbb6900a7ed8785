"""The gateway's short memory of resolved web-session tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from portal.identity.v1 import identity_pb2

from gateway.principal import Principal, PrincipalCache

VOLTA, ESCO = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def principal(email: str = "jana@volta.example") -> Principal:
    return Principal(user=identity_pb2.User(id="u1", email=email), grants=())


def test_a_token_is_served_for_its_own_tenant_only():
    cache = PrincipalCache(ttl=5)
    jana = principal()
    cache.put(VOLTA, "token-a", jana)
    assert cache.get(VOLTA, "token-a") == (jana, False)
    # the same cookie replayed on another brand's host must go to identity, which refuses it there
    assert cache.get(ESCO, "token-a") == (None, False)
    assert cache.get(VOLTA, "token-b") == (None, False)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_renewal_is_asked_of_one_caller_late_in_the_ttl_and_nothing_is_served_past_it():
    clock = Clock()
    cache = PrincipalCache(ttl=10, clock=clock)
    jana = principal()
    cache.put(VOLTA, "token-a", jana)
    clock.now += 4.9
    assert cache.get(VOLTA, "token-a") == (jana, False)
    clock.now += 4.2
    assert cache.get(VOLTA, "token-a") == (jana, True)
    # the renewal is under way: others are served without starting another
    assert cache.get(VOLTA, "token-a") == (jana, False)
    clock.now += 1
    assert cache.get(VOLTA, "token-a") == (None, False)


def test_a_renewed_entry_starts_again_and_a_failed_renewal_can_be_retried():
    clock = Clock()
    cache = PrincipalCache(ttl=10, clock=clock)
    cache.put(VOLTA, "token-a", principal())
    clock.now += 9.5
    assert cache.get(VOLTA, "token-a")[1] is True
    cache.renewal_failed(VOLTA, "token-a")
    assert cache.get(VOLTA, "token-a")[1] is True
    renewed = principal("jana.renamed@volta.example")
    cache.put(VOLTA, "token-a", renewed)
    assert cache.get(VOLTA, "token-a") == (renewed, False)


def test_a_token_is_never_kept_past_its_own_expiry():
    cache = PrincipalCache(ttl=60)
    cache.put(VOLTA, "expired", principal(), datetime.now(UTC) - timedelta(seconds=1))
    assert cache.get(VOLTA, "expired") == (None, False)
    cache.put(VOLTA, "short", principal(), datetime.now(UTC) + timedelta(milliseconds=50))
    assert cache.get(VOLTA, "short")[0] is not None
    time.sleep(0.08)
    assert cache.get(VOLTA, "short") == (None, False)


def test_drop_forgets_at_once_and_zero_ttl_keeps_nothing():
    cache = PrincipalCache(ttl=5)
    cache.put(VOLTA, "token-a", principal())
    cache.drop(VOLTA, "token-a")
    assert cache.get(VOLTA, "token-a") == (None, False)
    off = PrincipalCache(ttl=0)
    off.put(VOLTA, "token-a", principal())
    assert off.get(VOLTA, "token-a") == (None, False)


def test_the_oldest_entries_give_way_when_full():
    cache = PrincipalCache(ttl=5, max_entries=3)
    for i in range(5):
        cache.put(VOLTA, f"token-{i}", principal(f"u{i}@volta.example"))
    assert [cache.get(VOLTA, f"token-{i}")[0] is not None for i in range(5)] == [False, False, True, True, True]
