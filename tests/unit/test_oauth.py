"""The OAuth2/OIDC authorization server core, driven through `handle()` with snapshots built here.

`Rows` plays the caller: it loads what `keys_needed` names into a `Snapshot` and applies `Changes` the way the
store does, so the flows below go through the same two steps as the servicer.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet

from services.identity.domain import token_hash
from services.identity.oauth import (
    LOGIN_REQUIRED_HEADER,
    Changes,
    Client,
    CodeRow,
    Endpoint,
    HttpRequest,
    HttpResponse,
    Snapshot,
    SnapshotQuery,
    TokenRow,
    User,
    discovery,
    handle,
    jwks,
    keys_needed,
    new_signing_key,
    redirect_uri_matches,
)

ISSUER = "https://volta.example"
NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
SIGNED_IN_AT = NOW - timedelta(minutes=5)
KEY = new_signing_key()
OLD_KEY = new_signing_key("ES256")

CLI = Client(
    client_id="portal-cli",
    redirect_uris=("http://127.0.0.1/callback", "http://localhost/callback"),
    scopes=("openid", "profile", "email", "offline_access", "invoices:read"),
)
WEB_SECRET = "web-secret-" + "x" * 32
WEB = Client(
    client_id="portal-web",
    redirect_uris=("https://volta.example/auth/callback", "http://volta.localhost/auth/callback"),
    scopes=("openid", "profile", "email", "offline_access"),
    secret_hash=token_hash(WEB_SECRET),
    trusted=True,
)
APP_SECRET = "app-secret-" + "y" * 32
APP = Client(
    client_id="budget-app",
    redirect_uris=("https://budget.example/cb",),
    scopes=("openid", "invoices:read"),
    secret_hash=token_hash(APP_SECRET),
)
JANA = User(id=uuid.uuid4(), email="jana@volta.example", email_verified=True, locale="cs")
CLOSED = User(id=uuid.uuid4(), email="old@volta.example", email_verified=True, locale="cs", active=False)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def form(url: str, data: dict[str, str], headers: dict[str, str] | None = None) -> HttpRequest:
    return HttpRequest(
        "POST",
        url,
        {"content-type": "application/x-www-form-urlencoded", **(headers or {})},
        urlencode(data).encode(),
    )


@dataclasses.dataclass
class Rows:
    """The caller's side: rows by key, loaded into snapshots and changed by `Changes`."""

    clients: tuple[Client, ...] = (CLI, WEB, APP)
    users: tuple[User, ...] = (JANA, CLOSED)
    keys: tuple[dict, ...] = (KEY, OLD_KEY)
    codes: dict[str, CodeRow] = dataclasses.field(default_factory=dict)
    tokens: dict[uuid.UUID, TokenRow] = dataclasses.field(default_factory=dict)

    def snapshot(self, query: SnapshotQuery, signed_in: uuid.UUID | None = None) -> Snapshot:
        codes = tuple(c for h, c in self.codes.items() if h in query.code_hashes)
        tokens = tuple(t for t in self.tokens.values() if {t.access_hash, t.refresh_hash} & set(query.token_hashes))
        user_ids = {c.user_id for c in codes} | {t.user_id for t in tokens}
        return Snapshot(
            issuer=ISSUER,
            clients=tuple(c for c in self.clients if c.client_id in query.client_ids),
            codes=codes,
            tokens=tokens,
            users=tuple(u for u in self.users if u.id in user_ids),
            signing_keys=self.keys if query.signing_keys else (),
            signed_in_user=signed_in if query.signed_in_user else None,
            signed_in_at=SIGNED_IN_AT if query.signed_in_user and signed_in else None,
        )

    def apply(self, changes: Changes, now: datetime) -> None:
        for code in changes.new_codes:
            self.codes[code.code_hash] = code
        for code_hash in changes.used_codes:
            self.codes[code_hash] = dataclasses.replace(self.codes[code_hash], used_at=now)
        for token in changes.new_tokens:
            self.tokens[token.id] = token
        for token_id in changes.rotated_tokens:
            self.tokens[token_id] = dataclasses.replace(self.tokens[token_id], rotated_at=now)
        for token_id in changes.revoked_tokens:
            self.tokens[token_id] = dataclasses.replace(self.tokens[token_id], revoked_at=now)
        for family in changes.revoked_families:
            for t in list(self.tokens.values()):
                if t.family_id == family and t.revoked_at is None:
                    self.tokens[t.id] = dataclasses.replace(t, revoked_at=now)

    def call(
        self,
        endpoint: Endpoint,
        request: HttpRequest,
        now: datetime = NOW,
        signed_in: uuid.UUID | None = None,
    ) -> tuple[HttpResponse, Changes]:
        snapshot = self.snapshot(keys_needed(endpoint, request), signed_in)
        response, changes = handle(endpoint, request, snapshot, now)
        self.apply(changes, now)
        return response, changes

    # --- steps of the flows ---

    def authorize(
        self,
        client_id: str = "portal-cli",
        redirect_uri: str = "http://127.0.0.1:53682/callback",
        scope: str = "openid email profile offline_access",
        challenge: str | None = None,
        signed_in: uuid.UUID | None = JANA.id,
        now: datetime = NOW,
        **extra: str,
    ) -> tuple[HttpResponse, Changes]:
        params = {"response_type": "code", "client_id": client_id, "scope": scope, "state": "st-1"}
        if redirect_uri:
            params["redirect_uri"] = redirect_uri
        if challenge is not None:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        params.update(extra)
        request = HttpRequest("GET", f"{ISSUER}/oauth/authorize?{urlencode(params)}", {}, b"")
        return self.call(Endpoint.AUTHORIZE, request, now, signed_in)

    def code_for(self, **kwargs: str) -> tuple[str, str, str]:
        """(code, verifier, redirect_uri) from a successful authorize."""
        verifier, challenge = pkce()
        redirect_uri = kwargs.pop("redirect_uri", "http://127.0.0.1:53682/callback")
        response, _ = self.authorize(challenge=challenge, redirect_uri=redirect_uri, **kwargs)
        assert response.status == 302, response.body
        return query_of(response)["code"], verifier, redirect_uri

    def exchange(
        self,
        code: str,
        verifier: str,
        redirect_uri: str,
        client_id: str = "portal-cli",
        headers: dict[str, str] | None = None,
        now: datetime = NOW,
    ) -> tuple[HttpResponse, Changes]:
        data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
        if redirect_uri:
            data["redirect_uri"] = redirect_uri
        if headers is None:
            data["client_id"] = client_id
        return self.call(Endpoint.TOKEN, form(f"{ISSUER}/oauth/token", data, headers), now)

    def refresh(
        self, refresh_token: str, client_id: str = "portal-cli", now: datetime = NOW, **extra: str
    ) -> tuple[HttpResponse, Changes]:
        data = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            **extra,
        }
        return self.call(Endpoint.TOKEN, form(f"{ISSUER}/oauth/token", data), now)

    def login(self, **kwargs: str) -> dict:
        code, verifier, redirect_uri = self.code_for(**kwargs)
        response, _ = self.exchange(code, verifier, redirect_uri)
        assert response.status == 200, response.body
        return response.json()

    def introspect(self, token: str, headers: dict[str, str] | None = None, now: datetime = NOW) -> HttpResponse:
        request = form(f"{ISSUER}/oauth/introspect", {"token": token}, headers or basic("portal-web", WEB_SECRET))
        return self.call(Endpoint.INTROSPECTION, request, now)[0]


