"""Pure rules of the identity service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from kit.errors import DomainError, status_of
from services.identity import domain
from services.identity.domain import (
    Allowed,
    IdentityError,
    LinkPurpose,
    LinkToken,
    LoginAttempt,
    LoginOutcome,
    RetryAfter,
    Throttle,
)

NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)


def reason_of(fn, *args, **kwargs) -> str:
    with pytest.raises(IdentityError) as exc:
        fn(*args, **kwargs)
    return exc.value.reason


# --- errors ------------------------------------------------------------------------------------------


def test_identity_error_is_a_domain_error_with_stable_reason() -> None:
    err = IdentityError("throttled", retry_after=7)
    assert isinstance(err, DomainError)
    assert (err.reason, err.retry_after) == ("throttled", 7)
    assert err.status == status_of("throttled")


# --- passwords ---------------------------------------------------------------------------------------


def test_password_hash_round_trip() -> None:
    hashed = domain.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in hashed
    assert domain.verify_password(hashed, "correct horse battery")
    assert not domain.verify_password(hashed, "correct horse batterY")
    assert not domain.needs_rehash(hashed)


def test_password_verify_tolerates_garbage_hashes() -> None:
    assert not domain.verify_password("not-a-hash", "whatever")
    assert not domain.verify_password("", "whatever")
    assert domain.needs_rehash("not-a-hash")


def test_weaker_hash_needs_rehash_but_still_verifies() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery")
    assert domain.verify_password(weak, "correct horse battery")
    assert domain.needs_rehash(weak)


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Tr0ub4dor&3x", []),
        ("short", ["password.too_short"]),
        ("123456789", ["password.too_short"]),
        ("x" * 129 + "y", ["password.too_long"]),
        ("a" * 9 + "b" * 119, []),
        ("1234567890", ["password.too_common"]),
        ("QwertzUIOP", ["password.too_common"]),
        ("Heslo12345", ["password.too_common"]),
        ("zzzzzzzzzzzz", ["password.too_common"]),
        ("jana.novakova@volta.example", ["password.contains_email"]),
        ("my-JANA.NOVAKOVA-secret", ["password.contains_email"]),
        ("Jana.Novakova1", ["password.contains_email"]),
    ],
)
def test_password_policy(password: str, codes: list[str]) -> None:
    assert domain.check_password_policy(password, " Jana.Novakova@Volta.example ") == codes


def test_password_policy_counts_characters_not_bytes() -> None:
    assert domain.check_password_policy("žluťoučký9", "x@y.cz") == []
    assert domain.check_password_policy("паролапар", "x@y.bg") == ["password.too_short"]


def test_short_local_part_does_not_forbid_innocent_passwords() -> None:
    assert domain.check_password_policy("jo-jo-jo-banana-42", "jo@volta.example") == []


# --- e-mail and opaque secrets -----------------------------------------------------------------------


def test_normalise_email() -> None:
    assert domain.normalise_email("  Jana.Novakova@Volta.EXAMPLE\n") == "jana.novakova@volta.example"


def test_tokens_are_random_and_stored_as_sha256() -> None:
    a, b = domain.new_token(), domain.new_token()
    assert a != b and len(a) >= 43
    assert domain.token_hash(a) != a
    assert len(domain.token_hash(a)) == 64
    assert domain.token_hash(a) == domain.token_hash(a)


# --- link tokens -------------------------------------------------------------------------------------


def test_link_lifetimes() -> None:
    user = uuid.uuid4()
    raw, verify = LinkToken.issue(user, LinkPurpose.VERIFY_EMAIL, NOW)
    assert verify.token_hash == domain.token_hash(raw)
    assert verify.expires_at - NOW == timedelta(hours=48)
    _, reset = LinkToken.issue(user, LinkPurpose.RESET_PASSWORD, NOW)
    assert reset.expires_at - NOW == timedelta(hours=1)


def test_link_is_single_use_and_expires() -> None:
    _, link = LinkToken.issue(uuid.uuid4(), LinkPurpose.RESET_PASSWORD, NOW)
    used = link.use(LinkPurpose.RESET_PASSWORD, NOW + timedelta(minutes=59))
    assert used.used_at == NOW + timedelta(minutes=59)
    assert reason_of(used.use, LinkPurpose.RESET_PASSWORD, NOW + timedelta(minutes=59)) == "token.used"
    assert reason_of(link.use, LinkPurpose.RESET_PASSWORD, NOW + timedelta(hours=1)) == "token.expired"
    assert reason_of(link.use, LinkPurpose.VERIFY_EMAIL, NOW) == "token.invalid"
    assert reason_of(domain.use_link, None, LinkPurpose.RESET_PASSWORD, NOW) == "token.invalid"


# --- TOTP --------------------------------------------------------------------------------------------


def test_totp_accepts_one_step_either_side_and_returns_the_step() -> None:
    secret = domain.new_totp_secret()
    totp = pyotp.TOTP(secret)
    step = domain.totp_step(NOW)
    for offset in (-1, 0, 1):
        code = totp.at(NOW + timedelta(seconds=30 * offset))
        assert domain.verify_totp(secret, code, NOW, 0) == step + offset
    for offset in (-2, 2):
        assert domain.verify_totp(secret, totp.at(NOW + timedelta(seconds=30 * offset)), NOW, 0) is None


def test_totp_code_cannot_be_replayed() -> None:
    secret = domain.new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW)
    step = domain.verify_totp(secret, code, NOW, None)
    assert step is not None
    assert domain.verify_totp(secret, code, NOW, step) is None
    assert domain.verify_totp(secret, code, NOW + timedelta(seconds=20), step) is None
    # an older code is no good after a newer one was used
    older = pyotp.TOTP(secret).at(NOW - timedelta(seconds=30))
    assert domain.verify_totp(secret, older, NOW, step) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_totp_rejects_malformed_codes(code: str) -> None:
    assert domain.verify_totp(domain.new_totp_secret(), code, NOW, 0) is None


def test_totp_tolerates_spaces_in_the_code() -> None:
    secret = domain.new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW)
    assert domain.verify_totp(secret, f" {code[:3]} {code[3:]} ", NOW, 0) == domain.totp_step(NOW)


def test_provisioning_uri() -> None:
    secret = domain.new_totp_secret()
    uri = domain.provisioning_uri(secret, "jana@volta.example", "Volta Energie")
    assert uri.startswith("otpauth://totp/Volta%20Energie:jana%40volta.example?")
    assert f"secret={secret}" in uri and "issuer=Volta%20Energie" in uri
    parsed = pyotp.parse_uri(uri)
    assert parsed.now() == pyotp.TOTP(secret).now()


# --- throttling --------------------------------------------------------------------------------------


def test_throttle_delays() -> None:
    delays = [domain.throttle_delay(n).total_seconds() for n in range(0, 16)]
    assert delays == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert domain.throttle_delay(10**9) == timedelta(minutes=15)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_throttle_delay_is_monotonic_and_capped(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert domain.throttle_delay(low) <= domain.throttle_delay(high) <= domain.MAX_DELAY
    assert domain.throttle_delay(low) >= timedelta(0)


def _fail(state: Throttle, times: int, at: datetime) -> Throttle:
    for _ in range(times):
        state = domain.record_failure(state, at)
    return state


def test_first_failures_are_free_then_a_delay_applies() -> None:
    state = _fail(Throttle(), 3, NOW)
    assert domain.check(state, NOW) == Allowed()
    state = domain.record_failure(state, NOW)
    assert domain.check(state, NOW) == RetryAfter(1)
    assert domain.check(state, NOW + timedelta(seconds=1)) == Allowed()
    state = _fail(state, 3, NOW)
    assert domain.check(state, NOW) == RetryAfter(8)
    assert domain.check(state, NOW + timedelta(seconds=7, milliseconds=1)) == RetryAfter(1)


def test_throttle_never_locks_longer_than_the_cap() -> None:
    state = _fail(Throttle(), 500, NOW)
    assert domain.check(state, NOW) == RetryAfter(900)
    assert domain.check(state, NOW + timedelta(minutes=15)) == Allowed()


def test_throttle_forgets_after_a_quiet_day() -> None:
    state = _fail(Throttle(), 10, NOW)
    later = NOW + timedelta(hours=24)
    assert domain.current(state, later) == Throttle()
    assert domain.record_failure(state, later) == Throttle(1, later)
    # not quiet long enough: the streak goes on
    assert domain.record_failure(state, NOW + timedelta(hours=23)).failures == 11


def test_stricter_key_wins_and_success_clears() -> None:
    account = _fail(Throttle(), 6, NOW)
    address = _fail(Throttle(), 9, NOW)
    assert domain.check_all([account, address], NOW) == RetryAfter(32)
    assert domain.check_all([Throttle(), account], NOW) == RetryAfter(4)
    assert domain.check_all([], NOW) == Allowed()
    assert domain.record_success(account) == Throttle()
    with pytest.raises(IdentityError) as exc:
        domain.ensure_allowed([account, address], NOW)
    assert (exc.value.reason, exc.value.retry_after) == ("throttled", 32)
    domain.ensure_allowed([account, address], NOW + timedelta(seconds=32))


@given(
    st.integers(min_value=0, max_value=60),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
)
def test_retry_after_is_bounded_by_the_cap(failures: int, elapsed: timedelta) -> None:
    state = _fail(Throttle(), failures, NOW)
    wait = domain.retry_after(state, NOW + elapsed)
    assert 0 <= wait <= domain.MAX_DELAY.total_seconds()
    if wait:
        assert isinstance(domain.check(state, NOW + elapsed), RetryAfter)


def test_throttle_keys() -> None:
    assert domain.login_throttle_keys(" Jana@Volta.example", "10.0.0.7") == [
        "account:jana@volta.example",
        "address:10.0.0.7",
    ]
    assert domain.proof_throttle_keys("10.0.0.7", " 1000123 ") == ["proof:10.0.0.7", "proof-number:1000123"]


# --- sign-in outcome ---------------------------------------------------------------------------------

GOOD = LoginAttempt(throttle=Allowed(), user_found=True, user_active=True, password_ok=True, email_verified=True)


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({}, LoginOutcome.OK),
        ({"throttle": RetryAfter(4)}, LoginOutcome.THROTTLED),
        ({"user_found": False, "password_ok": False}, LoginOutcome.CREDENTIALS_INVALID),
        ({"password_ok": False}, LoginOutcome.CREDENTIALS_INVALID),
        ({"user_active": False}, LoginOutcome.CREDENTIALS_INVALID),
        ({"email_verified": False}, LoginOutcome.EMAIL_UNVERIFIED),
        ({"email_verified": False, "password_ok": False}, LoginOutcome.CREDENTIALS_INVALID),
        ({"totp_enabled": True}, LoginOutcome.TOTP_REQUIRED),
        ({"totp_enabled": True, "totp_code_given": True}, LoginOutcome.TOTP_INVALID),
        ({"totp_enabled": True, "totp_code_given": True, "totp_ok": True}, LoginOutcome.OK),
        # a right password while throttled is still refused: that is what bounds guessing speed
        ({"throttle": RetryAfter(1), "totp_enabled": True, "totp_ok": True}, LoginOutcome.THROTTLED),
    ],
)
def test_login_outcome(changes: dict, outcome: LoginOutcome) -> None:
    from dataclasses import replace

    assert domain.login_outcome(replace(GOOD, **changes)) == outcome


def test_only_guesses_count_as_failures() -> None:
    assert domain.FAILED_OUTCOMES == {LoginOutcome.CREDENTIALS_INVALID, LoginOutcome.TOTP_INVALID}
