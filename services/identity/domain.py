"""Pure rules of the identity service: passwords, e-mail for logins, link tokens, TOTP, brute-force throttling,
the sign-in outcome and personal access tokens. No I/O; the servicer calls these and the store runs the SQL."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from kit import authz
from kit.errors import DomainError


class IdentityError(DomainError):
    """A rule of the identity service said no.

    Reasons are part of the contract with the gateway (which translates them) and with the kit's mapping to
    gRPC status codes, so they never change meaning: `credentials.invalid`, `throttled`, `token.invalid`,
    `token.expired`, `token.used`, `email.taken`, `proof.invalid`, `totp.invalid`, `email.unverified`, and
    the `password.*` policy codes.
    """

    def __init__(self, reason: str, message: str = "", *, field: str = "", retry_after: int | None = None):
        super().__init__(reason, message, field=field, retry_after=retry_after)


# --- passwords ---------------------------------------------------------------------------------------

# RFC 9106's first recommendation wants 2 GiB per hash, which several identity replicas on one node cannot
# afford under a burst of logins; the low-memory profile (t=3, 64 MiB, p=4) is the RFC's own second choice
# and still makes every GPU guess cost 64 MiB of memory bandwidth.
_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)

PASSWORD_MIN_LENGTH = 10
# argon2 accepts any length, but a megabyte "password" would let anyone burn our CPU for free
PASSWORD_MAX_LENGTH = 128

# Checked case-insensitively. Only passwords the length rule lets through are worth listing: these are the
# top of public breach lists, plus the local ones (Czech "heslo", Bulgarian "parola", the QWERTZ row).
COMMON_PASSWORDS: frozenset[str] = frozenset(
    {
        "1234567890",
        "12345678910",
        "0987654321",
        "123456789a",
        "a123456789",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "qwertzuiop",
        "asdfghjkl;",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "password12",
        "password123",
        "password1234",
        "password1!",
        "passw0rd123",
        "iloveyou12",
        "iloveyou123",
        "abcdefghij",
        "abcd123456",
        "abc1234567",
        "1111111111",
        "123123123123",
        "heslo12345",
        "heslo123456",
        "hesloheslo",
        "parola1234",
        "parola12345",
        "welcome123",
        "letmein123",
        "football123",
        "monkey12345",
        "dragon12345",
        "sunshine123",
        "princess123",
        "administrator",
        "changeme123",
    }
)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash after a successful login)."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def check_password_policy(password: str, email: str) -> list[str]:
    """Reason codes for what is wrong with a new password; empty when it is acceptable."""
    problems: list[str] = []
    # length in characters as the user sees them, so "é" typed either way counts once
    length = len(unicodedata.normalize("NFC", password))
    if length < PASSWORD_MIN_LENGTH:
        problems.append("password.too_short")
    if length > PASSWORD_MAX_LENGTH:
        problems.append("password.too_long")
    lowered = password.casefold()
    email = normalise_email(email)
    local = email.partition("@")[0]
    # a short local part ("jo@…") would forbid too many innocent passwords
    if email and (email in lowered or (len(local) >= 4 and local in lowered)):
        problems.append("password.contains_email")
    if lowered in COMMON_PASSWORDS or (password and len(set(password)) == 1):
        problems.append("password.too_common")
    return problems


# --- e-mail for logins -------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    """The form logins are stored and looked up by; validation of the address itself is kit.identifiers'."""
    return email.strip().lower()


# --- opaque secrets ----------------------------------------------------------------------------------