def query_of(response: HttpResponse) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def error_of(response: HttpResponse) -> str:
    if response.status == 302:
        return query_of(response)["error"]
    return response.json()["error"]


@pytest.fixture
def rows() -> Rows:
    return Rows()


# --- authorization code flow with PKCE ---------------------------------------------------------------


def test_full_code_flow_issues_tokens_and_a_verifiable_id_token(rows: Rows) -> None:
    verifier, challenge = pkce()
    response, changes = rows.authorize(challenge=challenge, nonce="n-0S6_WzA2Mj")
    assert response.status == 302
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:53682", "/callback")
    params = query_of(response)
    assert params["state"] == "st-1"
    assert params["iss"] == ISSUER
    [stored] = changes.new_codes
    assert stored.code_hash == token_hash(params["code"]) != params["code"]
    assert (stored.client_id, stored.user_id, stored.code_challenge_method) == ("portal-cli", JANA.id, "S256")
    assert stored.expires_at == NOW + timedelta(seconds=60)
    assert stored.nonce == "n-0S6_WzA2Mj"
    assert not (changes.new_tokens or changes.used_codes)

    response, changes = rows.exchange(params["code"], verifier, "http://127.0.0.1:53682/callback")
    assert response.status == 200, response.body
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "openid email profile offline_access"
    assert changes.used_codes == (stored.code_hash,)
    [row] = changes.new_tokens
    assert row.access_hash == token_hash(body["access_token"])
    assert row.refresh_hash == token_hash(body["refresh_token"])
    assert row.access_expires_at == NOW + timedelta(minutes=10)
    assert row.refresh_expires_at == NOW + timedelta(days=30)
    assert (row.client_id, row.user_id) == ("portal-cli", JANA.id)
    # raw secrets never reach what gets persisted
    persisted = repr(changes)
    for secret in (params["code"], body["access_token"], body["refresh_token"]):
        assert secret not in persisted

    token = jwt.decode(body["id_token"], KeySet.import_key_set(jwks([KEY, OLD_KEY])), algorithms=["RS256"])
    assert token.header["kid"] == KEY["kid"]
    assert token.header["alg"] == "RS256"
    claims = token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "portal-cli"
    assert claims["sub"] == str(JANA.id)
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["email"] == JANA.email and claims["email_verified"] is True
    assert claims["locale"] == "cs"
    assert claims["iat"] == int(NOW.timestamp())
    assert claims["exp"] == int((NOW + timedelta(minutes=10)).timestamp())
    assert claims["auth_time"] == int(SIGNED_IN_AT.timestamp())
    assert "at_hash" in claims


