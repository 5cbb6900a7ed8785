"""The pure rules of personal access tokens (identity) and how the tokens page reads its form (gateway)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.web import token_pages, views
from kit import authz
from kit.errors import DomainError
from services.identity import domain, oauth

NOW = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)
PRAGUE = ZoneInfo("Europe/Prague")


def reason(call) -> str:
    with pytest.raises(DomainError) as err:
        call()
    return err.value.reason


def test_a_token_is_recognisable_random_and_hashed_with_the_key():
    a, b = domain.new_personal_token(), domain.new_personal_token()
    assert a != b and domain.is_personal_token(a) and not domain.is_personal_token(domain.new_token())
    assert domain.personal_token_hash(b"one key", a) != domain.personal_token_hash(b"another key", a)
    assert domain.personal_token_hash(b"one key", a) == domain.personal_token_hash(b"one key", a)


def test_names_are_cleaned_and_bounded():
    assert domain.personal_token_name("  Tepelne\u0301 čerpadlo\u200b\n") == "Tepelné čerpadlo"
    assert domain.personal_token_name("x" * 80) == "x" * 80
    assert reason(lambda: domain.personal_token_name("\t\x00 ")) == "personal_token.name_required"
    assert reason(lambda: domain.personal_token_name("x" * 81)) == "personal_token.name_too_long"


def test_scopes_are_known_capability_scopes_only_and_never_manage_access():
    assert domain.personal_token_scopes(["consumption:read", "supply-points:read", "consumption:read"]) == [
        "supply-points:read",
        "consumption:read",
    ]
    assert "access-manage" not in authz.SCOPE_CAPABILITIES
    for bad in (["access-manage"], ["openid"], ["supply_points:read"]):
        assert reason(lambda bad=bad: domain.personal_token_scopes(bad)) == "personal_token.scope_unknown"
    assert reason(lambda: domain.personal_token_scopes([])) == "personal_token.scopes_required"


def test_expiry_is_in_the_future_and_at_most_a_year_and_a_day_ahead():
    assert domain.personal_token_expiry(NOW + timedelta(days=366), NOW) == NOW + timedelta(days=366)
    for bad in (None, NOW, NOW + timedelta(days=366, seconds=1)):
        assert reason(lambda bad=bad: domain.personal_token_expiry(bad, NOW)) == "personal_token.expiry_invalid"


def test_a_new_token_needs_a_customer_a_free_name_and_room():
    domain.check_new_personal_token(True, ["Heat pump"], "Car charger")
    assert reason(lambda: domain.check_new_personal_token(True, ["Heat pump"], "HEAT PUMP")) == (
        "personal_token.name_taken"
    )
    full = [f"t{i}" for i in range(domain.MAX_ACTIVE_PERSONAL_TOKENS)]
    assert reason(lambda: domain.check_new_personal_token(True, full, "one more")) == "personal_token.limit"
    assert reason(lambda: domain.check_new_personal_token(False, [], "staff")) == "forbidden"


def test_last_use_is_worth_writing_once_a_minute():
    assert domain.personal_token_use_due(None, NOW)
    assert not domain.personal_token_use_due(NOW - timedelta(seconds=59), NOW)
    assert domain.personal_token_use_due(NOW - timedelta(minutes=1), NOW)


def test_customer_numbers_limit_a_token_to_those_the_user_holds():
    granted = frozenset({"1000000001", "1000000002"})
    assert domain.personal_token_customer_numbers([], granted) == []
    assert domain.personal_token_customer_numbers(["1000000002", "1000000002"], granted) == ["1000000002"]
    assert reason(lambda: domain.personal_token_customer_numbers(["1000000003"], granted)) == (
        "personal_token.customer_number_unknown"
    )
    assert domain.personal_token_covers([], "1000000001")
    assert not domain.personal_token_covers(["1000000002"], "1000000001")


def test_introspection_looks_a_personal_token_up_by_its_value_not_among_oauth_tokens():
    value = domain.new_personal_token()
    form = {"content-type": "application/x-www-form-urlencoded"}
    request = oauth.HttpRequest("POST", "https://volta.example/oauth/introspect", form, f"token={value}".encode())
    query = oauth.keys_needed(oauth.Endpoint.INTROSPECTION, request)
    assert query.personal_tokens == {value} and not query.token_hashes
    # revocation does not take personal tokens: they are revoked on the tokens page
    revocation = oauth.keys_needed(oauth.Endpoint.REVOCATION, request)
    assert not revocation.personal_tokens and revocation.token_hashes == {domain.token_hash(value)}


def test_the_page_expires_tokens_after_days_or_at_the_end_of_a_local_day():
    assert token_pages.expiry(views.TokenForm(expires="90"), PRAGUE, NOW) == NOW + timedelta(days=90)
    # the night the clocks go forward: the end of 29 March in Prague is 22:00 UTC, not 23:00
    chosen = views.TokenForm(expires="date", expires_on="2026-03-29")
    assert token_pages.expiry(chosen, PRAGUE, NOW) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    bad_day = views.TokenForm(expires="date", expires_on="29. 3. 2026")
    assert reason(lambda: token_pages.expiry(bad_day, PRAGUE, NOW)) == "date.invalid"
    assert reason(lambda: token_pages.expiry(views.TokenForm(expires="7"), PRAGUE, NOW)) == (
        "personal_token.expiry_invalid"
    )


def test_every_scope_a_token_may_get_has_a_label():
    assert set(views.LABELS["scope"]) == set(authz.SCOPE_CAPABILITIES)