def new_token() -> str:
    """256 random bits, URL-safe: for e-mailed links, OAuth codes and tokens, personal access tokens."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored instead of a token: a leaked table then opens nothing.

    A fast hash is enough because the tokens carry 256 random bits; there is nothing to guess.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class LinkPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


EMAIL_VERIFICATION_TTL = timedelta(hours=48)
# short: a reset link in a mailbox is a standing way into the account
PASSWORD_RESET_TTL = timedelta(hours=1)

LINK_TTL: dict[str, timedelta] = {
    LinkPurpose.VERIFY_EMAIL: EMAIL_VERIFICATION_TTL,
    LinkPurpose.RESET_PASSWORD: PASSWORD_RESET_TTL,
}


@dataclass(frozen=True)
class LinkToken:
    """A row of `link_tokens`: the hash of a link e-mailed to a user, valid once until `expires_at`."""

    token_hash: str
    user_id: uuid.UUID
    purpose: str
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(cls, user_id: uuid.UUID, purpose: str, now: datetime) -> tuple[str, LinkToken]:
        """The raw token (for the e-mail only) and the row to store."""
        token = new_token()
        return token, cls(token_hash(token), user_id, purpose, now + LINK_TTL[purpose])

    def use(self, purpose: str, now: datetime) -> LinkToken:
        """The row marked used; raises when the link may not be used (anymore)."""
        if self.purpose != purpose:
            raise IdentityError("token.invalid")
        if self.used_at is not None:
            raise IdentityError("token.used")
        if now >= self.expires_at:
            raise IdentityError("token.expired")
        return replace(self, used_at=now)


def use_link(link: LinkToken | None, purpose: str, now: datetime) -> LinkToken:
    """`LinkToken.use` for a lookup that may have found nothing."""
    if link is None:
        raise IdentityError("token.invalid")
    return link.use(purpose, now)


# --- TOTP (RFC 6238) ---------------------------------------------------------------------------------

TOTP_PERIOD = 30
TOTP_DIGITS = 6
# one step either side absorbs clock drift between the phone and us without widening guessing much
TOTP_WINDOW = 1


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).provisioning_uri(name=email, issuer_name=issuer)


def totp_step(now: datetime) -> int:
    return math.floor(now.timestamp()) // TOTP_PERIOD


def verify_totp(secret: str, code: str, now: datetime, last_used_step: int | None) -> int | None:
    """The time step `code` belongs to, or None.

    A step at or before `last_used_step` is refused so that a code seen over a shoulder or phished cannot be
    replayed; the caller stores the returned step as the new `last_used_step`.
    """
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    current = totp_step(now)
    floor = -1 if last_used_step is None else last_used_step
    # every candidate is compared, so the time taken does not tell which step matched
    matched = [
        step
        for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1)
        if hmac.compare_digest(totp.generate_otp(step), code)
    ]
    return next((step for step in matched if step > floor), None)


# --- brute-force throttling --------------------------------------------------------------------------
#
# A permanent lock would let anyone lock a customer out by typing their e-mail address with wrong passwords.
# Instead every key (account, client address, registration proof) earns a growing delay: the first few
# mistakes are free, then each failure doubles the wait up to a cap. An attacker gets a few guesses an hour;
# the real owner waits at most the cap. The caller checks every key of an attempt before verifying anything
# (so a right password during the delay is refused too, which is what bounds guessing speed) and takes the
# longest wait.

FREE_FAILURES = 3
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=15)
# a key quiet this long starts over, so an old streak of typos does not follow a user for ever
THROTTLE_MEMORY = timedelta(hours=24)


@dataclass(frozen=True)
class Throttle:
    """A row of `throttles`: failures under one key and when the last one happened."""

    failures: int = 0
    last_failure_at: datetime | None = None


@dataclass(frozen=True)
class Allowed:
    pass


@dataclass(frozen=True)
class RetryAfter:
    seconds: int


Decision = Allowed | RetryAfter


def throttle_delay(failures: int) -> timedelta:
    """How long to wait after `failures` consecutive failures: 0 for the first three, then 1 s, 2 s, 4 s …
    up to 15 minutes."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    doublings = failures - FREE_FAILURES - 1
    # 2**10 s already exceeds the cap; stopping there keeps huge counts from building huge numbers
    if doublings >= 10:
        return MAX_DELAY
    return min(FIRST_DELAY * (2**doublings), MAX_DELAY)


def current(state: Throttle, now: datetime) -> Throttle:
    """The state with a long-quiet streak forgotten."""
    if state.last_failure_at is None or now - state.last_failure_at >= THROTTLE_MEMORY:
        return Throttle()
    return state