def test_id_token_with_an_es256_key() -> None:
    rows = Rows(keys=(OLD_KEY,))
    body = rows.login()
    token = jwt.decode(body["id_token"], KeySet.import_key_set(jwks([OLD_KEY])), algorithms=["ES256"])
    assert token.header["kid"] == OLD_KEY["kid"]


def test_no_id_token_without_openid_scope(rows: Rows) -> None:
    body = rows.login(scope="invoices:read offline_access")
    assert "id_token" not in body
    assert body["scope"] == "invoices:read offline_access"


def test_confidential_client_authenticates_with_basic(rows: Rows) -> None:
    redirect = "https://volta.example/auth/callback"
    code, verifier, _ = rows.code_for(client_id="portal-web", redirect_uri=redirect)
    wrong = basic("portal-web", "not-the-secret")
    response, changes = rows.exchange(code, verifier, redirect, headers=wrong)
    assert (response.status, error_of(response), changes) == (401, "invalid_client", Changes())
    # a confidential client cannot pass as a public one by leaving the secret out
    response, changes = rows.exchange(code, verifier, redirect, client_id="portal-web")
    assert (response.status, error_of(response), changes) == (401, "invalid_client", Changes())
    response, changes = rows.exchange(code, verifier, redirect, headers=basic("portal-web", WEB_SECRET))
    assert response.status == 200, response.body
    assert "id_token" in response.json()


def test_wrong_verifier_is_invalid_grant_and_changes_nothing(rows: Rows) -> None:
    code, _, redirect = rows.code_for()
    other_verifier, _ = pkce()
    response, changes = rows.exchange(code, other_verifier, redirect)
    assert (response.status, error_of(response)) == (400, "invalid_grant")
    assert changes == Changes() and not changes


def test_missing_verifier_is_refused(rows: Rows) -> None:
    code, _, redirect = rows.code_for()
    response, changes = rows.call(
        Endpoint.TOKEN,
        form(
            f"{ISSUER}/oauth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": "portal-cli",
            },
        ),
    )
    assert response.status == 400 and error_of(response) == "invalid_request"
    assert not changes


