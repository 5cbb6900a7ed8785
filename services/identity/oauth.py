"""The OAuth2/OIDC authorization server of each tenant: Authlib over a snapshot of the rows a request touches.

Authlib calls synchronous storage hooks; our storage is async. So the caller (the servicer) works in three
steps:

1. `keys_needed(endpoint, request)` says which clients, codes and tokens (by hash) the request names;
2. the caller loads them, the users they refer to and the signing keys into a `Snapshot`;
3. `handle(endpoint, request, snapshot, now)` runs Authlib against the snapshot and returns the HTTP response
   and the `Changes` to write in one transaction.

Tokens and codes are random strings stored only as sha256 hashes: revocation takes effect at once,
introspection is authoritative, and a copy of the database opens nothing.
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
    ResourceProtector,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode, UserInfo, UserInfoEndpoint
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from joserfc.jwk import ECKey, RSAKey, import_key

from kit import authz

from .domain import is_personal_token, new_token, token_hash

# The gateway turns a response carrying this header into a redirect to its login page (and back here after).
LOGIN_REQUIRED_HEADER = "x-portal-login-required"

ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
CODE_LIFETIME = timedelta(seconds=60)
ID_TOKEN_LIFETIME = timedelta(minutes=10)
# prompt=login: after the login page the gateway returns to the very same authorize URL, so a sign-in this
# recent has to satisfy the prompt or the user would loop
FRESH_SIGN_IN = timedelta(minutes=2)

# first-party public clients treated as trusted whatever their row says, until third-party consent exists
FIRST_PARTY_PUBLIC_CLIENTS = frozenset({"portal-cli"})

IDENTITY_SCOPES = ("openid", "profile", "email", "offline_access")
DEFAULT_SCOPES_SUPPORTED: tuple[str, ...] = IDENTITY_SCOPES + tuple(sorted(authz.SCOPE_CAPABILITIES))

GRANT_TYPES = ("authorization_code", "refresh_token")
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
SIGNING_ALGS = ("RS256", "ES256")

PATHS = {
    "authorization_endpoint": "/oauth/authorize",
    "token_endpoint": "/oauth/token",
    "revocation_endpoint": "/oauth/revoke",
    "introspection_endpoint": "/oauth/introspect",
    "userinfo_endpoint": "/oauth/userinfo",
    "jwks_uri": "/oauth/jwks",
}


class Endpoint(StrEnum):
    AUTHORIZE = "authorize"
    TOKEN = "token"
    REVOCATION = "revocation"
    INTROSPECTION = "introspection"
    USERINFO = "userinfo"
    DISCOVERY = "discovery"
    JWKS = "jwks"


# --- HTTP exchanges as data --------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    # the full external URL, query string included
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    # lower-case names
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


# --- snapshot: the rows a request may touch ----------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """A row of `oauth_clients`. `secret_hash` is `token_hash(secret)`; None makes a public client."""

    client_id: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    secret_hash: str | None = None
    trusted: bool = False
    name: str = ""

    @property
    def public(self) -> bool:
        return self.secret_hash is None

    @property
    def first_party(self) -> bool:
        return self.trusted or self.client_id in FIRST_PARTY_PUBLIC_CLIENTS


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    email_verified: bool
    locale: str
    active: bool = True


@dataclass(frozen=True)
class CodeRow:
    """A row of `oauth_codes`: `code_hash`, `expires_at` and `used_at` are columns, the rest is `data`."""

    code_hash: str
    client_id: str
    user_id: uuid.UUID
    # as sent in the authorize request ("" when it was left out); the token request must repeat it
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    auth_time: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def data(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "user_id": str(self.user_id),
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
            "nonce": self.nonce,
            "auth_time": self.auth_time.isoformat(),
        }

    @classmethod
    def from_data(
        cls, code_hash: str, data: Mapping[str, Any], expires_at: datetime, used_at: datetime | None
    ) -> CodeRow:
        return cls(
            code_hash=code_hash,
            client_id=data["client_id"],
            user_id=uuid.UUID(str(data["user_id"])),
            redirect_uri=data.get("redirect_uri") or "",
            scope=data["scope"],
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            nonce=data.get("nonce"),
            auth_time=datetime.fromisoformat(data["auth_time"]),
            expires_at=expires_at,
            used_at=used_at,
        )


@dataclass(frozen=True)
class TokenRow:
    """A row of `oauth_tokens`: one issuance of an access token and (usually) a refresh token.

    Rows of one login share `family_id`; a refreshed row gets `rotated_at` and its refresh token is dead.
    """

    id: uuid.UUID
    access_hash: str
    refresh_hash: str | None
    client_id: str
    user_id: uuid.UUID
    scope: str
    family_id: uuid.UUID
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything `handle` may read, loaded by the caller as `keys_needed` says, for one tenant."""

    # the tenant's issuer URL, e.g. https://volta.example (no trailing slash)
    issuer: str
    clients: tuple[Client, ...] = ()
    codes: tuple[CodeRow, ...] = ()
    # every row whose access_hash or refresh_hash is among SnapshotQuery.token_hashes
    tokens: tuple[TokenRow, ...] = ()
    # the users the codes and tokens above refer to; a missing or inactive user makes them worthless
    users: tuple[User, ...] = ()
    # private JWKs (dicts with "kid"); the first one signs, all are published
    signing_keys: tuple[Mapping[str, Any], ...] = ()
    # authorize only: the user signed in at the gateway (None: nobody), and when they signed in
    signed_in_user: uuid.UUID | None = None
    signed_in_at: datetime | None = None
    scopes_supported: tuple[str, ...] = DEFAULT_SCOPES_SUPPORTED