def retry_after(state: Throttle, now: datetime) -> int:
    """Whole seconds until the next attempt under this key is heard; 0 when it may go ahead now."""
    state = current(state, now)
    if state.last_failure_at is None:
        return 0
    wait = state.last_failure_at + throttle_delay(state.failures) - now
    if wait <= timedelta(0):
        return 0
    return math.ceil(wait.total_seconds())


def check(state: Throttle, now: datetime) -> Decision:
    seconds = retry_after(state, now)
    return RetryAfter(seconds) if seconds else Allowed()


def check_all(states: list[Throttle], now: datetime) -> Decision:
    """All keys of one attempt (account and address): the stricter decision wins."""
    seconds = max((retry_after(s, now) for s in states), default=0)
    return RetryAfter(seconds) if seconds else Allowed()


def ensure_allowed(states: list[Throttle], now: datetime) -> None:
    decision = check_all(states, now)
    if isinstance(decision, RetryAfter):
        raise IdentityError("throttled", retry_after=decision.seconds)


def record_failure(state: Throttle, now: datetime) -> Throttle:
    return Throttle(current(state, now).failures + 1, now)


def record_success(state: Throttle) -> Throttle:
    """Clears an account key after a successful sign-in.

    Only the account's key: an attacker who owns one account could otherwise reset the counter of the address
    they guess other accounts from.
    """
    return Throttle()


def login_throttle_keys(email: str, client_address: str) -> list[str]:
    """Account key first: it is the one a successful sign-in clears."""
    return [f"account:{normalise_email(email)}", f"address:{client_address}"]


def proof_throttle_keys(client_address: str, customer_number: str) -> list[str]:
    """Registration proofs (customer number with invoice data or an authorization code) are guessable
    secrets too: throttled per address and per customer number."""
    return [f"proof:{client_address}", f"proof-number:{customer_number.strip()}"]


# --- sign-in outcome ---------------------------------------------------------------------------------


class LoginOutcome(StrEnum):
    OK = "ok"
    TOTP_REQUIRED = "totp_required"
    THROTTLED = "throttled"
    CREDENTIALS_INVALID = "credentials.invalid"
    TOTP_INVALID = "totp.invalid"
    EMAIL_UNVERIFIED = "email.unverified"


# the outcomes that count as a guess against the throttle keys
FAILED_OUTCOMES = frozenset({LoginOutcome.CREDENTIALS_INVALID, LoginOutcome.TOTP_INVALID})


@dataclass(frozen=True)
class LoginAttempt:
    """What the servicer found out about one sign-in attempt."""

    throttle: Decision
    user_found: bool
    user_active: bool
    password_ok: bool
    email_verified: bool = False
    totp_enabled: bool = False
    totp_code_given: bool = False
    # the code matched a step after the last used one (verify_totp returned a step)
    totp_ok: bool = False


def login_outcome(attempt: LoginAttempt) -> LoginOutcome:
    """password ok → (TOTP if enabled) → ok.

    An unknown e-mail, a wrong password and a closed account give the same outcome, so the answer does not
    reveal which accounts exist; whether the e-mail is verified is told only to whoever knows the password.
    """
    if isinstance(attempt.throttle, RetryAfter):
        return LoginOutcome.THROTTLED
    if not (attempt.user_found and attempt.user_active and attempt.password_ok):
        return LoginOutcome.CREDENTIALS_INVALID
    if not attempt.email_verified:
        return LoginOutcome.EMAIL_UNVERIFIED
    if attempt.totp_enabled:
        if not attempt.totp_code_given:
            return LoginOutcome.TOTP_REQUIRED
        if not attempt.totp_ok:
            return LoginOutcome.TOTP_INVALID
    return LoginOutcome.OK


# --- personal access tokens --------------------------------------------------------------------------
#
# A customer's own tokens for scripts and home automation: a bearer token that works on the JSON API within its
# scopes, without the second factor an interactive sign-in asks for. So a token carries no more than the user
# holds at the time of each use (grants ∩ scopes), never access:manage (not a scope at all), and cannot make
# further tokens (identity takes those calls from a signed-in user only).