def test_code_is_single_use(rows: Rows) -> None:
    code, verifier, redirect = rows.code_for()
    assert rows.exchange(code, verifier, redirect)[0].status == 200
    response, changes = rows.exchange(code, verifier, redirect, now=NOW + timedelta(seconds=1))
    assert (response.status, error_of(response)) == (400, "invalid_grant")
    assert not changes


def test_expired_code(rows: Rows) -> None:
    code, verifier, redirect = rows.code_for()
    response, changes = rows.exchange(code, verifier, redirect, now=NOW + timedelta(seconds=60))
    assert (response.status, error_of(response)) == (400, "invalid_grant")
    assert not changes
    response, _ = rows.exchange(code, verifier, redirect, now=NOW + timedelta(seconds=59))
    assert response.status == 200


def test_code_of_another_client(rows: Rows) -> None:
    code, verifier, _ = rows.code_for(client_id="portal-web", redirect_uri="https://volta.example/auth/callback")
    response, changes = rows.exchange(code, verifier, "https://volta.example/auth/callback")
    assert (response.status, error_of(response)) == (400, "invalid_grant")
    assert not changes


def test_redirect_uri_must_be_repeated_exactly(rows: Rows) -> None:
    code, verifier, _ = rows.code_for(redirect_uri="http://127.0.0.1:53682/callback")
    response, changes = rows.exchange(code, verifier, "http://127.0.0.1:53683/callback")
    assert (response.status, error_of(response)) == (400, "invalid_grant")
    assert not changes


def test_code_of_a_closed_account(rows: Rows) -> None:
    code, verifier, redirect = rows.code_for(signed_in=CLOSED.id)
    response, changes = rows.exchange(code, verifier, redirect)
    assert (response.status, error_of(response)) == (400, "invalid_grant")
    assert not changes


# --- authorize: errors, login, consent ---------------------------------------------------------------


def test_pkce_is_required_and_s256_only(rows: Rows) -> None:
    response, changes = rows.authorize(challenge=None)
    assert (response.status, error_of(response)) == (302, "invalid_request")
    assert query_of(response)["state"] == "st-1"
    assert not changes
    _, challenge = pkce()
    response, _ = rows.authorize(code_challenge=challenge, code_challenge_method="plain")
    assert error_of(response) == "invalid_request"
    response, _ = rows.authorize(code_challenge=challenge)
    assert error_of(response) == "invalid_request"
    # confidential clients too
    response, _ = rows.authorize(client_id="portal-web", redirect_uri="https://volta.example/auth/callback")
    assert (response.status, error_of(response)) == (302, "invalid_request")


def test_not_signed_in_asks_the_gateway_for_the_login_page(rows: Rows) -> None:
    _, challenge = pkce()
    response, changes = rows.authorize(challenge=challenge, signed_in=None)
    assert response.status == 401
    assert response.headers[LOGIN_REQUIRED_HEADER] == "1"
    assert not changes
    response, _ = rows.authorize(challenge=challenge, signed_in=None, prompt="none")
    assert (response.status, error_of(response)) == (302, "login_required")


def test_prompt_login_and_max_age_want_a_fresh_sign_in(rows: Rows) -> None:
    _, challenge = pkce()
    response, _ = rows.authorize(challenge=challenge, prompt="login")
    assert response.status == 401 and LOGIN_REQUIRED_HEADER in response.headers
    # right after the login page the same URL comes back: now it goes through
    response, _ = rows.authorize(challenge=challenge, prompt="login", now=SIGNED_IN_AT + timedelta(seconds=30))
    assert response.status == 302 and "code" in query_of(response)
    response, _ = rows.authorize(challenge=challenge, max_age="60")
    assert response.status == 401
    response, _ = rows.authorize(challenge=challenge, max_age="3600")
    assert response.status == 302 and "code" in query_of(response)


def test_third_party_clients_need_consent_which_does_not_exist_yet(rows: Rows) -> None:
    _, challenge = pkce()
    response, changes = rows.authorize(
        client_id="budget-app", redirect_uri="https://budget.example/cb", scope="openid", challenge=challenge
    )
    assert (response.status, error_of(response)) == (302, "consent_required")
    assert response.headers["location"].startswith("https://budget.example/cb?")
    assert not changes