@dataclass(frozen=True)
class SnapshotQuery:
    """What the caller loads for a request. Besides these: the users referred to by the loaded codes and
    tokens, and for AUTHORIZE (`signed_in_user`) the session's user id and sign-in time."""

    client_ids: frozenset[str] = frozenset()
    code_hashes: frozenset[str] = frozenset()
    # match against access_hash OR refresh_hash
    token_hashes: frozenset[str] = frozenset()
    # personal access tokens named (introspection only), as presented: the caller finds them by its keyed hash
    # and adds them to `tokens` as access tokens of PERSONAL_TOKEN_CLIENT_ID, `access_hash` = token_hash(value)
    personal_tokens: frozenset[str] = frozenset()
    signing_keys: bool = False
    signed_in_user: bool = False


@dataclass(frozen=True)
class Changes:
    """What to write, in one transaction, with the same `now` that was given to `handle`.

    Apply it whatever the response status: a reused refresh token is refused AND revokes its family.
    """

    new_codes: tuple[CodeRow, ...] = ()
    # code hashes: set used_at = now
    used_codes: tuple[str, ...] = ()
    new_tokens: tuple[TokenRow, ...] = ()
    # token row ids: set rotated_at = now
    rotated_tokens: tuple[uuid.UUID, ...] = ()
    # token row ids: set revoked_at = now
    revoked_tokens: tuple[uuid.UUID, ...] = ()
    # family ids: set revoked_at = now on every row of the family not yet revoked
    revoked_families: tuple[uuid.UUID, ...] = ()

    def __bool__(self) -> bool:
        return any(
            (
                self.new_codes,
                self.used_codes,
                self.new_tokens,
                self.rotated_tokens,
                self.revoked_tokens,
                self.revoked_families,
            )
        )


# --- keys ------------------------------------------------------------------------------------------


def new_signing_key(alg: str = "RS256") -> dict[str, Any]:
    """A private JWK for signing ID tokens, `kid` = its RFC 7638 thumbprint. RS256 is the default because
    every OIDC client library must support it; ES256 gives smaller, faster tokens where clients handle it."""
    if alg == "RS256":
        key: RSAKey | ECKey = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": alg})
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": alg})
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    data = dict(key.as_dict(private=True))
    data["kid"] = key.thumbprint()
    return data