# recognisable in logs, config files and by secret scanners; the rest is 256 random bits
PERSONAL_TOKEN_PREFIX = "ep_pat_"
# what a personal token's holder is called where an OAuth client's id would be (resolution, introspection); no
# OAuth client can have it, as clients are configured, not registered by anyone
PERSONAL_TOKEN_CLIENT_ID = "personal-token"
PERSONAL_TOKEN_NAME_MAX = 80
MAX_ACTIVE_PERSONAL_TOKENS = 20
# a year, plus the rest of the last day when the customer picks a date a year ahead
PERSONAL_TOKEN_MAX_LIFETIME = timedelta(days=366)
# the list keeps expired tokens this long, so a script that stopped working shows why
EXPIRED_TOKENS_LISTED = timedelta(days=30)
# last use is recorded at most this often per token, so a script polling every second does not write every second
LAST_USED_PRECISION = timedelta(minutes=1)


def new_personal_token() -> str:
    return PERSONAL_TOKEN_PREFIX + new_token()


def is_personal_token(value: str) -> bool:
    return value.startswith(PERSONAL_TOKEN_PREFIX)


def personal_token_hash(key: bytes, token: str) -> str:
    """Keyed, unlike `token_hash`: the table and a leaked backup are worthless without the deployment's secret."""
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def personal_token_name(name: str) -> str:
    """The name as stored: trimmed, composed, without control characters (it is shown in lists and e-mails)."""
    cleaned = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip()
    if not cleaned:
        raise DomainError("personal_token.name_required", field="name")
    if len(cleaned) > PERSONAL_TOKEN_NAME_MAX:
        raise DomainError("personal_token.name_too_long", field="name", params={"max": str(PERSONAL_TOKEN_NAME_MAX)})
    return cleaned


def personal_token_scopes(scopes: list[str]) -> list[str]:
    """The scopes as stored: known ones only, each once, in the order `kit.authz` lists them."""
    wanted = set(scopes)
    if not wanted:
        raise DomainError("personal_token.scopes_required", field="scopes")
    if not wanted <= authz.SCOPE_CAPABILITIES.keys():
        raise DomainError("personal_token.scope_unknown", field="scopes")
    return [s for s in authz.SCOPE_CAPABILITIES if s in wanted]


def personal_token_customer_numbers(requested: list[str], granted: frozenset[str]) -> list[str]:
    """The customer numbers a token is limited to (empty: all the user's); only numbers the user holds now."""
    wanted = sorted(set(requested))
    if not set(wanted) <= granted:
        raise DomainError("personal_token.customer_number_unknown", field="customer_numbers")
    return wanted


def personal_token_expiry(expires_at: datetime | None, now: datetime) -> datetime:
    if expires_at is None or expires_at <= now or expires_at - now > PERSONAL_TOKEN_MAX_LIFETIME:
        raise DomainError("personal_token.expiry_invalid", field="expires_at")
    return expires_at


def check_new_personal_token(is_customer: bool, live_names: list[str], name: str) -> None:
    """Whether the user may add a token named `name` next to their live ones (checked under a lock on the user)."""
    if not is_customer:
        # staff act for the whole tenant; a bearer token of theirs outside the console would be a master key
        raise DomainError("forbidden")
    if len(live_names) >= MAX_ACTIVE_PERSONAL_TOKENS:
        raise DomainError("personal_token.limit", params={"max": str(MAX_ACTIVE_PERSONAL_TOKENS)})
    if name.casefold() in {n.casefold() for n in live_names}:
        raise DomainError("personal_token.name_taken", field="name")


def personal_token_live(revoked_at: datetime | None, expires_at: datetime, now: datetime) -> bool:
    return revoked_at is None and now < expires_at


def personal_token_use_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a use is worth writing down; the store checks again, for uses racing each other."""
    return last_used_at is None or now - last_used_at >= LAST_USED_PRECISION


def personal_token_covers(customer_numbers: list[str], customer_number: str) -> bool:
    """Whether a token limited to `customer_numbers` (empty: not limited) may act for `customer_number`."""
    return not customer_numbers or customer_number in customer_numbers