def test_unknown_client_or_bad_redirect_shows_an_error_instead_of_redirecting(rows: Rows) -> None:
    _, challenge = pkce()
    response, changes = rows.authorize(client_id="nobody", challenge=challenge)
    assert (response.status, error_of(response)) == (400, "invalid_client")
    assert "location" not in response.headers and not changes
    response, _ = rows.authorize(redirect_uri="https://evil.example/callback", challenge=challenge)
    assert (response.status, error_of(response)) == (400, "invalid_request")
    assert "location" not in response.headers
    # several registered URIs: the request has to name one
    response, _ = rows.authorize(redirect_uri="", challenge=challenge)
    assert response.status == 400 and "location" not in response.headers


def test_single_registered_redirect_uri_is_the_default(rows: Rows) -> None:
    rows.clients = (dataclasses.replace(CLI, redirect_uris=("http://127.0.0.1/callback",)),)
    code, verifier, _ = rows.code_for(redirect_uri="")
    response, _ = rows.exchange(code, verifier, "")
    assert response.status == 200


def test_scopes_are_limited_to_the_client(rows: Rows) -> None:
    _, challenge = pkce()
    response, changes = rows.authorize(challenge=challenge, scope="openid consumption:read")
    assert response.status == 302
    assert changes.new_codes[0].scope == "openid"
    response, _ = rows.authorize(challenge=challenge, scope="admin")
    assert error_of(response) == "invalid_scope"
    response, _ = rows.authorize(challenge=challenge, scope="")
    assert error_of(response) == "invalid_scope"


def test_unsupported_response_type(rows: Rows) -> None:
    _, challenge = pkce()
    response, _ = rows.authorize(challenge=challenge, response_type="token")
    assert (response.status, error_of(response)) == (302, "unsupported_response_type")


# --- loopback redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "requested", "ok"),
    [
        ("http://127.0.0.1/callback", "http://127.0.0.1/callback", True),
        ("http://127.0.0.1/callback", "http://127.0.0.1:53682/callback", True),
        ("http://localhost/callback", "http://localhost:8080/callback", True),
        ("http://[::1]/callback", "http://[::1]:8080/callback", True),
        ("http://127.0.0.1:9000/callback", "http://127.0.0.1:9001/callback", True),
        ("http://volta.localhost/auth/callback", "http://volta.localhost:8123/auth/callback", True),
        ("http://127.0.0.1/callback", "http://127.0.0.1:53682/other", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:53682/callback?x=1", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:53682/callback#frag", False),
        ("http://127.0.0.1/callback", "https://127.0.0.1:53682/callback", False),
        ("http://127.0.0.1/callback", "http://localhost:53682/callback", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1.evil.example:80/callback", False),
        ("http://127.0.0.1/callback", "http://user@127.0.0.1:80/callback", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:99999/callback", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:abc/callback", False),
        ("https://volta.example/auth/callback", "https://volta.example:8443/auth/callback", False),
        ("https://volta.example/auth/callback", "https://volta.example/auth/callback/", False),
        ("https://volta.example/auth/callback", "https://volta.example/auth/callback", True),
        ("http://volta.example/cb", "http://volta.example:8080/cb", False),
    ],
)
def test_redirect_uri_matching(registered: str, requested: str, ok: bool) -> None:
    assert redirect_uri_matches(registered, requested) is ok


@given(st.integers(min_value=1, max_value=65535))
def test_any_loopback_port_goes_through_authorize(port: int) -> None:
    rows = Rows()
    _, challenge = pkce()
    response, _ = rows.authorize(redirect_uri=f"http://localhost:{port}/callback", challenge=challenge)
    assert response.status == 302
    assert response.headers["location"].startswith(f"http://localhost:{port}/callback?code=")


# --- refresh tokens ----------------------------------------------------------------------------------