def _key_alg(key: Mapping[str, Any]) -> str:
    if key.get("alg"):
        return str(key["alg"])
    return "ES256" if key.get("kty") == "EC" else "RS256"


def jwks(keys: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The public halves only, with the parameters a verifier selects keys by."""
    out = []
    for private in keys:
        public = dict(import_key(dict(private)).as_dict(private=False))
        public["kid"] = private["kid"]
        public["use"] = "sig"
        public["alg"] = _key_alg(private)
        out.append(public)
    return {"keys": out}


def discovery(issuer: str, scopes_supported: Iterable[str] = DEFAULT_SCOPES_SUPPORTED) -> dict[str, Any]:
    """OpenID Provider Metadata (and RFC 8414) of one tenant."""
    issuer = issuer.rstrip("/")
    doc: dict[str, Any] = {"issuer": issuer}
    doc.update({name: issuer + path for name, path in PATHS.items()})
    doc.update(
        {
            "scopes_supported": list(scopes_supported),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
            "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
            "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "at_hash",
                "email",
                "email_verified",
                "locale",
            ],
            "prompt_values_supported": ["none", "login"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            # OIDC Discovery defaults this one to true
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
        }
    )
    return doc


# --- redirect URIs -----------------------------------------------------------------------------------

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def _loopback(host: str) -> bool:
    # *.localhost names resolve to the loopback interface too (RFC 6761 §6.3): the brands' development hosts
    return host in _LOOPBACK_HOSTS or host.endswith(".localhost")


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Exact match, except that a registered plain-http loopback URI accepts any port (RFC 8252 §7.3): a
    native app listens on whatever port the OS gives it, and only processes on the user's own machine can
    listen there anyway."""
    if registered == requested:
        return True
    try:
        reg, req = urlsplit(registered), urlsplit(requested)
        reg_port, req_port = reg.port, req.port
    except ValueError:
        return False
    if reg.scheme != "http" or req.scheme != "http" or not reg.hostname or not _loopback(reg.hostname):
        return False
    host = reg.netloc.rsplit(":", 1)[0] if reg_port is not None else reg.netloc
    # the netloc must be the registered host and nothing but a port: no user info, no look-alike host
    if not re.fullmatch(re.escape(host) + r"(:[0-9]{1,5})?", req.netloc):
        return False
    if req_port is not None and not 0 < req_port < 65536:
        return False
    return (req.path, req.query, req.fragment) == (reg.path, reg.query, reg.fragment) and not req.fragment


# --- Authlib glue ------------------------------------------------------------------------------------


class _BadRequest(Exception):
    pass


class _Headers(dict):
    """Case-insensitive, as Authlib asks for "Authorization" and the gateway sends lower-case names."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in headers.items()})

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


def _pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=64)
    except ValueError as err:
        raise _BadRequest from err


class _Payload(OAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._data.setdefault(key, value)
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


# Authlib refuses plain-http request URLs except for `localhost`. The gateway terminates TLS and decides where
# plain http is allowed (development hosts under *.localhost); Authlib uses the URL for nothing else.
_TLS_CHECKED_BY_GATEWAY = "https://gateway.invalid/"


class _Request(OAuth2Request):
    def __init__(self, http: HttpRequest) -> None:
        super().__init__(http.method.upper(), _TLS_CHECKED_BY_GATEWAY, headers=_Headers(http.headers))
        self.uri = http.url
        self._args = dict(_pairs(urlsplit(http.url).query))
        form: list[tuple[str, str]] = []
        content_type = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if self.method == "POST" and content_type == "application/x-www-form-urlencoded":
            try:
                form = _pairs(http.body.decode("utf-8"))
            except UnicodeDecodeError as err:
                raise _BadRequest from err
        self._form = dict(form)
        # parameters come from the query of a GET and from the body of a POST, never mixed: a secret in a
        # query string ends up in logs
        self.payload = _Payload(_pairs(urlsplit(http.url).query) if self.method == "GET" else form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class _Pending:
    new_codes: list[CodeRow] = field(default_factory=list)
    used_codes: list[str] = field(default_factory=list)
    new_tokens: list[TokenRow] = field(default_factory=list)
    rotated_tokens: list[uuid.UUID] = field(default_factory=list)
    revoked_tokens: list[uuid.UUID] = field(default_factory=list)
    revoked_families: list[uuid.UUID] = field(default_factory=list)

    def result(self, succeeded: bool) -> Changes:
        if not succeeded:
            # a refused request changes nothing, except the revocation a reused refresh token triggers
            return Changes(revoked_families=tuple(dict.fromkeys(self.revoked_families)))
        return Changes(
            new_codes=tuple(self.new_codes),
            used_codes=tuple(self.used_codes),
            new_tokens=tuple(self.new_tokens),
            rotated_tokens=tuple(self.rotated_tokens),
            revoked_tokens=tuple(dict.fromkeys(self.revoked_tokens)),
            revoked_families=tuple(dict.fromkeys(self.revoked_families)),
        )


class _Ctx:
    def __init__(self, snapshot: Snapshot, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.snapshot = snapshot
        self.now = now
        self.issuer = snapshot.issuer.rstrip("/")
        self.pending = _Pending()
        self.clients = {c.client_id: c for c in snapshot.clients}
        self.codes = {c.code_hash: c for c in snapshot.codes}
        self.users = {u.id: u for u in snapshot.users}
        self.by_access = {t.access_hash: t for t in snapshot.tokens}
        self.by_refresh = {t.refresh_hash: t for t in snapshot.tokens if t.refresh_hash}

    def client(self, client_id: str | None) -> _ClientView | None:
        client = self.clients.get(client_id or "")
        return _ClientView(client) if client else None

    def active_user(self, user_id: uuid.UUID) -> User | None:
        user = self.users.get(user_id)
        return user if user is not None and user.active else None

    def token(self, raw: str, hint: str | None) -> _TokenView | None:
        digest = token_hash(raw)
        access, refresh = self.by_access.get(digest), self.by_refresh.get(digest)
        found = [("access_token", access), ("refresh_token", refresh)]
        if hint == "refresh_token":
            found.reverse()
        for kind, row in found:
            if row is not None:
                return _TokenView(row, kind, self)
        return None

    def signing_key(self) -> Mapping[str, Any]:
        if not self.snapshot.signing_keys:
            raise RuntimeError("no signing key in the snapshot: ID tokens cannot be issued")
        return self.snapshot.signing_keys[0]

    def epoch(self, at: datetime | None = None) -> int:
        return int((at or self.now).timestamp())


class _ClientView(ClientMixin):
    def __init__(self, client: Client) -> None:
        self.client = client
        self.client_id = client.client_id
        # read by Authlib's UserInfoEndpoint; we offer no signed userinfo
        self.client_metadata: dict[str, Any] = {}

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str | None:
        # only an unambiguous one; with several registered the request must say which
        uris = self.client.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client may have, in the order asked; None (invalid_scope) if none."""
        if not scope:
            return None
        allowed = set(self.client.scopes)
        granted = [s for s in dict.fromkeys(scope_to_list(scope)) if s in allowed]
        return " ".join(granted) or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_uri_matches(r, redirect_uri) for r in self.client.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.client.secret_hash
        return stored is not None and hmac.compare_digest(stored, token_hash(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client.public:
            # a public client proves nothing; it may still revoke its own tokens (RFC 7009 §2.1)
            return method == "none" and endpoint in ("token", "revocation")
        return method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class _CodeView(AuthorizationCodeMixin):
    def __init__(self, row: CodeRow) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        return self.row.redirect_uri or None

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.auth_time.timestamp())


class _TokenView(TokenMixin):
    def __init__(self, row: TokenRow, kind: str, ctx: _Ctx) -> None:
        self.row = row
        # which of the row's two tokens was presented: "access_token" or "refresh_token"
        self.kind = kind
        self.ctx = ctx

    @property
    def scope(self) -> str:
        return self.row.scope

    @property
    def expires_at(self) -> datetime | None:
        return self.row.access_expires_at if self.kind == "access_token" else self.row.refresh_expires_at

    def check_client(self, client: ClientMixin) -> bool:
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        expires = self.expires_at
        return max(0, int((expires - self.ctx.now).total_seconds())) if expires else 0

    def is_expired(self) -> bool:
        expires = self.expires_at
        return expires is None or self.ctx.now >= expires

    def is_revoked(self) -> bool:
        if self.row.revoked_at is not None:
            return True
        if self.kind == "refresh_token" and self.row.rotated_at is not None:
            return True
        # a closed account's tokens die with it
        return self.ctx.active_user(self.row.user_id) is None

    def get_user(self) -> User | None:
        return self.ctx.active_user(self.row.user_id)

    def get_client(self) -> _ClientView | None:
        return self.ctx.client(self.row.client_id)


class _S256Required(CodeChallenge):
    """PKCE for every client, confidential ones too (RFC 9700 §2.1.1), and only S256: `plain` would hand the
    verifier to whoever reads the authorization request."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class _OpenIDCode(OpenIDCode):
    def __init__(self, ctx: _Ctx) -> None:
        super().__init__(require_nonce=False)
        self.ctx = ctx

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        # the nonce protects the client, which checks it in the ID token; codes are single-use already
        return False

    def resolve_client_private_key(self, client: ClientMixin) -> Any:
        return import_key(dict(self.ctx.signing_key()))

    def get_client_algorithm(self, client: ClientMixin) -> str:
        return _key_alg(self.ctx.signing_key())

    def get_encode_header(self, client: ClientMixin) -> dict[str, str]:
        key = self.ctx.signing_key()
        return {"alg": _key_alg(key), "kid": str(key["kid"]), "typ": "JWT"}

    def get_client_claims(self, client: ClientMixin) -> dict[str, Any]:
        # Authlib would take iat/exp from the wall clock; the snapshot's `now` keeps this function pure
        return {
            "iss": self.ctx.issuer,
            "aud": client.get_client_id(),
            "iat": self.ctx.epoch(),
            "exp": self.ctx.epoch(self.ctx.now + ID_TOKEN_LIFETIME),
        }

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return user_info(user, scope)


def user_info(user: User, scope: str) -> UserInfo:
    claims = UserInfo(sub=str(user.id), email=user.email, email_verified=user.email_verified, locale=user.locale)
    return claims.filter(scope)


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    @property
    def ctx(self) -> _Ctx:
        return self.server.ctx

    def generate_authorization_code(self) -> str:
        return new_token()

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        ctx = self.ctx
        ctx.pending.new_codes.append(
            CodeRow(
                code_hash=token_hash(code),
                client_id=request.client.get_client_id(),
                user_id=request.user,
                redirect_uri=request.payload.redirect_uri or "",
                scope=request.scope,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                nonce=data.get("nonce") or None,
                auth_time=ctx.snapshot.signed_in_at or ctx.now,
                expires_at=ctx.now + CODE_LIFETIME,
            )
        )

    def query_authorization_code(self, code: str, client: ClientMixin) -> _CodeView | None:
        row = self.ctx.codes.get(token_hash(code))
        if row is None or row.client_id != client.get_client_id():
            return None
        if row.used_at is not None or self.ctx.now >= row.expires_at:
            return None
        return _CodeView(row)

    def delete_authorization_code(self, authorization_code: _CodeView) -> None:
        self.ctx.pending.used_codes.append(authorization_code.row.code_hash)

    def authenticate_user(self, authorization_code: _CodeView) -> User | None:
        return self.ctx.active_user(authorization_code.row.user_id)


class _RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    # rotation: every refresh returns a new refresh token and retires the old one
    INCLUDE_NEW_REFRESH_TOKEN = True

    @property
    def ctx(self) -> _Ctx:
        return self.server.ctx

    def authenticate_refresh_token(self, refresh_token: str) -> _TokenView | None:
        row = self.ctx.by_refresh.get(token_hash(refresh_token))
        if row is None or row.revoked_at is not None:
            return None
        if row.rotated_at is not None:
            # An old refresh token came back: either the client or a thief holds a copy. We cannot tell which,
            # so the whole login ends and the rightful client signs in again (RFC 9700 §4.14.2).
            self.ctx.pending.revoked_families.append(row.family_id)
            return None
        view = _TokenView(row, "refresh_token", self.ctx)
        return None if view.is_expired() or view.is_revoked() else view

    def authenticate_user(self, refresh_token: _TokenView) -> User | None:
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token: _TokenView) -> None:
        self.ctx.pending.rotated_tokens.append(refresh_token.row.id)


class _Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> _TokenView | None:
        view = self.server.ctx.token(token_string, token_type_hint)
        # unknown and already revoked tokens are answered 200 all the same (RFC 7009 §2.2)
        return view if view is not None and view.row.revoked_at is None else None

    def revoke_token(self, token: _TokenView, request: OAuth2Request) -> None:
        pending = self.server.ctx.pending
        if token.kind == "refresh_token":
            # the access tokens issued from the same grant go too (RFC 7009 §2.1)
            pending.revoked_families.append(token.row.family_id)
        else:
            pending.revoked_tokens.append(token.row.id)


class _Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> _TokenView | None:
        return self.server.ctx.token(token_string, token_type_hint)

    def check_permission(self, token: _TokenView, client: _ClientView, request: OAuth2Request) -> bool:
        # our own resource servers see every token of the tenant; anyone else only its own
        return client.client.trusted or token.check_client(client)

    def introspect_token(self, token: _TokenView) -> dict[str, Any]:
        ctx = self.server.ctx
        row = token.row
        payload: dict[str, Any] = {
            "active": True,
            "client_id": row.client_id,
            "scope": row.scope,
            "sub": str(row.user_id),
            "aud": row.client_id,
            "iss": ctx.issuer,
            "iat": ctx.epoch(row.issued_at),
            "exp": ctx.epoch(token.expires_at),
        }
        if token.kind == "access_token":
            payload["token_type"] = "Bearer"
        return payload


class _BearerValidator(BearerTokenValidator):
    def __init__(self, ctx: _Ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def authenticate_token(self, token_string: str) -> _TokenView | None:
        row = self.ctx.by_access.get(token_hash(token_string))
        return _TokenView(row, "access_token", self.ctx) if row else None


class _UserInfo(UserInfoEndpoint):
    def __call__(self, request: OAuth2Request) -> tuple[int, Any, list[tuple[str, str]]]:
        # Authlib's version asks a framework-bound protector for "the current request"; we have it right here
        protector = ResourceProtector()
        protector.register_token_validator(_BearerValidator(self.server.ctx))
        token = protector.validate_request(["openid"], request)
        return 200, dict(user_info(token.get_user(), token.get_scope())), default_json_headers


class _Server(AuthorizationServer):
    def __init__(self, ctx: _Ctx) -> None:
        super().__init__(scopes_supported=list(ctx.snapshot.scopes_supported))
        self.ctx = ctx
        self.register_token_generator("default", self._generate_token)
        self.register_grant(_CodeGrant, [_S256Required(), _OpenIDCode(ctx)])
        self.register_grant(_RefreshGrant)
        self.register_endpoint(_Revocation)
        self.register_endpoint(_Introspection)
        self.register_endpoint(_UserInfo)

    def query_client(self, client_id: str) -> _ClientView | None:
        return self.ctx.client(client_id)

    def _generate_token(
        self,
        grant_type: str,
        client: _ClientView,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        # the client may have lost scopes since the code or the first token was issued
        allowed = client.get_allowed_scope(scope)
        if allowed is None:
            raise InvalidScopeError()
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": new_token(),
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "scope": allowed,
        }
        if include_refresh_token:
            token["refresh_token"] = new_token()
        return token

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        ctx = self.ctx
        previous: _TokenView | None = request.refresh_token
        refresh = token.get("refresh_token")
        ctx.pending.new_tokens.append(
            TokenRow(
                id=uuid.uuid4(),
                access_hash=token_hash(token["access_token"]),
                refresh_hash=token_hash(refresh) if refresh else None,
                client_id=request.client.get_client_id(),
                user_id=request.user.id,
                scope=token["scope"],
                family_id=previous.row.family_id if previous else uuid.uuid4(),
                issued_at=ctx.now,
                access_expires_at=ctx.now + ACCESS_TOKEN_LIFETIME,
                refresh_expires_at=ctx.now + REFRESH_TOKEN_LIFETIME if refresh else None,
            )
        )

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else _Request(request)

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: Iterable[tuple[str, str]]) -> HttpResponse:
        if isinstance(body, dict):
            data = json.dumps(body, separators=(",", ":")).encode()
        else:
            data = (body or "").encode() if isinstance(body, str) else bytes(body or b"")
        return HttpResponse(status, {k.lower(): v for k, v in headers}, data)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


# --- the entry points --------------------------------------------------------------------------------


def _json(status: int, body: Any, **headers: str) -> HttpResponse:
    base = {"content-type": "application/json", "cache-control": "no-store", "pragma": "no-cache"}
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    return HttpResponse(status, base, json.dumps(body, separators=(",", ":")).encode())


def _with_issuer(response: HttpResponse, issuer: str) -> HttpResponse:
    """RFC 9207: every authorization response names its issuer, so a client talking to several brands
    cannot be tricked into sending one brand's code to another."""
    location = response.headers.get("location")
    if response.status != 302 or not location:
        return response
    parts = urlsplit(location)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("iss", issuer)]
    headers = dict(response.headers)
    headers["location"] = urlunsplit(parts._replace(query=urlencode(query)))
    return HttpResponse(response.status, headers, response.body)


def _login_needed(grant: Any, ctx: _Ctx) -> bool:
    snapshot = ctx.snapshot
    if snapshot.signed_in_user is None:
        return True
    data = grant.request.payload.data
    age = ctx.now - snapshot.signed_in_at if snapshot.signed_in_at else None
    if "login" in (data.get("prompt") or "").split() and (age is None or age > FRESH_SIGN_IN):
        return True
    max_age = data.get("max_age")
    if max_age is not None:
        if not max_age.isdigit():
            raise InvalidRequestError("Invalid 'max_age'.", redirect_uri=grant.redirect_uri)
        if age is None or age > timedelta(seconds=int(max_age)):
            return True
    return False


def _authorize(server: _Server, request: _Request) -> HttpResponse:
    ctx = server.ctx
    user_id = ctx.snapshot.signed_in_user
    state = request.payload.state
    try:
        # checks client and redirect URI first: errors before they are validated are shown, not redirected
        grant = server.get_consent_grant(request, end_user=user_id)
        if _login_needed(grant, ctx):
            if "none" in (request.payload.data.get("prompt") or "").split():
                raise LoginRequiredError(redirect_uri=grant.redirect_uri)
            return _json(401, {"error": "login_required"}, **{LOGIN_REQUIRED_HEADER: "1"})
        if not grant.client.client.first_party:
            # third-party consent is not built yet: only our own applications get codes
            raise ConsentRequiredError(redirect_uri=grant.redirect_uri)
    except OAuth2Error as error:
        error.state = state
        return server.handle_error_response(request, error)
    return server.create_authorization_response(request, grant_user=user_id, grant=grant)


_METHODS = {
    Endpoint.AUTHORIZE: ("GET", "POST"),
    Endpoint.TOKEN: ("POST",),
    Endpoint.REVOCATION: ("POST",),
    Endpoint.INTROSPECTION: ("POST",),
    Endpoint.USERINFO: ("GET", "POST"),
    Endpoint.DISCOVERY: ("GET", "HEAD"),
    Endpoint.JWKS: ("GET", "HEAD"),
}


def handle(
    endpoint: Endpoint | str, request: HttpRequest, snapshot: Snapshot, now: datetime
) -> tuple[HttpResponse, Changes]:
    """Answer one OAuth/OIDC HTTP exchange from the snapshot; `Changes` says what to persist."""
    endpoint = Endpoint(endpoint)
    allowed = _METHODS[endpoint]
    if request.method.upper() not in allowed:
        return _json(405, {"error": "invalid_request"}, allow=", ".join(allowed)), Changes()
    if endpoint is Endpoint.DISCOVERY:
        doc = discovery(snapshot.issuer, snapshot.scopes_supported)
        return _json(200, doc, cache_control="public, max-age=3600"), Changes()
    if endpoint is Endpoint.JWKS:
        # short, so clients pick up a new key soon after rotation
        return _json(200, jwks(snapshot.signing_keys), cache_control="public, max-age=300"), Changes()

    ctx = _Ctx(snapshot, now)
    try:
        oauth_request = _Request(request)
    except _BadRequest:
        return _json(400, {"error": "invalid_request"}), Changes()
    server = _Server(ctx)
    if endpoint is Endpoint.AUTHORIZE:
        response = _with_issuer(_authorize(server, oauth_request), ctx.issuer)
    elif endpoint is Endpoint.TOKEN:
        response = server.create_token_response(oauth_request)
    else:
        response = server.create_endpoint_response(endpoint.value, oauth_request)
    return response, ctx.pending.result(response.status < 400)


def keys_needed(endpoint: Endpoint | str, request: HttpRequest) -> SnapshotQuery:
    """Which rows `handle` will look at: clients named by Basic auth, `client_id` or the authorize query;
    the code and tokens (by hash) named in the body or the Bearer header."""
    endpoint = Endpoint(endpoint)
    if endpoint is Endpoint.DISCOVERY:
        return SnapshotQuery()
    if endpoint is Endpoint.JWKS:
        return SnapshotQuery(signing_keys=True)
    try:
        req = _Request(request)
    except _BadRequest:
        return SnapshotQuery()
    data = req.payload.data
    clients = {data["client_id"]} if data.get("client_id") else set()
    basic_id, _ = extract_basic_authorization(req.headers)
    if basic_id:
        clients.add(basic_id)
    if endpoint is Endpoint.AUTHORIZE:
        return SnapshotQuery(client_ids=frozenset(clients), signed_in_user=True)
    codes: set[str] = set()
    tokens: set[str] = set()
    personal: set[str] = set()
    signing = False
    if endpoint is Endpoint.TOKEN:
        if data.get("grant_type") == "authorization_code" and data.get("code"):
            codes.add(token_hash(data["code"]))
            signing = True
        if data.get("grant_type") == "refresh_token" and data.get("refresh_token"):
            tokens.add(token_hash(data["refresh_token"]))
    elif endpoint is Endpoint.INTROSPECTION and is_personal_token(data.get("token") or ""):
        personal.add(data["token"])
    elif endpoint in (Endpoint.REVOCATION, Endpoint.INTROSPECTION):
        if data.get("token"):
            tokens.add(token_hash(data["token"]))
    elif endpoint is Endpoint.USERINFO:
        auth = req.headers.get("authorization") or ""
        kind, _, value = auth.partition(" ")
        if kind.lower() == "bearer" and value.strip():
            tokens.add(token_hash(value.strip()))
        clients = set()
    return SnapshotQuery(
        client_ids=frozenset(clients),
        code_hashes=frozenset(codes),
        token_hashes=frozenset(tokens),
        personal_tokens=frozenset(personal),
        signing_keys=signing,
    )


__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "CODE_LIFETIME",
    "LOGIN_REQUIRED_HEADER",
    "REFRESH_TOKEN_LIFETIME",
    "Changes",
    "Client",
    "CodeRow",
    "Endpoint",
    "HttpRequest",
    "HttpResponse",
    "Snapshot",
    "SnapshotQuery",
    "TokenRow",
    "User",
    "discovery",
    "handle",
    "jwks",
    "keys_needed",
    "new_signing_key",
    "redirect_uri_matches",
]