def test_refresh_rotates_and_a_reused_token_revokes_the_family(rows: Rows) -> None:
    first = rows.login()
    later = NOW + timedelta(minutes=20)
    response, changes = rows.refresh(first["refresh_token"], now=later)
    assert response.status == 200, response.body
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert "id_token" not in second
    [old] = [t for t in rows.tokens.values() if t.refresh_hash == token_hash(first["refresh_token"])]
    [new] = changes.new_tokens
    assert changes.rotated_tokens == (old.id,)
    assert new.family_id == old.family_id and new.id != old.id
    assert new.refresh_expires_at == later + timedelta(days=30)

    # the old refresh token comes back: refused, and every token of the login is revoked
    response, changes = rows.refresh(first["refresh_token"], now=later + timedelta(minutes=1))
    assert (response.status, error_of(response)) == (400, "invalid_grant")
    assert changes == Changes(revoked_families=(old.family_id,))
    assert all(t.revoked_at is not None for t in rows.tokens.values())
    response, changes = rows.refresh(second["refresh_token"], now=later + timedelta(minutes=2))
    assert error_of(response) == "invalid_grant" and not changes
    assert rows.introspect(second["access_token"], now=later + timedelta(minutes=2)).json() == {"active": False}


def test_refresh_can_narrow_but_not_widen_the_scope(rows: Rows) -> None:
    first = rows.login(scope="openid email offline_access")
    response, _ = rows.refresh(first["refresh_token"], scope="openid invoices:read")
    assert error_of(response) == "invalid_scope"
    response, _ = rows.refresh(first["refresh_token"], scope="openid")
    assert response.status == 200 and response.json()["scope"] == "openid"


def test_refresh_by_another_client_or_after_expiry(rows: Rows) -> None:
    first = rows.login()
    response, changes = rows.call(
        Endpoint.TOKEN,
        form(
            f"{ISSUER}/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            basic("portal-web", WEB_SECRET),
        ),
    )
    assert (response.status, error_of(response), changes) == (400, "invalid_grant", Changes())
    response, changes = rows.refresh(first["refresh_token"], now=NOW + timedelta(days=30))
    assert (error_of(response), changes) == ("invalid_grant", Changes())
    response, _ = rows.refresh(first["refresh_token"], now=NOW + timedelta(days=29))
    assert response.status == 200


# --- revocation, introspection, userinfo -------------------------------------------------------------


def test_revocation_then_introspection_is_inactive(rows: Rows) -> None:
    tokens = rows.login()
    active = rows.introspect(tokens["access_token"]).json()
    assert active["active"] is True
    assert active["client_id"] == "portal-cli"
    assert active["sub"] == str(JANA.id)
    assert active["token_type"] == "Bearer"
    assert active["exp"] == int((NOW + timedelta(minutes=10)).timestamp())
    assert active["iss"] == ISSUER

    request = form(f"{ISSUER}/oauth/revoke", {"token": tokens["access_token"], "client_id": "portal-cli"})
    response, changes = rows.call(Endpoint.REVOCATION, request)
    assert response.status == 200
    [row] = rows.tokens.values()
    assert changes.revoked_tokens == (row.id,)
    assert rows.introspect(tokens["access_token"]).json() == {"active": False}
    # revoking again, or something unknown, is fine and changes nothing
    response, changes = rows.call(Endpoint.REVOCATION, request)
    assert response.status == 200 and not changes
    bogus = form(f"{ISSUER}/oauth/revoke", {"token": "nonsense", "client_id": "portal-cli"})
    assert rows.call(Endpoint.REVOCATION, bogus)[0].status == 200


def test_revoking_a_refresh_token_ends_the_whole_login(rows: Rows) -> None:
    tokens = rows.login()
    request = form(
        f"{ISSUER}/oauth/revoke",
        {"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": "portal-cli"},
    )
    response, changes = rows.call(Endpoint.REVOCATION, request)
    assert response.status == 200
    [row] = rows.tokens.values()
    assert changes.revoked_families == (row.family_id,)
    assert rows.introspect(tokens["access_token"]).json() == {"active": False}
    assert error_of(rows.refresh(tokens["refresh_token"])[0]) == "invalid_grant"


def test_introspection_is_for_authenticated_confidential_clients(rows: Rows) -> None:
    tokens = rows.login()
    public = form(f"{ISSUER}/oauth/introspect", {"token": tokens["access_token"], "client_id": "portal-cli"})
    response, _ = rows.call(Endpoint.INTROSPECTION, public)
    assert (response.status, error_of(response)) == (401, "invalid_client")
    response = rows.introspect(tokens["access_token"], basic("portal-web", "wrong"))
    assert (response.status, error_of(response)) == (401, "invalid_client")
    # a third party sees only its own tokens
    assert rows.introspect(tokens["access_token"], basic("budget-app", APP_SECRET)).json() == {"active": False}


def test_introspection_of_expired_and_refresh_tokens(rows: Rows) -> None:
    tokens = rows.login()
    assert rows.introspect(tokens["access_token"], now=NOW + timedelta(minutes=10)).json() == {"active": False}
    refresh = rows.introspect(tokens["refresh_token"], now=NOW + timedelta(minutes=10)).json()
    assert refresh["active"] is True and "token_type" not in refresh
    assert refresh["exp"] == int((NOW + timedelta(days=30)).timestamp())


def test_tokens_of_a_closed_account_are_inactive(rows: Rows) -> None:
    tokens = rows.login()
    rows.users = (dataclasses.replace(JANA, active=False),)
    assert rows.introspect(tokens["access_token"]).json() == {"active": False}
    assert error_of(rows.refresh(tokens["refresh_token"])[0]) == "invalid_grant"


def test_userinfo(rows: Rows) -> None:
    tokens = rows.login(scope="openid email")
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    response, changes = rows.call(Endpoint.USERINFO, HttpRequest("GET", f"{ISSUER}/oauth/userinfo", bearer))
    assert response.status == 200 and not changes
    assert response.json() == {"sub": str(JANA.id), "email": JANA.email, "email_verified": True}

    response, _ = rows.call(
        Endpoint.USERINFO,
        HttpRequest("GET", f"{ISSUER}/oauth/userinfo", bearer),
        now=NOW + timedelta(hours=1),
    )
    assert (response.status, error_of(response)) == (401, "invalid_token")
    assert "www-authenticate" in response.headers
    response, _ = rows.call(Endpoint.USERINFO, HttpRequest("GET", f"{ISSUER}/oauth/userinfo", {}))
    assert response.status == 401


def test_userinfo_needs_the_openid_scope(rows: Rows) -> None:
    tokens = rows.login(scope="invoices:read")
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    response, _ = rows.call(Endpoint.USERINFO, HttpRequest("GET", f"{ISSUER}/oauth/userinfo", bearer))
    assert (response.status, error_of(response)) == (403, "insufficient_scope")


# --- discovery, keys, request parsing ----------------------------------------------------------------


def test_discovery_document(rows: Rows) -> None:
    response, changes = rows.call(Endpoint.DISCOVERY, HttpRequest("GET", f"{ISSUER}/.well-known/openid-configuration"))
    assert response.status == 200 and not changes
    doc = response.json()
    assert doc == discovery(ISSUER)
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == f"{ISSUER}/oauth/authorize"
    assert doc["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert doc["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert doc["introspection_endpoint"] == f"{ISSUER}/oauth/introspect"
    assert doc["userinfo_endpoint"] == f"{ISSUER}/oauth/userinfo"
    assert doc["jwks_uri"] == f"{ISSUER}/oauth/jwks"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert "openid" in doc["scopes_supported"] and "invoices:read" in doc["scopes_supported"]
    OpenIDProviderMetadata(doc).validate()


def test_jwks_publishes_public_keys_only(rows: Rows) -> None:
    response, _ = rows.call(Endpoint.JWKS, HttpRequest("GET", f"{ISSUER}/oauth/jwks"))
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == [KEY["kid"], OLD_KEY["kid"]]
    assert [k["alg"] for k in keys] == ["RS256", "ES256"]
    for key in keys:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
        assert key["use"] == "sig"
    assert "d" in KEY and KEY["kid"]


def test_new_signing_key_refuses_unknown_algorithms() -> None:
    with pytest.raises(ValueError):
        new_signing_key("HS256")


def test_keys_needed() -> None:
    code_request = form(
        f"{ISSUER}/oauth/token",
        {"grant_type": "authorization_code", "code": "c0de", "code_verifier": "v"},
        basic("portal-web", WEB_SECRET),
    )
    assert keys_needed(Endpoint.TOKEN, code_request) == SnapshotQuery(
        client_ids=frozenset({"portal-web"}), code_hashes=frozenset({token_hash("c0de")}), signing_keys=True
    )
    refresh = form(f"{ISSUER}/oauth/token", {"grant_type": "refresh_token", "refresh_token": "r", "client_id": "c"})
    assert keys_needed("token", refresh) == SnapshotQuery(
        client_ids=frozenset({"c"}), token_hashes=frozenset({token_hash("r")})
    )
    authorize = HttpRequest("GET", f"{ISSUER}/oauth/authorize?client_id=portal-cli&response_type=code")
    assert keys_needed(Endpoint.AUTHORIZE, authorize) == SnapshotQuery(
        client_ids=frozenset({"portal-cli"}), signed_in_user=True
    )
    userinfo = HttpRequest("GET", f"{ISSUER}/oauth/userinfo", {"Authorization": "Bearer t0k"})
    assert keys_needed(Endpoint.USERINFO, userinfo) == SnapshotQuery(token_hashes=frozenset({token_hash("t0k")}))
    revoke = form(f"{ISSUER}/oauth/revoke", {"token": "t0k", "client_id": "portal-cli"})
    assert keys_needed(Endpoint.REVOCATION, revoke).token_hashes == {token_hash("t0k")}
    assert keys_needed(Endpoint.JWKS, HttpRequest("GET", f"{ISSUER}/oauth/jwks")) == SnapshotQuery(signing_keys=True)


def test_parameters_of_a_post_come_from_the_body_only(rows: Rows) -> None:
    code, verifier, redirect = rows.code_for()
    query = urlencode({"grant_type": "authorization_code", "code": code, "client_id": "portal-cli"})
    request = HttpRequest(
        "POST",
        f"{ISSUER}/oauth/token?{query}",
        {"content-type": "application/x-www-form-urlencoded"},
        urlencode({"code_verifier": verifier, "redirect_uri": redirect}).encode(),
    )
    response, changes = rows.call(Endpoint.TOKEN, request)
    assert response.status == 400 and not changes


def test_wrong_method_and_malformed_bodies(rows: Rows) -> None:
    response, _ = rows.call(Endpoint.TOKEN, HttpRequest("GET", f"{ISSUER}/oauth/token?grant_type=refresh_token"))
    assert response.status == 405
    bad = HttpRequest(
        "POST", f"{ISSUER}/oauth/token", {"content-type": "application/x-www-form-urlencoded"}, b"\xff\xfe"
    )
    response, changes = rows.call(Endpoint.TOKEN, bad)
    assert (response.status, error_of(response), changes) == (400, "invalid_request", Changes())
    too_many = form(f"{ISSUER}/oauth/token", {f"p{i}": "x" for i in range(100)})
    assert rows.call(Endpoint.TOKEN, too_many)[0].status == 400


def test_development_hosts_over_plain_http(rows: Rows) -> None:
    """The gateway allows plain http for *.localhost brands; Authlib's https check must not interfere."""
    rows.clients = (WEB,)
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": "portal-web",
        "scope": "openid",
        "redirect_uri": "http://volta.localhost:8123/auth/callback",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    request = HttpRequest("GET", f"http://volta.localhost:8123/oauth/authorize?{urlencode(params)}")
    response, _ = rows.call(Endpoint.AUTHORIZE, request, signed_in=JANA.id)
    assert response.status == 302, response.body
    code = query_of(response)["code"]
    token_request = form(
        "http://volta.localhost:8123/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": params["redirect_uri"],
        },
        basic("portal-web", WEB_SECRET),
    )
    assert rows.call(Endpoint.TOKEN, token_request)[0].status == 200
